import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Role } from "@/api/client";
import { json, mockApi } from "../../../test/api-mock";
import { me } from "../../../test/fixtures";
import { renderApp } from "../../../test/render";
import { MembersPage } from "./MembersPage";

afterEach(() => vi.unstubAllGlobals());

function serve(role: Role) {
  const session = me(role);
  return mockApi({
    "GET /api/v1/workspaces/:id/members": () =>
      json(200, {
        items: [
          { user_id: session.user.id, email: session.user.email, name: session.user.name, role, joined_at: "2025-01-01T00:00:00Z" },
          { user_id: "u-bob", email: "bob@example.com", name: "Bob", role: "member", joined_at: "2025-01-02T00:00:00Z" },
          { user_id: "u-own", email: "own@example.com", name: "Owen", role: "owner", joined_at: "2025-01-02T00:00:00Z" },
        ],
        next_cursor: null,
      }),
    "GET /api/v1/workspaces/:id/invitations": () =>
      json(200, {
        items: [
          { id: "i1", email: "new@example.com", role: "member", status: "pending", invited_by: "x", expires_at: "2099-01-01T00:00:00Z", created_at: "2025-01-01T00:00:00Z" },
          { id: "i2", email: "old@example.com", role: "member", status: "accepted", invited_by: "x", expires_at: "2099-01-01T00:00:00Z", created_at: "2025-01-01T00:00:00Z" },
        ],
        next_cursor: null,
      }),
  });
}

describe("MembersPage: what each role sees", () => {
  it("a viewer sees the list, but no invite button, role pickers or invitations", async () => {
    const { calls } = serve("viewer");
    renderApp(<MembersPage />, { me: me("viewer") });
    const table = await screen.findByRole("table", { name: "Members of Acme" });
    expect(await within(table).findByText("bob@example.com")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Invite people/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();
    expect(screen.queryByText("Pending invitations")).not.toBeInTheDocument();
    expect(calls.some((c) => c.path.includes("/invitations"))).toBe(false);
    // Only their own row has actions (leave the workspace).
    expect(screen.getAllByRole("button", { name: /^Actions for/ })).toHaveLength(1);
  });

  it("an admin can invite, change roles of those at or below them, and sees pending invitations", async () => {
    serve("admin");
    renderApp(<MembersPage />, { me: me("admin") });
    expect(await screen.findByRole("button", { name: /Invite people/ })).toBeInTheDocument();
    expect(await screen.findByRole("combobox", { name: "Role of Bob" })).toBeInTheDocument();
    // An owner ranks above an admin: no picker for them.
    expect(screen.queryByRole("combobox", { name: "Role of Owen" })).not.toBeInTheDocument();
    const pending = await screen.findByRole("table", { name: "Pending invitations" });
    expect(within(pending).getByText("new@example.com")).toBeInTheDocument();
    expect(within(pending).queryByText("old@example.com")).not.toBeInTheDocument();
  });
});
