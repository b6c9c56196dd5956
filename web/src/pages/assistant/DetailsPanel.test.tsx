import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { apiError, json, mockApi } from "../../../test/api-mock";
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

// The panel asks whether a conversation it may change has a public link: none, here.
beforeEach(() => {
  mockApi({ "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link: null, allowed: true }) });
});

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

describe("DetailsPanel: public link", () => {
  const LINK = {
    token: "tok_abc",
    message_id: "a1",
    message_count: 2,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  };

  it("makes a link to copy, moves it on, and deletes it after asking", async () => {
    let link: typeof LINK | null = null;
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link, allowed: true }),
      "PUT /api/v1/workspaces/:ws/conversations/:cid/share-link": () => {
        link = link ? { ...LINK, message_count: 4 } : LINK;
        return json(200, link);
      },
      "DELETE /api/v1/workspaces/:ws/conversations/:cid/share-link": () => {
        link = null;
        return json(204, null);
      },
    });
    renderApp(<DetailsPanel conversation={shared(ME.user.id)} models={[]} onClose={() => {}} />, { me: ME });
    const section = () => screen.getByRole("region", { name: "Public link" });
    await userEvent.click(await screen.findByRole("button", { name: "Create public link" }));
    const field = await within(section()).findByRole("textbox", { name: "Public link" });
    expect(field).toHaveValue(`${window.location.origin}/shared/tok_abc`);
    expect(section()).toHaveTextContent("the 2 messages shared");

    await userEvent.click(within(section()).getByRole("button", { name: "Update link" }));
    await waitFor(() => expect(section()).toHaveTextContent("the 4 messages shared"));
    expect(calls.filter((c) => c.method === "PUT")).toHaveLength(2);

    await userEvent.click(within(section()).getByRole("button", { name: "Delete link" }));
    const confirm = screen.getByRole("alertdialog", { name: "Delete the public link?" });
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete link" }));
    const create = await within(section()).findByRole("button", { name: "Create public link" });
    expect(calls.some((c) => c.method === "DELETE")).toBe(true);
    await waitFor(() => expect(create).toHaveFocus());
  });

  it("says why a link was refused, and is not offered to those who may only read", async () => {
    mockApi({
      "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link: null, allowed: true }),
      "PUT /api/v1/workspaces/:ws/conversations/:cid/share-link": () =>
        apiError(409, "answer_streaming", "The last answer is still being written: share the conversation once it ends."),
    });
    const view = renderApp(<DetailsPanel conversation={shared(ME.user.id)} models={[]} onClose={() => {}} />, { me: ME });
    await userEvent.click(await screen.findByRole("button", { name: "Create public link" }));
    expect(await screen.findByText(/still being written/)).toBeInTheDocument();
    view.unmount();

    renderApp(<DetailsPanel conversation={{ ...shared("someone-else"), can_write: false }} models={[]} onClose={() => {}} />, {
      me: me("viewer"),
    });
    expect(screen.queryByRole("region", { name: "Public link" })).toBeNull();
  });

  it("says when the workspace's admins have switched public links off", async () => {
    mockApi({ "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link: null, allowed: false }) });
    renderApp(<DetailsPanel conversation={shared(ME.user.id)} models={[]} onClose={() => {}} />, { me: ME });
    expect(await screen.findByText(/admins have switched public links off \(Settings → AI\)/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create public link" })).toBeNull();
  });
});
