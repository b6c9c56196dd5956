/**
 * The chat's edges: Stop before the server has the message, a turn sent right after the last
 * one ended, reloads that fail with the messages on screen, refused edits, drafts, opening
 * at a search's match.
 */
import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { apiError, json, mockApi } from "../../../test/api-mock";
import { me } from "../../../test/fixtures";
import { answer, CID, conversation, FIRST, LARGE, MODELS, message, serve, setUpAssistantTests, show, sseStream } from "../../../test/assistant";

setUpAssistantTests();

/** A promise the test settles. */
function later<T>() {
  let settle!: (v: T) => void;
  const promise = new Promise<T>((r) => (settle = r));
  return { promise, settle };
}

const composer = () => screen.getByRole("textbox", { name: "Message" });

describe("ChatView: Stop", () => {
  it("Stop before the server has the message waits for it, then stops that answer by name", async () => {
    const stream = sseStream();
    let aborted = false;
    const { calls } = serve({
      post: (req) => {
        req.signal.addEventListener("abort", () => (aborted = true));
        return stream.response(req.signal);
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Tell me a story{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    // Nothing to name yet: closing now would leave an answer the server may finish anyway.
    expect(aborted).toBe(false);

    act(() => stream.send("message", { ...message("u2", "user", "Tell me a story", { parent_id: "a1" }), assistant_message_id: "a2" }));
    await waitFor(() => expect(aborted).toBe(true));
    expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages/a2/stop"))).toBe(true);
  });

  it("Stop while a new chat is being made deletes the empty chat and keeps the message to send again", async () => {
    const created = conversation({ title: "", message_count: 0, head_message_id: null });
    const creating = later<Response>();
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations": () => creating.promise,
      "DELETE /api/v1/workspaces/:ws/conversations/:cid": () => json(204, null),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    show("member", null);
    await screen.findByRole("heading", { name: "What can I help with?" });
    await userEvent.type(composer(), "Plan a trip{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    creating.settle(json(201, created));

    const failure = await screen.findByText("Not sent: Stopped");
    const box = failure.closest("[data-turn-failure]") as HTMLElement;
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path.endsWith(`/conversations/${CID}`))).toBe(true));
    expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages"))).toBe(false);
    expect(screen.getByText("Plan a trip")).toBeInTheDocument();
    expect(within(box).getByRole("button", { name: "Retry" })).toBeInTheDocument();
    await userEvent.click(within(box).getByRole("button", { name: "Edit message" }));
    expect(composer()).toHaveValue("Plan a trip");
  });

  it("a new chat made only after Stop gave up waiting for it is deleted, not left behind empty", async () => {
    const created = conversation({ title: "", message_count: 0, head_message_id: null });
    const creating = later<Response>();
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations": () => creating.promise,
      "DELETE /api/v1/workspaces/:ws/conversations/:cid": () => json(204, null),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    show("member", null);
    await screen.findByRole("heading", { name: "What can I help with?" });
    await userEvent.type(composer(), "Plan a trip{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    // Stop gives up after 3 s: the message is offered to send again at once.
    await screen.findByText("Not sent: Stopped", undefined, { timeout: 4500 });
    expect(screen.getByRole("button", { name: "Send message" })).toBeInTheDocument();
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);

    creating.settle(json(201, created));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path.endsWith(`/conversations/${CID}`))).toBe(true));
    expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages"))).toBe(false);
    expect(screen.getByText("Not sent: Stopped")).toBeInTheDocument();
  }, 10_000);
});

