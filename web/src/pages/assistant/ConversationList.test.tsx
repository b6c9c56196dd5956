import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, mockApi } from "../../../test/api-mock";
import { CID, conversation, FIRST, MODELS, serve, setUpAssistantTests, show } from "../../../test/assistant";
import { WS_ID } from "../../../test/fixtures";
import { highlighted } from "./ConversationList";

setUpAssistantTests();

describe("ConversationList: search", () => {
  it("shows why each result was found: the words in a message, marked, with the text around them", async () => {
    const found = conversation({
      title: "Trip plans",
      matched: { message_id: "a1", snippet: "…we could visit the Alhambra in Granada, and then…" },
    });
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations": (req) =>
        json(200, { items: [new URL(req.url).searchParams.get("q") ? found : conversation()], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, conversation()),
      "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => json(200, { items: FIRST, next_cursor: null }),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
      "GET /api/v1/workspaces/:ws/ai/share-links": () => json(200, { items: [], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/ai/prompts": () => json(200, { items: [], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link: null, allowed: true }),
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("searchbox", { name: "Search conversations" }), "alhambra");
    const match = await waitFor(() => {
      const el = document.querySelector("[data-match]");
      expect(el).not.toBeNull();
      return el as HTMLElement;
    });
    expect(match).toHaveTextContent("…we could visit the Alhambra in Granada, and then…");
    expect(within(match).getByText("Alhambra").tagName).toBe("MARK");
    expect(calls.some((c) => c.path.includes("q=alhambra"))).toBe(true);
    // The result opens the conversation at that message, with the words to mark in it.
    expect(match.closest("a")).toHaveAttribute("href", `/w/${WS_ID}/assistant/${CID}?m=a1&q=alhambra`);
  });

  it("marks every place the words occur, ignoring case", () => {
    const parts = highlighted("Rome, then rome again", "ROME");
    expect(parts.filter((p) => typeof p !== "string")).toHaveLength(2);
    expect(highlighted("nothing here", "rome")).toEqual(["nothing here"]);
  });
});

describe("ConversationList: public links", () => {
  it("marks the conversations anyone with a link can read", async () => {
    const other = conversation({ id: "01900000-0000-7000-8000-0000000000c2", title: "Budget" });
    serve({
      routes: {
        "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [conversation(), other], next_cursor: null }),
        "GET /api/v1/workspaces/:ws/ai/share-links": () =>
          json(200, { items: [{ conversation_id: CID, title: "Trip plans", shared_at: "2026-01-01T00:00:00Z" }], next_cursor: null }),
      },
    });
    show();
    const row = (id: string) => document.querySelector(`li[data-conversation-id="${id}"]`) as HTMLElement;
    await waitFor(() => expect(within(row(CID)).getByLabelText("Readable by public link")).toBeInTheDocument());
    expect(within(row(other.id)).queryByLabelText("Readable by public link")).toBeNull();
  });
});
