import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Route } from "wouter";
import { apiError, json, mockApi } from "../../../test/api-mock";
import { renderApp } from "../../../test/render";
import { SharedConversationPage } from "./SharedConversationPage";

function show(token: string) {
  return renderApp(<Route path="/shared/:token" component={SharedConversationPage} />, { path: `/shared/${token}`, workspace: false });
}

describe("a conversation shared by a public link", () => {
  it("is read without signing in: the title, then each message", async () => {
    const { calls } = mockApi({
      "GET /api/v1/shared/:token": () =>
        json(200, {
          title: "Offsite plan",
          shared_at: "2026-01-01T00:00:00Z",
          messages: [
            {
              role: "user",
              content: "Where do we go?",
              model: null,
              status: "complete",
              attachments: [{ name: "map.png", media_type: "image/png", size: 2048 }],
              created_at: "2026-01-01T00:00:00Z",
            },
            { role: "assistant", content: "Two days in **Lisbon**.", model: "fake-small", status: "complete", created_at: "2026-01-01T00:00:01Z" },
          ],
        }),
    });
    show("tok_abc");
    expect(await screen.findByRole("heading", { level: 1, name: "Offsite plan" })).toBeInTheDocument();
    const list = screen.getByRole("list", { name: "Conversation" });
    expect(within(list).getByRole("listitem", { name: "Question" })).toHaveTextContent("Where do we go?");
    expect(await within(list).findByText("Lisbon")).toBeInTheDocument();
    // A question's files are named, not served.
    expect(within(list).getByText("map.png")).toBeInTheDocument();
    expect(within(list).queryByRole("img")).toBeNull();
    expect(within(list).queryByRole("link")).toBeNull();
    // Nothing to change here, and nothing asked of the server but the conversation.
    expect(screen.queryByRole("button", { name: /Edit|Regenerate|Delete|Good answer/ })).toBeNull();
    expect(calls.map((c) => c.path)).toEqual(["/api/v1/shared/tok_abc"]);
    expect(document.title).toBe("Offsite plan · Nexus");
    expect(document.querySelector('meta[name="robots"]')).toHaveAttribute("content", "noindex, nofollow");
  });

  it("a link taken down says so", async () => {
    mockApi({ "GET /api/v1/shared/:token": () => apiError(404, "not_found", "Not found.") });
    show("gone");
    expect(await screen.findByText("This link doesn't work")).toBeInTheDocument();
  });
});
