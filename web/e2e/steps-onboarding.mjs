// Steps: sign-up, the first workspace, invitations (right and wrong email), roles.

import assert from "node:assert/strict";
import { expectFailure, go, reload, shot, timed } from "./browser.mjs";
import { AUTH_LIMIT_MS, INVITEE, OWNER, nav, pickOption, signUp, toastText } from "./common.mjs";

/** Register these steps, in order; `state` carries what later steps need. */
export function register(step, state) {
  step("owner signs up (with client-side validation first)", async () => {
    const { page } = state.owner;
    // A fresh browser profile starts cold; warm it once so the timing measures the app.
    await go(page, `${state.base}/login`);
    await page.getByRole("heading", { name: "Sign in to Nexus" }).waitFor();
    await timed("login page", () => go(page, `${state.base}/`), page.getByRole("heading", { name: "Sign in to Nexus" }));
    assert.match(page.url(), /\/login$/);
    await shot(page, "01-login");
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByRole("heading", { name: "Create your account" }).waitFor();
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Enter your name").waitFor();
    await page.getByText("Use at least 8 characters").waitFor();
    await shot(page, "02-signup-validation");
    // Includes hashing the password, slow in a debug build: a wider limit than page loads.
    await timed("welcome page (after signup)", () => signUp(page, OWNER), page.getByRole("heading", { name: /Welcome to Nexus, Olivia/ }), AUTH_LIMIT_MS);
    await shot(page, "03-welcome");
  });

  step("owner creates a workspace", async () => {
    const { page } = state.owner;
    await page.getByLabel("Workspace name").fill("Acme Inc");
    await timed(
      "members page (new workspace)",
      () => page.getByRole("button", { name: "Create workspace" }).click(),
      page.getByRole("table", { name: "Members of Acme Inc" }).getByText(OWNER.email),
    );
    state.wsId = page.url().match(/\/w\/([0-9a-f-]+)\/members/)?.[1];
    assert.ok(state.wsId, `workspace id in ${page.url()}`);
    await toastText(page, "Workspace created").waitFor();
    await page.getByText("No pending invitations").waitFor();
  });

  step("owner invites a teammate and copies the link", async () => {
    const { page } = state.owner;
    const invite = async (email) => {
      await page.getByRole("button", { name: "Invite people" }).first().click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Email address").fill(email);
      await dialog.getByRole("button", { name: "Create invitation" }).click();
      const input = dialog.getByRole("textbox", { name: "Invitation link" });
      await input.waitFor();
      return { dialog, link: await input.inputValue() };
    };
    const { dialog, link } = await invite(INVITEE.email);
    assert.match(link, new RegExp(`^${state.base}/invite\\?token=.+`));
    await dialog.getByRole("button", { name: "Copy Invitation link" }).click();
    await toastText(page, "Copied to clipboard").waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    await shot(page, "04-invite-link", { fullPage: false });
    await dialog.getByRole("button", { name: "Done" }).click();
    state.inviteLink = link;

    // A second invitation, for someone else: the invitee will try it (wrong email).
    const second = await invite("dave@example.com");
    state.otherLink = second.link;
    await second.dialog.getByRole("button", { name: "Done" }).click();
    const pending = page.getByRole("table", { name: "Pending invitations" });
    await pending.getByText(INVITEE.email).waitFor();
    await pending.getByText("dave@example.com").waitFor();
    await shot(page, "05-members-owner");
  });

  step("invitee signs up from the link and accepts", async () => {
    const { page } = state.invitee;
    await timed("invitation page", () => go(page, state.inviteLink), page.getByRole("heading", { name: "You're invited to a Nexus workspace" }));
    await shot(page, "06-invite-signed-out");
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByText("Use the email address your invitation was sent to.").waitFor();
    await signUp(page, INVITEE);
    await page.getByRole("heading", { name: "Join the workspace" }).waitFor();
    await page.getByText(INVITEE.email).first().waitFor();
    await shot(page, "07-invite-accept");
    await timed(
      "members page (after accepting)",
      () => page.getByRole("button", { name: "Accept invitation" }).click(),
      page.getByRole("table", { name: "Members of Acme Inc" }).getByText(OWNER.email),
    );
    await toastText(page, "Welcome to Acme Inc").waitFor();
    // A member: sees the list, but no invite button and no admin pages.
    assert.equal(await page.getByRole("button", { name: "Invite people" }).count(), 0);
    assert.equal(await nav(page, "API keys").count(), 0);
    assert.equal(await nav(page, "Audit log").count(), 0);
  });

  step("an invitation for another email is explained", async () => {
    const { page } = state.invitee;
    await go(page, state.otherLink);
    await page.getByRole("heading", { name: "Join the workspace" }).waitFor();
    expectFailure("POST", /^\/api\/v1\/invitations\/accept$/, 403);
    await page.getByRole("button", { name: "Accept invitation" }).click();
    await page.getByText("This invitation is for a different email address").waitFor();
    await page.getByText(`You're signed in as ${INVITEE.email}`).waitFor();
    await page.getByRole("button", { name: "Sign in with another account" }).waitFor();
    await shot(page, "08-invite-email-mismatch");
  });

  step("owner revokes the other invitation", async () => {
    const { page } = state.owner;
    await reload(page);
    await page.getByRole("button", { name: "Revoke invitation for dave@example.com" }).click();
    const confirm = page.getByRole("alertdialog");
    await confirm.getByText("Revoke this invitation?").waitFor();
    await shot(page, "09-confirm-revoke", { fullPage: false, dark: false });
    await confirm.getByRole("button", { name: "Revoke invitation" }).click();
    await toastText(page, "Invitation revoked").waitFor();
    await page.getByText("No pending invitations").waitFor();
  });

  step("owner makes the invitee a viewer", async () => {
    const { page } = state.owner;
    const role = page.getByRole("combobox", { name: `Role of ${INVITEE.name}` });
    await role.waitFor();
    await pickOption(page, role, "Viewer");
    await toastText(page, "Role changed").waitFor();
    await page.waitForFunction(
      (name) => document.querySelector(`[aria-label="Role of ${name}"]`)?.textContent?.includes("Viewer"),
      INVITEE.name,
    );
  });
}
