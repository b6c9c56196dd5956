// Steps: API keys, the audit log (filters, export, verify), settings.

import assert from "node:assert/strict";
import { shot, timed } from "./browser.mjs";
import { INVITEE, auditRows, nav, pickOption, toastText } from "./common.mjs";

/** Register these steps, in order; `state` carries what later steps need. */
export function register(step, state) {
  step("owner creates an API key, shown once", async () => {
    const { page, context } = state.owner;
    await timed("API keys page", () => nav(page, "API keys").click(), page.getByText("No API keys yet"));
    await shot(page, "10-api-keys-empty");
    await page.getByRole("button", { name: "Create API key" }).first().click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("CI deploys");
    await dialog.getByRole("button", { name: "Create key" }).click();
    await dialog.getByRole("heading", { name: "Copy your new API key" }).waitFor();
    const key = await dialog.getByRole("textbox", { name: "API key" }).inputValue();
    assert.match(key, /^nxk_/);
    await dialog.getByText("You won't see this key again").waitFor();
    await shot(page, "11-api-key-created", { fullPage: false });
    await dialog.getByRole("button", { name: "I've stored the key" }).click();
    const table = page.getByRole("table", { name: "API keys" });
    await table.getByText("CI deploys").waitFor();
    assert.equal(await page.getByText(key).count(), 0, "the key is not shown again");
    // The key works for programs.
    const res = await context.request.get(`${state.base}/api/v1/workspaces/${state.wsId}/plan`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    assert.equal(res.status(), 200);
    await shot(page, "12-api-keys");
  });

  step("audit log shows the events, and its filters work", async () => {
    const { page, context } = state.owner;
    await timed("audit log page", () => nav(page, "Audit log").click(), auditRows(page).first());
    const actions = await auditRows(page).evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action")));
    for (const a of ["workspace.created", "invitation.created", "invitation.accepted", "invitation.revoked", "member.role_changed", "api_key.created"]) {
      assert.ok(actions.includes(a), `audit log has ${a} (got ${actions.join(", ")})`);
    }
    await shot(page, "13-audit");

    const waitRows = async (predicate, what) => {
      const deadline = Date.now() + 10_000;
      let rows = [];
      while (Date.now() < deadline) {
        rows = await auditRows(page).evaluateAll((els) => els.map((r) => r.getAttribute("data-action")));
        if (predicate(rows)) return;
        await page.waitForTimeout(100);
      }
      throw new Error(`audit rows never matched: ${what} (rows: ${rows.join(", ")}; url ${page.url()})`);
    };

    await pickOption(page, page.getByRole("combobox", { name: "Action" }), "member.role_changed");
    await waitRows((rows) => rows.length === 1 && rows[0] === "member.role_changed", "exact action");
    assert.match(page.url(), /action=member\.role_changed/);

    await pickOption(page, page.getByRole("combobox", { name: "Action" }), "Invitations: all (invitation.*)");
    await waitRows((rows) => rows.length === 4 && rows.every((r) => r.startsWith("invitation.")), "action prefix");

    await pickOption(page, page.getByRole("combobox", { name: "Actor" }), `${INVITEE.name} (${INVITEE.email})`);
    await waitRows((rows) => rows.length === 1 && rows[0] === "invitation.accepted", "actor + prefix");
    await shot(page, "14-audit-filtered");

    // The export link carries the same filters.
    await page.getByRole("button", { name: "Export" }).click();
    const csvHref = await page.getByRole("menuitem", { name: "CSV (spreadsheets)" }).getAttribute("href");
    const jsonlHref = await page.getByRole("menuitem", { name: "JSON Lines (tools)" }).getAttribute("href");
    await page.keyboard.press("Escape");
    assert.match(csvHref, /format=csv/);
    assert.match(csvHref, /action=invitation\./);
    assert.match(csvHref, /actor_id=/);
    const csv = await context.request.get(`${state.base}${csvHref}`);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()["content-type"], /text\/csv/);
    const csvText = await csv.text();
    assert.match(csvText, /^id,seq,created_at/);
    assert.match(csvText, /invitation\.accepted/);
    assert.doesNotMatch(csvText, /api_key\.created/);
    const jsonl = await context.request.get(`${state.base}${jsonlHref}`);
    assert.equal(jsonl.status(), 200);
    assert.equal((await jsonl.text()).trim().split("\n").length, 1);

    // A time range in the future matches nothing.
    await page.getByRole("button", { name: "Clear" }).click();
    await waitRows((rows) => rows.length >= 7, "cleared");
    const tomorrow = new Date(Date.now() + 86_400_000);
    const pad = (n) => String(n).padStart(2, "0");
    await page.getByLabel("From").fill(
      `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}T09:00`,
    );
    await page.getByText("No events match these filters").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await auditRows(page).first().waitFor();

    await page.getByRole("button", { name: "Verify chain" }).click();
    await page.getByText("The chain is intact").waitFor();
  });

  step("owner renames the workspace, switches a module on, sees the plan, stores a secret", async () => {
    const { page } = state.owner;
    await timed("settings page", () => nav(page, "Settings").click(), page.getByLabel("Name", { exact: true }));
    await page.getByLabel("Name", { exact: true }).fill("Acme Corp");
    await page.getByRole("button", { name: "Save" }).click();
    await toastText(page, "Workspace renamed").waitFor();
    await page.locator("aside").getByText("Acme Corp").first().waitFor();
    await shot(page, "15-settings-general");

    await page.getByRole("tab", { name: "Modules" }).click();
    const assistant = page.getByRole("switch", { name: /AI assistant/ });
    await assistant.waitFor();
    assert.equal(await assistant.getAttribute("aria-checked"), "false", "assistant is off by default");
    await assistant.click();
    await toastText(page, "AI assistant switched on").waitFor();
    assert.equal(await assistant.getAttribute("aria-checked"), "true");
    await shot(page, "16-settings-modules");

    await page.getByRole("tab", { name: "Plan & usage" }).click();
    await page.getByText("Seats used", { exact: true }).first().waitFor();
    await page.getByText(/^2 of \d+$/).waitFor();
    await shot(page, "17-settings-plan");

    await page.getByRole("tab", { name: "Secrets" }).click();
    await page.getByText("No secrets yet").waitFor();
    await page.getByRole("button", { name: "Add secret" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("bad name!");
    await dialog.getByLabel("Value").fill("sk-test-123");
    await dialog.getByRole("button", { name: "Save secret" }).click();
    await dialog.getByText("Use only letters, digits, _, - and .").waitFor();
    await dialog.getByLabel("Name").fill("OPENAI_API_KEY");
    await dialog.getByRole("button", { name: "Save secret" }).click();
    await toastText(page, "Secret saved").waitFor();
    await page.getByRole("table", { name: "Secrets" }).getByText("OPENAI_API_KEY").waitFor();
    assert.equal(await page.getByText("sk-test-123").count(), 0, "secret values are never shown");
    await shot(page, "18-settings-secrets");

    await page.getByRole("tab", { name: "Danger zone" }).click();
    await page.getByRole("button", { name: "Delete this workspace" }).waitFor();
    await shot(page, "19-settings-danger");
  });
}
