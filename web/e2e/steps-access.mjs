// Steps: what a viewer may not see, session expiry, the operator console, the phone layout,
// themes, deleting a workspace, password change and log-out.

import assert from "node:assert/strict";
import { allowFailures, expectFailure, go, quiet, reload, shot, timed } from "./browser.mjs";
import { AUTH_LIMIT_MS, INVITEE, OPERATOR, OWNER, OWNER_NEW_PASSWORD, auditRows, nav, openUserMenu, pickOption, signUp, toastText } from "./common.mjs";

/** Register these steps, in order; `state` carries what later steps need. */
export function register(step, state) {
  step("a viewer sees no admin pages or buttons", async () => {
    const { page } = state.invitee;
    const ws = `${state.base}/w/${state.wsId}`;
    await timed("members page (viewer)", () => go(page, `${ws}/members`), page.getByRole("table", { name: "Members of Acme Corp" }).getByText(OWNER.email));
    assert.equal(await page.getByRole("button", { name: "Invite people" }).count(), 0);
    assert.equal(await page.getByRole("combobox", { name: /^Role of/ }).count(), 0);
    assert.equal(await page.getByRole("table", { name: "Pending invitations" }).count(), 0);
    const links = await page.locator('aside nav[aria-label="Workspace"] a').allTextContents();
    assert.deepEqual(links, ["Assistant", "Members", "Settings"]);
    await shot(page, "20-viewer-members");

    await go(page, `${ws}/api-keys`);
    await page.getByText("Admins only").waitFor();
    assert.equal(await page.getByRole("button", { name: "Create API key" }).count(), 0);
    await shot(page, "21-viewer-api-keys", { dark: false });
    await go(page, `${ws}/audit`);
    await page.getByText("Admins only").waitFor();

    await go(page, `${ws}/settings`);
    await page.getByRole("tab", { name: "General" }).waitFor();
    assert.equal(await page.getByRole("tab", { name: "Secrets" }).count(), 0);
    assert.equal(await page.getByLabel("Name", { exact: true }).getAttribute("readonly"), "");
    assert.equal(await page.getByRole("button", { name: "Save" }).count(), 0);
    await page.getByRole("tab", { name: "Modules" }).click();
    await page.getByRole("switch", { name: /AI assistant/ }).waitFor();
    assert.equal(await page.getByRole("switch", { name: /AI assistant/ }).isDisabled(), true);
    await page.getByRole("tab", { name: "Danger zone" }).click();
    assert.equal(await page.getByRole("button", { name: "Delete this workspace" }).count(), 0);
  });

  step("when the session ends elsewhere, the app asks to sign in and comes back", async () => {
    const { page, context } = state.invitee;
    // End every session of this account from outside the page (as "sign out everywhere" elsewhere would).
    const session = await (await context.request.get(`${state.base}/api/v1/me`)).json();
    const res = await context.request.post(`${state.base}/api/v1/auth/logout-all`, {
      headers: { "X-CSRF-Token": session.csrf_token },
    });
    assert.equal(res.status(), 204);
    const stop = allowFailures("GET", /^\/api\/v1\/workspaces\//, 401);
    await page.getByRole("tab", { name: "Plan & usage" }).click();
    await page.getByRole("heading", { name: "Sign in to Nexus" }).waitFor();
    stop();
    assert.match(page.url(), /\/login\?next=%2Fw%2F[0-9a-f-]+%2Fsettings%2Fplan$/);
    await toastText(page, "Your session has ended").waitFor();
    // Keyboard only: type, Tab, type, Enter.
    await page.getByLabel("Email").focus();
    await page.keyboard.type(INVITEE.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(INVITEE.password);
    await page.keyboard.press("Enter");
    await page.getByText("Seats used", { exact: true }).first().waitFor();
    assert.match(page.url(), /\/settings\/plan$/);
  });

  step("operator changes the plan, suspends and restores the workspace", async () => {
    const op = state.operator;
    await go(op.page, `${state.base}/signup`);
    await signUp(op.page, OPERATOR);
    await op.page.getByRole("heading", { name: /Welcome to Nexus/ }).waitFor();
    await openUserMenu(op.page);
    await timed(
      "operator console",
      () => op.page.getByRole("menuitem", { name: "Operator console" }).click(),
      op.page.getByRole("table", { name: "All workspaces" }).getByText("Acme Corp"),
    );
    await pickOption(op.page, op.page.getByRole("combobox", { name: "Plan of Acme Corp" }), "Pro");
    await toastText(op.page, "Plan changed").waitFor();
    await op.page.getByRole("button", { name: "Suspend" }).click();
    await op.page.getByRole("alertdialog").getByRole("button", { name: "Suspend workspace" }).click();
    await toastText(op.page, "Workspace suspended").waitFor();
    await op.page.getByRole("table", { name: "All workspaces" }).getByText("Suspended").waitFor();
    await shot(op.page, "22-operator-console");

    const { page } = state.owner;
    expectFailure("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}$`), 403);
    expectFailure("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}/members$`), 403);
    expectFailure("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}/invitations$`), 403);
    // The sidebar asks which modules are on; a suspended workspace refuses that too.
    const stopModules = allowFailures("GET", new RegExp(`^/api/v1/workspaces/${state.wsId}/modules$`), 403);
    await go(page, `${state.base}/w/${state.wsId}/members`);
    await page.getByText("This workspace is suspended").first().waitFor();
    await shot(page, "23-workspace-suspended", { dark: false });
    stopModules();

    await op.page.getByRole("button", { name: "Restore" }).click();
    await toastText(op.page, "Workspace restored").waitFor();
    await reload(page);
    await page.getByRole("table", { name: "Members of Acme Corp" }).getByText(INVITEE.email).waitFor();
    await nav(page, "Settings").click();
    await page.getByRole("tab", { name: "Plan & usage" }).click();
    await page.getByText("Pro", { exact: true }).waitFor();
  });

  step("the layout works on a phone", async () => {
    const { page } = state.owner;
    await page.setViewportSize({ width: 390, height: 844 });
    await go(page, `${state.base}/w/${state.wsId}/members`);
    await page.getByRole("table", { name: "Members of Acme Corp" }).getByText(INVITEE.email).waitFor();
    assert.equal(await page.locator("aside").isVisible(), false, "sidebar hidden on a phone");
    await shot(page, "24-mobile-members");
    await page.getByRole("button", { name: "Open menu" }).click();
    const menu = page.getByRole("dialog", { name: "Menu" });
    await menu.getByRole("link", { name: "Audit log" }).waitFor();
    await shot(page, "25-mobile-menu", { fullPage: false });
    await menu.getByRole("link", { name: "Audit log" }).click();
    await auditRows(page).first().waitFor();
    assert.equal(await menu.count(), 0, "menu closes after navigating");
    // No page is wider than the phone: wide tables scroll in their own box, and nothing
    // else makes the whole page scroll sideways.
    const ws = `${state.base}/w/${state.wsId}`;
    const pages = ["members", "api-keys", "audit", "usage", "assistant", ...["general", "modules", "ai", "plan", "secrets", "danger"].map((s) => `settings/${s}`)];
    for (const url of [...pages.map((p) => `${ws}/${p}`), `${state.base}/account`]) {
      await go(page, url);
      await page.locator("#main h1").first().waitFor();
      await quiet(page);
      // How much wider, and what starts past the edge (an element whose parent does not,
      // or one placed out of the flow), to say where to look.
      const { sideways, culprits } = await page.evaluate(() => {
        const past = (el) => el.getBoundingClientRect().right > window.innerWidth + 0.5;
        return {
          sideways: document.documentElement.scrollWidth - window.innerWidth,
          culprits: [...document.querySelectorAll("body *")]
            .filter((el) => past(el) && (!past(el.parentElement) || getComputedStyle(el).position === "absolute"))
            .slice(0, 5)
            .map((el) => `${el.tagName.toLowerCase()}.${String(el.className.baseVal ?? el.className).split(" ").slice(0, 4).join(".")}`),
        };
      });
      assert.ok(sideways <= 0, `${url} is ${sideways}px wider than the phone: ${culprits.join(", ")}`);
    }
    // The next steps start from the audit log.
    await go(page, `${ws}/audit`);
    await auditRows(page).first().waitFor();
    await page.setViewportSize({ width: 1280, height: 820 });
    // Back to the desktop layout before the next step uses the sidebar.
    await page.locator("aside").waitFor();
  });

  step("theme choice is switchable and persisted", async () => {
    const { page } = state.owner;
    await openUserMenu(page);
    await page.getByRole("menuitemradio", { name: "Dark" }).click();
    await page.waitForFunction(() => document.documentElement.classList.contains("dark"));
    await reload(page);
    await auditRows(page).first().waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.classList.contains("dark")), true);
    await openUserMenu(page);
    await page.getByRole("menuitemradio", { name: "System" }).click();
    await page.waitForFunction(() => !document.documentElement.classList.contains("dark"));
  });

  step("owner creates a second workspace from the switcher, then deletes it", async () => {
    const { page } = state.owner;
    await page.locator("aside").getByRole("button", { name: /Switch workspace/ }).click();
    await page.getByRole("menuitem", { name: "Create workspace" }).click();
    const dialog = page.getByRole("dialog", { name: "Create a workspace" });
    await dialog.getByLabel("Workspace name").fill("Scratch");
    await dialog.getByRole("button", { name: "Create workspace" }).click();
    await page.getByRole("table", { name: "Members of Scratch" }).waitFor();
    assert.equal(await dialog.count(), 0);
    await nav(page, "Settings").click();
    await page.getByRole("tab", { name: "Danger zone" }).click();
    await page.getByRole("button", { name: "Delete this workspace" }).click();
    const confirm = page.getByRole("alertdialog");
    const remove = confirm.getByRole("button", { name: "Delete workspace" });
    assert.equal(await remove.isDisabled(), true, "delete waits for the name");
    await confirm.getByLabel(/to confirm/).fill("Scratch");
    await shot(page, "27-delete-workspace", { fullPage: false });
    await remove.click();
    await toastText(page, "Workspace deleted").waitFor();
    await page.getByRole("table", { name: "Members of Acme Corp" }).waitFor();
    await page.locator("aside").getByRole("button", { name: /Switch workspace/ }).click();
    assert.equal(await page.getByRole("menuitem", { name: "Scratch" }).count(), 0);
    await page.keyboard.press("Escape");
  });

  step("owner changes the password (server errors land on the field)", async () => {
    const { page } = state.owner;
    await openUserMenu(page);
    await timed("account page", () => page.getByRole("menuitem", { name: "Account" }).click(), page.getByLabel("Current password"));
    await shot(page, "26-account");
    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password", { exact: true }).fill(OWNER_NEW_PASSWORD);
    await page.getByLabel("Repeat new password").fill("something else");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("The passwords don't match").waitFor();
    await page.getByLabel("Repeat new password").fill(OWNER_NEW_PASSWORD);
    expectFailure("POST", /^\/api\/v1\/auth\/password$/, 422);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Current password is wrong").waitFor();
    await page.getByLabel("Current password").fill(OWNER.password);
    await page.getByRole("button", { name: "Change password" }).click();
    await toastText(page, "Password changed").waitFor();
  });

  step("owner logs out; a protected link goes through login and back", async () => {
    const { page } = state.owner;
    await openUserMenu(page);
    await page.getByRole("menuitem", { name: "Sign out", exact: true }).click();
    await page.getByRole("heading", { name: "Sign in to Nexus" }).waitFor();
    await toastText(page, "Signed out").waitFor();

    await go(page, `${state.base}/w/${state.wsId}/audit`);
    await page.getByRole("heading", { name: "Sign in to Nexus" }).waitFor();
    assert.match(page.url(), /\/login\?next=%2Fw%2F[0-9a-f-]+%2Faudit$/);
    await page.getByLabel("Email").fill(OWNER.email);
    expectFailure("POST", /^\/api\/v1\/auth\/login$/, 401);
    await page.getByLabel("Password").fill(OWNER.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Wrong email or password.").waitFor();
    await page.getByLabel("Password").fill(OWNER_NEW_PASSWORD);
    await timed("audit log (after login)", () => page.getByRole("button", { name: "Sign in" }).click(), auditRows(page).first(), AUTH_LIMIT_MS);
    assert.match(page.url(), /\/w\/[0-9a-f-]+\/audit$/);
    await openUserMenu(page);
    await page.getByRole("menuitem", { name: "Sign out", exact: true }).click();
    await page.getByRole("heading", { name: "Sign in to Nexus" }).waitFor();
  });
}
