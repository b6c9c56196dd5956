// What the end-to-end steps share: the people, and locators for the app's parts.

export const OWNER = { name: "Olivia Owner", email: "olivia@example.com", password: "correct horse 1" };
export const OWNER_NEW_PASSWORD = "battery staple 2";
export const INVITEE = { name: "Bob Builder", email: "bob@example.com", password: "bob's password" };
export const OPERATOR = { name: "Opal Operator", email: "operator@example.com", password: "operator password" };

/** Page changes that include a password hash (signup, login): argon2 in a debug build is slow. */
export const AUTH_LIMIT_MS = 3000;

/** The workspace nav link in the sidebar (desktop). */
export const nav = (page, name) => page.locator("aside").getByRole("link", { name, exact: true });
// Toasts by their markup: while a modal dialog is open, the rest of the page (the toast list
// included) is aria-hidden, and Radix announces toasts through its own live region.
export const toastText = (page, text) => page.locator("li[data-variant]").getByText(text, { exact: true }).first();
export const auditRows = (page) => page.getByRole("table", { name: "Audit events" }).locator("tbody tr[data-action]");

export async function signUp(page, who) {
  await page.getByLabel("Your name").fill(who.name);
  await page.getByLabel("Email", { exact: true }).fill(who.email);
  await page.getByLabel("Password", { exact: true }).fill(who.password);
  await page.getByRole("button", { name: "Create account" }).click();
}

export async function pickOption(page, combobox, option) {
  await combobox.click();
  await page.getByRole("option", { name: option, exact: true }).click();
}

export async function openUserMenu(page) {
  // The phone layout's copy of the button stays in the page, hidden, on a wide screen.
  await page.getByRole("button", { name: /^Account menu for/ }).filter({ visible: true }).first().click();
}
