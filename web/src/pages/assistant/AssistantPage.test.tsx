import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json, mockApi } from "../../../test/api-mock";
import { answer, CID, conversation, FIRST, MODELS, message, serve, setUpAssistantTests, show, sseStream } from "../../../test/assistant";
import { WS_ID } from "../../../test/fixtures";

setUpAssistantTests();

describe("AssistantPage: chatting", () => {
  it("shows the person's message at once, streams the answer in, then shows the saved one", async () => {
    const stream = sseStream();
    let saved = FIRST;
    const { calls } = serve({ messages: () => saved, post: (req) => stream.response(req.signal) });
    show();
    expect(await screen.findByText("Hello! How can I help?")).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1, name: "Trip plans" })).toBeInTheDocument();

    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Where to go?{Enter}");
    // Optimistic: there before the server says anything.
    expect(screen.getByText("Where to go?")).toBeInTheDocument();
    expect(await screen.findByText("Thinking…")).toBeInTheDocument();
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ content: "Where to go?" });
    expect(post.headers.get("accept")).toBe("text/event-stream");
    expect(post.headers.get("x-csrf-token")).toBe(null); // no session token in this test

    const user = message("u2", "user", "Where to go?", { parent_id: "a1" });
    act(() => {
      stream.send("message", user);
      stream.raw(": keep-alive\n\n");
      stream.send("delta", { text: "Try " });
    });
    await waitFor(() => expect(answer()).toHaveTextContent("Try"));
    act(() => stream.send("delta", { text: "**Lisbon**." }));
    await waitFor(() => expect(answer().querySelector("strong")?.textContent).toBe("Lisbon"));
    expect(screen.getByRole("button", { name: "Stop generating" })).toBeInTheDocument();

    const done = message("a2", "assistant", "Try **Lisbon**.", { parent_id: "u2", prompt_tokens: 10, completion_tokens: 3, cached_prompt_tokens: 4 });
    saved = [...FIRST, user, done];
    act(() => {
      stream.send("done", done);
      stream.close();
    });
    await waitFor(() => expect(screen.queryByRole("button", { name: "Stop generating" })).not.toBeInTheDocument());
    await waitFor(() => expect(answer()).toHaveAttribute("data-message-id", "a2"));
    // The saved list replaced the live turn: each message once.
    expect(screen.getAllByText("Where to go?")).toHaveLength(1);
    expect(answer().querySelector("[data-stats]")).toHaveTextContent("fake-small · 13 tokens (4 from prompt cache)");
  });

  it("shows a reasoning model's thoughts while it thinks, then folds them away under the answer's start", async () => {
    const stream = sseStream();
    let saved = FIRST;
    serve({ messages: () => saved, post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "What is 2+2?{Enter}");
    const user = message("u2", "user", "What is 2+2?", { parent_id: "a1" });
    act(() => {
      stream.send("message", user);
      stream.send("reasoning", { text: "Two and two " });
      stream.send("reasoning", { text: "make four." });
    });
    await waitFor(() => expect(answer()).toHaveTextContent("Two and two make four."));
    const thoughts = () => answer().querySelector("details[data-reasoning]")!;
    expect(thoughts()).toHaveAttribute("open");
    expect(within(answer()).getByText("Thinking…")).toBeInTheDocument();

    act(() => stream.send("delta", { text: "It is 4." }));
    await waitFor(() => expect(answer()).toHaveTextContent("It is 4."));
    expect(thoughts()).not.toHaveAttribute("open");
    expect(within(answer()).getByText("Thought process")).toBeInTheDocument();

    const done = message("a2", "assistant", "It is 4.", { parent_id: "u2", reasoning: "Two and two make four." });
    saved = [...FIRST, user, done];
    act(() => {
      stream.send("done", done);
      stream.close();
    });
    await waitFor(() => expect(answer()).toHaveAttribute("data-message-id", "a2"));
    expect(thoughts()).toHaveTextContent("Two and two make four.");
    // A reader can open them again.
    await userEvent.click(within(answer()).getByText("Thought process"));
    expect(thoughts()).toHaveAttribute("open");
  });

  it("thoughts opened while the answer streams stay open when the saved answer takes its place", async () => {
    const stream = sseStream();
    let saved = FIRST;
    serve({ messages: () => saved, post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "What is 2+2?{Enter}");
    const user = message("u2", "user", "What is 2+2?", { parent_id: "a1" });
    act(() => {
      stream.send("message", { ...user, assistant_message_id: "a2" });
      stream.send("reasoning", { text: "Two and two make four." });
      stream.send("delta", { text: "It is" });
    });
    await waitFor(() => expect(answer()).toHaveTextContent("It is"));
    const live = answer();
    await userEvent.click(within(live).getByText("Thought process"));
    const done = message("a2", "assistant", "It is 4.", { parent_id: "u2", reasoning: "Two and two make four." });
    saved = [...FIRST, user, done];
    act(() => {
      stream.send("done", done);
      stream.close();
    });
    await waitFor(() => expect(answer()).not.toHaveAttribute("data-live"));
    expect(answer()).toBe(live);
    expect(answer().querySelector("details[data-reasoning]")).toHaveAttribute("open");
  });

  it("Stop aborts the stream and shows the saved partial answer as interrupted", async () => {
    const stream = sseStream();
    let saved = FIRST;
    let aborted = false;
    const { calls } = serve({
      messages: () => saved,
      post: (req) => {
        req.signal.addEventListener("abort", () => (aborted = true));
        return stream.response(req.signal);
      },
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Tell me a long story{Enter}");
    const user = message("u2", "user", "Tell me a long story", { parent_id: "a1" });
    act(() => {
      stream.send("message", { ...user, assistant_message_id: "a2" });
      stream.send("delta", { text: "Once upon a time" });
    });
    await waitFor(() => expect(answer()).toHaveTextContent("Once upon a time"));
    saved = [
      ...FIRST,
      user,
      message("a2", "assistant", "Once upon a time", {
        parent_id: "u2",
        status: "interrupted",
        error: { code: "client_disconnected", message: "The client went away; what was answered so far is saved." },
      }),
    ];
    await userEvent.click(screen.getByRole("button", { name: "Stop generating" }));
    expect(aborted).toBe(true);
    // Said in so many words too, for a server that finishes answers in the background.
    expect(calls.some((c) => c.method === "POST" && c.path.endsWith("/messages/a2/stop"))).toBe(true);
    await waitFor(() => expect(answer()).toHaveAttribute("data-message-id", "a2"));
    expect(within(answer()).getByText("Interrupted")).toBeInTheDocument();
    expect(within(answer()).getByText("Stopped before the answer was complete.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Send message" })).toBeInTheDocument();
  });

  it("a connection lost mid-answer shows what the server saved, not a dead end", async () => {
    const stream = sseStream();
    let saved = FIRST;
    serve({ messages: () => saved, post: (req) => stream.response(req.signal) });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Tell me more{Enter}");
    const user = message("u2", "user", "Tell me more", { parent_id: "a1" });
    act(() => {
      stream.send("message", user);
      stream.send("delta", { text: "Well," });
    });
    await waitFor(() => expect(answer()).toHaveTextContent("Well,"));
    saved = [
      ...FIRST,
      user,
      message("a2", "assistant", "Well, you see", {
        parent_id: "u2",
        status: "interrupted",
        error: { code: "client_disconnected", message: "The client went away; what was answered so far is saved." },
      }),
    ];
    act(() => stream.fail());
    await waitFor(() => expect(answer()).toHaveAttribute("data-message-id", "a2"));
    expect(answer()).toHaveTextContent("Well, you see");
    expect(within(answer()).getByText("Interrupted")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Send message" })).toBeInTheDocument();
  });

  it("a refused message stays with the reason: quota used up, with when it resets", async () => {
    serve({
      post: () =>
        apiError(429, "ai_quota_exceeded", "This workspace's monthly AI token quota is used up.", { resets_at: "2026-02-01T00:00:00Z" }),
    });
    show();
    await screen.findByText("Hello! How can I help?");
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "One more{Enter}");
    const failure = await screen.findByText(/Not sent: AI quota used up/);
    const box = failure.closest("[data-turn-failure]") as HTMLElement;
    expect(within(box).getByText(/monthly AI token quota is used up\. It resets/)).toBeInTheDocument();
    expect(within(box).queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
    await userEvent.click(within(box).getByRole("button", { name: "Edit message" }));
    expect(screen.getByRole("textbox", { name: "Message" })).toHaveValue("One more");
    expect(screen.queryByText(/Not sent/)).not.toBeInTheDocument();
  });

  it("an answer that failed shows its error inline with Retry", async () => {
    serve({
      messages: () => [
        FIRST[0],
        message("a1", "assistant", "", {
          parent_id: "u1",
          status: "error",
          error: { code: "ai_provider_error", message: "No AI provider could answer: connection refused" },
        }),
      ],
    });
    show();
    expect(await screen.findByText("No AI provider could answer: connection refused")).toBeInTheDocument();
    expect(within(answer()).getByRole("button", { name: /Retry/ })).toBeInTheDocument();
  });
});

describe("AssistantPage: versions, tools, permissions, states", () => {
  it("switches to another version of an answer", async () => {
    const { calls } = serve({
      messages: () => [FIRST[0], message("a2", "assistant", "Second try", { parent_id: "u1", sibling_ids: ["a1", "a2"] })],
    });
    show();
    const group = await screen.findByRole("group", { name: "Answer version 2 of 2" });
    expect(within(group).getByRole("button", { name: "Next version" })).toBeDisabled();
    await userEvent.click(within(group).getByRole("button", { name: "Previous version" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PATCH" && (c.body as { active_message_id?: string }).active_message_id === "a1")).toBe(true));
  });

  it("shows tool calls as collapsible chips with their result", async () => {
    serve({
      messages: () => [
        FIRST[0],
        message("a1", "assistant", "There are 2 members.", {
          parent_id: "u1",
          tool_calls: [{ id: "call_1", name: "list_members", arguments: "{}", result: { members: [{ email: "a@example.com" }] } }],
        }),
      ],
    });
    show();
    const chip = await screen.findByText("Looked up the workspace's members");
    const details = chip.closest("details")!;
    expect(details.open).toBe(false);
    await userEvent.click(chip);
    expect(details.open).toBe(true);
    expect(within(details).getByText(/a@example\.com/)).toBeInTheDocument();
  });

  it("a viewer reads but cannot chat", async () => {
    serve({ conv: conversation({ can_write: false, visibility: "workspace" }) });
    show("viewer");
    await screen.findByText("Hello! How can I help?");
    expect(screen.queryByRole("textbox", { name: "Message" })).not.toBeInTheDocument();
    expect(screen.getByText(/Viewers can't chat/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /New chat/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Regenerate answer" })).not.toBeInTheDocument();
  });

  it("when the module is off, an owner can switch it on; a member is told to ask", async () => {
    const routes = {
      "GET /api/v1/workspaces/:ws/conversations": () => apiError(403, "module_disabled", "The assistant module is switched off."),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: [], next_cursor: null }),
      "PUT /api/v1/workspaces/:ws/modules/:module": () => json(200, { module: "assistant", enabled: true }),
    };
    const { calls } = mockApi(routes);
    const { unmount } = show("owner", null);
    expect(await screen.findByRole("heading", { name: "The assistant is switched off" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Switch on the assistant" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT" && c.path.endsWith("/modules/assistant"))).toBe(true));
    unmount();

    mockApi(routes);
    show("member", null);
    expect(await screen.findByText(/Ask one of them/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Switch on the assistant" })).not.toBeInTheDocument();
  });

  it("without a provider, an admin is sent to the AI settings", async () => {
    mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: [], next_cursor: null }),
    });
    show("admin", null);
    expect(await screen.findByText("No AI provider is set up yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Set up AI providers" })).toHaveAttribute("href", `/w/${WS_ID}/settings/ai`);
    expect(screen.queryByRole("textbox", { name: "Message" })).not.toBeInTheDocument();
  });

  it("a new chat is created on the first message and moves to its own address", async () => {
    const stream = sseStream();
    const created = conversation({ title: "", message_count: 0, head_message_id: null });
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations": () => json(201, created),
      "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, created),
      "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations/:cid/messages": (req) => stream.response(req.signal),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    const { location } = show("member", null);
    expect(await screen.findByRole("heading", { name: "What can I help with?" })).toBeInTheDocument();
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Hello{Enter}");
    expect(screen.getByText("Hello")).toBeInTheDocument();
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/w/${WS_ID}/assistant/${CID}`));
    expect(calls.find((c) => c.method === "POST" && c.path.endsWith("/conversations"))?.body).toEqual({ model: "fake-small" });
    act(() => stream.send("delta", { text: "Hi!" }));
    await waitFor(() => expect(answer()).toHaveTextContent("Hi!"));
    // The composer kept its place: the same view carries on under the new address.
    expect(screen.getByRole("textbox", { name: "Message" })).toHaveFocus();
  });

  it("words typed while a new chat is being made stay in its box, not the next new chat's", async () => {
    const created = conversation({ title: "", message_count: 0, head_message_id: null });
    let create!: () => void;
    const creating = new Promise<Response>((r) => (create = () => r(json(201, created))));
    mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations": () => creating,
      "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, created),
      "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations/:cid/messages": (req) => sseStream().response(req.signal),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    const { location } = show("member", null);
    await screen.findByRole("heading", { name: "What can I help with?" });
    const box = () => screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box(), "Hello{Enter}");
    await userEvent.type(box(), "and then");
    act(() => create());
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/w/${WS_ID}/assistant/${CID}`));
    expect(box()).toHaveValue("and then");
    await userEvent.click(screen.getByRole("button", { name: "New chat" }));
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/w/${WS_ID}/assistant`));
    expect(box()).toHaveValue("");
  });

  it("a conversation exported as JSON imports and opens", async () => {
    const imported = conversation({ id: "01900000-0000-7000-8000-0000000000d9", title: "Trip notes" });
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations/import": () => json(201, imported),
      "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, imported),
      "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => json(200, { items: FIRST, next_cursor: null }),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    const { location } = show("member", null);
    await screen.findByRole("heading", { name: "What can I help with?" });
    const file = { conversation: { title: "Trip notes" }, messages: [] };
    await userEvent.upload(screen.getByTestId("import-file"), new File([JSON.stringify(file)], "trip-notes.json", { type: "application/json" }));
    await waitFor(() => expect(location.history?.at(-1)).toBe(`/w/${WS_ID}/assistant/${imported.id}`));
    expect(calls.find((c) => c.method === "POST" && c.path.endsWith("/conversations/import"))?.body).toEqual(file);
    expect(await screen.findByText("Imported")).toBeInTheDocument();
  });

  it("a file that is not JSON is refused before anything is sent", async () => {
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    show("member", null);
    await screen.findByRole("heading", { name: "What can I help with?" });
    await userEvent.upload(screen.getByTestId("import-file"), new File(["# not json"], "notes.md", { type: "application/json" }));
    expect(await screen.findByText("notes.md isn't a conversation exported as JSON.")).toBeInTheDocument();
    expect(calls.some((c) => c.method === "POST")).toBe(false);
  });

  it("a new chat that can't start says why", async () => {
    mockApi({
      "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [], next_cursor: null }),
      "POST /api/v1/workspaces/:ws/conversations": () =>
        apiError(409, "ai_not_configured", "No AI provider is configured for this workspace."),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
    });
    show("admin", null);
    await screen.findByRole("heading", { name: "What can I help with?" });
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Hello{Enter}");
    expect(await screen.findByText("Not sent: AI isn't set up yet")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Set up AI providers" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });
});