describe("ChatView: Stop before the server named the answer", () => {
  it("a message refused after Stop stays on screen to send again, not shown as a stopped answer", async () => {
    const refused = later<Response>();
    serve({ post: () => refused.promise });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Tell me a story{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    refused.settle(apiError(429, "rate_limited", "Too many requests; try again in a minute."));

    await waitFor(() => expect(document.querySelector("[data-turn-failure]")).not.toBeNull());
    const box = document.querySelector("[data-turn-failure]") as HTMLElement;
    expect(within(box).getByRole("button", { name: "Edit message" })).toBeInTheDocument();
    expect(screen.getByText("Tell me a story")).toBeInTheDocument();
    expect(screen.queryByText("Interrupted")).not.toBeInTheDocument();
  });

  it("a message the server took after Stop gave up on it shows as saved, with no Retry to send it twice", async () => {
    const stream = sseStream();
    let saved = FIRST;
    serve({ messages: () => saved, post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Tell me a story{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    // The server took it, but its `message` event never came: Stop gives up after 3 s.
    const user = message("u2", "user", "Tell me a story", { parent_id: "a1" });
    saved = [...FIRST, user, message("a2", "assistant", "Once", { parent_id: "u2", status: "interrupted" })];
    await waitFor(() => expect(document.querySelector('[data-message-id="a2"]')).not.toBeNull(), { timeout: 6000 });
    expect(document.querySelector("[data-turn-failure]")).toBeNull();
    expect(screen.getAllByText("Tell me a story")).toHaveLength(1);
  }, 10_000);

  it("waits for the saved messages before offering Retry, and stops an answer it finds still being written", async () => {
    const stream = sseStream();
    let saved = FIRST;
    let reads = 0;
    let failureSeen = false;
    const { calls } = serve({
      post: (req) => stream.response(req.signal),
      routes: {
        "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => {
          // The server saves it a moment after the stream closed: the first look finds nothing.
          reads += 1;
          if (document.querySelector("[data-turn-failure]")) failureSeen = true;
          return json(200, { items: reads > 2 ? saved : FIRST, next_cursor: null });
        },
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Tell me a story{Enter}");
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    const user = message("u2", "user", "Tell me a story", { parent_id: "a1" });
    saved = [...FIRST, user, message("a2", "assistant", "Once", { parent_id: "u2", status: "streaming" })];
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages/a2/stop"))).toBe(true), { timeout: 8000 });
    expect(failureSeen).toBe(false);
    expect(document.querySelector("[data-turn-failure]")).toBeNull();
  }, 12_000);
});

describe("ChatView: one turn after another", () => {
  it("a message sent right after Stop keeps the stopped exchange on screen while its saved version loads", async () => {
    const first = sseStream();
    const second = sseStream();
    const posts = [first, second];
    let reload: ReturnType<typeof later<void>> | null = null;
    let saved = FIRST;
    mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [conversation()], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, conversation()),
      "GET /api/v1/workspaces/:ws/conversations/:cid/messages": async () => {
        // After Stop, the saved messages are slow to come back.
        if (reload) await reload.promise;
        return json(200, { items: saved, next_cursor: null });
      },
      "POST /api/v1/workspaces/:ws/conversations/:cid/messages": (req) => posts.shift()!.response(req.signal),
      "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/stop": () => json(204, null),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Tell me a long story{Enter}");
    const user = message("u2", "user", "Tell me a long story", { parent_id: "a1" });
    act(() => {
      first.send("message", { ...user, assistant_message_id: "a2" });
      first.send("delta", { text: "Once upon a time" });
    });
    await waitFor(() => expect(answer()).toHaveTextContent("Once upon a time"));

    reload = later<void>();
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    await screen.findByRole("button", { name: "Send message" });
    await userEvent.type(composer(), "Shorter, please{Enter}");

    expect(screen.getByText("Shorter, please")).toBeInTheDocument();
    expect(screen.getByText("Tell me a long story")).toBeInTheDocument();
    expect(screen.getByText("Once upon a time")).toBeInTheDocument();

    // The saved versions arrive and take the stopped exchange's place, each once.
    saved = [...FIRST, user, message("a2", "assistant", "Once upon a time", { parent_id: "u2", status: "interrupted" })];
    reload.settle();
    await waitFor(() => expect(document.querySelector('[data-message-id="a2"]')).not.toBeNull());
    expect(screen.getAllByText("Tell me a long story")).toHaveLength(1);
    expect(screen.getByText("Shorter, please")).toBeInTheDocument();
  });

  it("a failed reload leaves the conversation on screen, with a way to try again", async () => {
    const stream = sseStream();
    let down = false;
    let saved = FIRST;
    serve({
      post: (req) => stream.response(req.signal),
      routes: {
        "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () =>
          down ? apiError(503, "unavailable", "The server is restarting.") : json(200, { items: saved, next_cursor: null }),
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Draft a reply{Enter}");
    const user = message("u2", "user", "Draft a reply", { parent_id: "a1" });
    act(() => stream.send("message", { ...user, assistant_message_id: "a2" }));
    down = true;
    const reply = message("a2", "assistant", "Dear customer,", { parent_id: "u2" });
    act(() => {
      stream.send("done", reply);
      stream.close();
    });

    expect(await screen.findByText("Couldn't load the latest messages")).toBeInTheDocument();
    expect(screen.getByText("Hello! How can I help?")).toBeInTheDocument();
    // The exchange just written stays: the reload that failed does not take it away.
    expect(screen.getByText("Draft a reply")).toBeInTheDocument();
    expect(document.querySelector('li[data-message-id="a2"]')).toHaveTextContent("Dear customer,");
    expect(composer()).toBeInTheDocument();
    down = false;
    saved = [...FIRST, user, reply];
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(screen.queryByText("Couldn't load the latest messages")).not.toBeInTheDocument());
    await waitFor(() => expect(document.querySelectorAll('li[data-message-id="a2"]')).toHaveLength(1));
    expect(screen.getAllByText("Draft a reply")).toHaveLength(1);
  });

  it("Use large model is for the next message only", async () => {
    const stream = sseStream();
    const { calls } = serve({ models: [...MODELS, LARGE], post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    const toggle = await screen.findByRole("button", { name: "Use large model" });
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-pressed", "true");
    await userEvent.type(composer(), "Think hard{Enter}");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ content: "Think hard", escalate: true });
    expect(screen.getByRole("button", { name: "Use large model" })).toHaveAttribute("aria-pressed", "false");
  });
});

describe("ChatView: regenerating", () => {
  it("regenerates an answer with another model, as a new version", async () => {
    const stream = sseStream();
    const { calls } = serve({
      models: [...MODELS, LARGE],
      routes: { "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/regenerate": (req) => stream.response(req.signal) },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Regenerate with another model" }));
    const menu = await screen.findByRole("menu");
    expect(within(menu).getByRole("menuitem", { name: /fake-small/ })).toHaveTextContent("this answer's");
    await userEvent.click(within(menu).getByRole("menuitem", { name: /fake-large/ }));
    await waitFor(() => expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages/a1/regenerate"))).toBe(true));
    expect(calls.find((c) => c.path.endsWith("/regenerate"))?.body).toEqual({ model: "fake-large" });
  });

  it("a refused regeneration leaves the answer it would have replaced on screen, with the reason under it", async () => {
    serve({
      routes: {
        "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/regenerate": () =>
          apiError(429, "rate_limited", "Too many requests; try again in a minute."),
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Regenerate answer" }));
    await waitFor(() => expect(document.querySelector("[data-turn-failure]")).not.toBeNull());
    expect(screen.getByText("Hello! How can I help?")).toBeInTheDocument();
    const box = document.querySelector("[data-turn-failure]") as HTMLElement;
    await userEvent.click(within(box).getByRole("button", { name: "Dismiss" }));
    expect(document.querySelector("[data-turn-failure]")).toBeNull();
    expect(screen.getByText("Hello! How can I help?")).toBeInTheDocument();
  });

  it("offers no choice of model when the workspace has one", async () => {
    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    expect(screen.getByRole("button", { name: "Regenerate answer" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Regenerate with another model" })).not.toBeInTheDocument();
  });
});

describe("ChatView: focus", () => {
  it("switching versions keeps the focus on the switcher, though its message is another", async () => {
    const versions = { sibling_ids: ["a1", "a2"], parent_id: "u1" };
    let shown = message("a2", "assistant", "Second try", versions);
    serve({
      messages: () => [FIRST[0], shown],
      routes: {
        "PATCH /api/v1/workspaces/:ws/conversations/:cid": (_req, body) => {
          shown = message("a1", "assistant", "First try", versions);
          return json(200, { ...conversation(), ...(body as object) });
        },
      },
    });
    show();
    const group = await screen.findByRole("group", { name: "Answer version 2 of 2" });
    await userEvent.click(within(group).getByRole("button", { name: "Previous version" }));
    const first = await screen.findByRole("group", { name: "Answer version 1 of 2" });
    // Version 1 has no previous one: the focus goes to its other button.
    await waitFor(() => expect(within(first).getByRole("button", { name: "Next version" })).toHaveFocus());
  });

  it("hiding the details panel gives the focus to the header's toggle", async () => {
    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    const panel = screen.getByRole("complementary", { name: "Conversation details" });
    await userEvent.click(within(panel).getByRole("button", { name: "Hide details" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Show details" })).toHaveFocus());
  });
});

describe("ChatView: editing and drafts", () => {
  it("Enter in an edit box while another answer is written keeps the edit open", async () => {
    const stream = sseStream();
    serve({ post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Edit and resend" }));
    const box = screen.getByRole("textbox", { name: "Edit your message" });
    await userEvent.type(composer(), "Something else{Enter}");
    await screen.findByRole("button", { name: "Stop generating" });
    await userEvent.type(box, " there{Enter}");
    expect(screen.getByRole("textbox", { name: "Edit your message" })).toHaveValue("Hi there");
  });

  it("a refused edit goes back into its message's edit box, not the composer", async () => {
    const { calls } = serve({
      routes: {
        "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/edit": () =>
          apiError(429, "ai_quota_exceeded", "This workspace's monthly AI token quota is used up.", { resets_at: "2026-02-01T00:00:00Z" }),
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Edit and resend" }));
    const box = screen.getByRole("textbox", { name: "Edit your message" });
    await userEvent.clear(box);
    await userEvent.type(box, "Hello again{Enter}");
    expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages/u1/edit"))).toBe(true);
    // The branch stays as it was, with the edit back in its box and the reason under it.
    const reason = await screen.findByText(/Not sent: AI quota used up/);
    const reopened = screen.getByRole("textbox", { name: "Edit your message" });
    expect(reopened).toHaveValue("Hello again");
    expect(reopened).toHaveAccessibleDescription(/AI quota used up/);
    expect(reason.closest("[data-turn-failure]")).toBeNull();
    expect(screen.getByText("Hello! How can I help?")).toBeInTheDocument();
    expect(composer()).toHaveValue("");
    // Cancel leaves the message as it was, with nothing left of the refusal.
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("textbox", { name: "Edit your message" })).toBeNull();
    expect(screen.queryByText(/Not sent:/)).toBeNull();
    expect(screen.getByText("Hi")).toBeInTheDocument();
  });

  it("a refusal that comes while the person types elsewhere opens the edit box without taking the focus", async () => {
    const refused = later<Response>();
    serve({ routes: { "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/edit": () => refused.promise } });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Edit and resend" }));
    await userEvent.type(screen.getByRole("textbox", { name: "Edit your message" }), " again{Enter}");
    await waitFor(() => expect(composer()).toHaveFocus());
    await userEvent.type(composer(), "Next thought");
    refused.settle(apiError(503, "ai_unavailable", "Every provider failed; try again."));
    await screen.findByText(/^Not sent:/);
    expect(screen.getByRole("textbox", { name: "Edit your message" })).toHaveValue("Hi again");
    await new Promise((r) => requestAnimationFrame(r));
    expect(composer()).toHaveFocus();
    expect(composer()).toHaveValue("Next thought");
  });

  it("a refused edit is sent again from its edit box", async () => {
    let refusals = 1;
    const stream = sseStream();
    const { calls } = serve({
      routes: {
        "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/edit": (req: Request) =>
          refusals-- > 0 ? apiError(503, "ai_unavailable", "Every provider failed; try again.") : stream.response(req.signal),
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Edit and resend" }));
    await userEvent.type(screen.getByRole("textbox", { name: "Edit your message" }), " again{Enter}");
    await screen.findByText(/^Not sent:/);
    const box = screen.getByRole("textbox", { name: "Edit your message" });
    expect(box).toHaveValue("Hi again");
    await userEvent.type(box, "{Enter}");
    await waitFor(() => expect(calls.filter((c) => c.path.endsWith("/messages/u1/edit"))).toHaveLength(2));
    expect(screen.queryByText(/^Not sent:/)).toBeNull();
    expect(screen.queryByRole("textbox", { name: "Edit your message" })).toBeNull();
  });

  it("Cancel in an edit box gives the focus back to its Edit button", async () => {
    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.click(screen.getByRole("button", { name: "Edit and resend" }));
    await userEvent.keyboard("{Escape}");
    await waitFor(() => expect(screen.getByRole("button", { name: "Edit and resend" })).toHaveFocus());
  });

  it("an unsent message stays in its conversation's composer after leaving and coming back", async () => {
    serve();
    const first = show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(composer(), "Half a thought");
    first.unmount();

    serve();
    show();
    await screen.findByText("Hello! How can I help?");
    expect(composer()).toHaveValue("Half a thought");
    await userEvent.clear(composer());
    expect(sessionStorage.length).toBe(0);
  });
});

describe("ChatView: opened at a search's match", () => {
  // Message ids are UUIDs: the link's id goes into a selector, so only a UUID is taken.
  const Q = "01900000-0000-7000-8000-0000000000b1";
  const A = "01900000-0000-7000-8000-0000000000b2";
  const NEWER = "01900000-0000-7000-8000-0000000000b3";
  const shown = [
    message(Q, "user", "Where should we go?"),
    message(A, "assistant", "Visit the Alhambra in Granada.", { parent_id: Q }),
    message("u2", "user", "And after?", { parent_id: A }),
    message("a2", "assistant", "Seville.", { parent_id: "u2" }),
  ];
  let scrolledTo: string[] = [];
  beforeEach(() => {
    scrolledTo = [];
    // jsdom lays nothing out: record what was brought into view.
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolledTo.push(this.getAttribute("data-message-id") ?? "");
    };
  });
  afterEach(() => {
    delete (Element.prototype as Partial<Element>).scrollIntoView;
  });
  const item = (id: string) => document.querySelector(`li[data-message-id="${id}"]`) as HTMLElement;

  it("brings the message that matched into view, outlined, instead of the latest", async () => {
    serve({ messages: () => shown, conv: conversation({ head_message_id: "a2" }) });
    show("owner", CID, `?m=${A}&q=alhambra`);
    await screen.findByText("Seville.");
    await waitFor(() => expect(item(A)).toHaveAttribute("data-search-target"));
    expect(scrolledTo).toContain(A);
    expect(item("a2")).not.toHaveAttribute("data-search-target");
    expect(screen.queryByText(/another version/)).toBeNull();
  });

  it("a match in another version is offered, and shown by switching to it", async () => {
    let head = "a2";
    const newer = [
      message(Q, "user", "Where should we go?"),
      message(NEWER, "assistant", "Try Lisbon.", { parent_id: Q, sibling_ids: [A, NEWER] }),
    ];
    const older = [message(Q, "user", "Where should we go?"), message(A, "assistant", "Visit the Alhambra in Granada.", { parent_id: Q, sibling_ids: [A, NEWER] })];
    const { calls } = serve({
      messages: () => (head === A ? older : newer),
      routes: {
        "PATCH /api/v1/workspaces/:ws/conversations/:cid": (_req, body) => {
          head = (body as { active_message_id: string }).active_message_id;
          return json(200, conversation({ head_message_id: head }));
        },
      },
    });
    show("owner", CID, `?m=${A}&q=alhambra`);
    await screen.findByText("Try Lisbon.");
    expect(await screen.findByText("The match is in another version of this conversation")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Show that version" }));

    await screen.findByText("Visit the Alhambra in Granada.");
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ active_message_id: A });
    await waitFor(() => expect(item(A)).toHaveAttribute("data-search-target"));
    // The notice went with the focus its button had: the message has it now.
    expect(item(A)).toHaveFocus();
    expect(screen.queryByText(/another version/)).toBeNull();
  });

  it("a reader is told the match is elsewhere, without a switch they may not use", async () => {
    serve({ messages: () => FIRST, conv: conversation({ visibility: "workspace", can_write: false }) });
    show("viewer", CID, `?m=${A}`);
    await screen.findByText("The match is in another version of this conversation");
    expect(screen.queryByRole("button", { name: "Show that version" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByText(/another version/)).toBeNull();
  });
});

describe("ChatView: sharing while an answer is written", () => {
  it("the share switch waits for the answer to end", async () => {
    const stream = sseStream();
    serve({ post: (req) => stream.response(req.signal), conv: conversation({ created_by: me("owner").user.id }) });
    show();
    await screen.findByText("Hello! How can I help?");
    const share = screen.getByRole("switch", { name: "Share with the workspace" });
    expect(share).toBeEnabled();
    await userEvent.type(composer(), "Tell me a story{Enter}");
    await waitFor(() => expect(share).toBeDisabled());
    expect(screen.getByText(/You can share it once the answer ends/)).toBeInTheDocument();
    // Nor is a public link made of an answer half written.
    expect(screen.getByRole("button", { name: "Create public link" })).toBeDisabled();

    act(() => {
      stream.send("message", { ...message("u2", "user", "Tell me a story", { parent_id: "a1" }), assistant_message_id: "a2" });
      stream.send("done", message("a2", "assistant", "Once upon a time.", { parent_id: "u2" }));
      stream.close();
    });
    await waitFor(() => expect(share).toBeEnabled());
  });
});
