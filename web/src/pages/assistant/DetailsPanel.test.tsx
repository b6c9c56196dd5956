import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ConversationView } from "@/api/client";
import { me, WS_ID } from "../../../test/fixtures";
import { renderApp } from "../../../test/render";
import { DetailsPanel } from "./DetailsPanel";

const ME = me("admin");

function shared(createdBy: string): ConversationView {
  return {
    id: "01900000-0000-7000-8000-0000000000c1",
    title: "Team notes",
    model: "fake-small",
    system_prompt: "",
    visibility: "workspace",
    pinned: false,
    archived: false,
    created_by: createdBy,
    message_count: 2,
    tokens_used: 40,
    head_message_id: null,
    can_write: true,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };
}

describe("DetailsPanel: visibility", () => {
  it("lets the creator share or unshare", () => {
    renderApp(<DetailsPanel conversation={shared(ME.user.id)} models={[]} onClose={() => {}} />, { me: ME });
    expect(screen.getByRole("switch", { name: "Share with the workspace" })).toBeChecked();
  });

  it("an admin who may write someone else's shared conversation cannot make it private", () => {
    renderApp(<DetailsPanel conversation={shared("someone-else")} models={[]} onClose={() => {}} />, { me: ME });
    expect(screen.queryByRole("switch", { name: "Share with the workspace" })).not.toBeInTheDocument();
    expect(screen.getByText(/Only its creator can make it private/)).toBeInTheDocument();
  });
});

describe("DetailsPanel: export", () => {
  it("offers the conversation as Markdown and as JSON, also to someone who may only read it", () => {
    const readOnly = { ...shared("someone-else"), can_write: false };
    renderApp(<DetailsPanel conversation={readOnly} models={[]} onClose={() => {}} />, { me: me("viewer") });
    const base = `/api/v1/workspaces/${WS_ID}/conversations/${readOnly.id}/export`;
    const markdown = screen.getByRole("link", { name: /Markdown/ });
    expect(markdown).toHaveAttribute("href", `${base}?format=markdown`);
    expect(markdown).toHaveAttribute("download");
    expect(screen.getByRole("link", { name: /JSON/ })).toHaveAttribute("href", `${base}?format=json`);
  });
});
