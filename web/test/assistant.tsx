/**
 * What the assistant page's tests share: conversations and messages as the server sends
 * them, a mocked API, an SSE answer the test writes event by event, and the page itself.
 */
import { screen } from "@testing-library/react";
import { afterEach, beforeEach, vi } from "vitest";
import { Route } from "wouter";
import type { Role } from "@/api/client";
import { AssistantPage } from "@/pages/assistant/AssistantPage";
import type { Prompt } from "@/pages/assistant/prompts";
import { resetTurns } from "@/pages/assistant/turns";
import { apiError, json, mockApi } from "./api-mock";
import { me, WS_ID } from "./fixtures";
import { renderApp } from "./render";

export const CID = "01900000-0000-7000-8000-0000000000c1";
export const NOW = "2026-01-01T00:00:00Z";

export function conversation(over: Record<string, unknown> = {}) {
  return {
    id: CID,
    title: "Trip plans",
    model: "fake-small",
    system_prompt: "",
    visibility: "private",
    pinned: false,
    archived: false,
    created_by: "u1",
    message_count: 2,
    tokens_used: 40,
    head_message_id: "a1",
    can_write: true,
    created_at: NOW,
    updated_at: NOW,
    ...over,
  };
}

export function message(id: string, role: "user" | "assistant", content: string, over: Record<string, unknown> = {}) {
  return {
    id,
    conversation_id: CID,
    parent_id: null,
    role,
    content,
    status: "complete",
    model: role === "assistant" ? "fake-small" : null,
    provider_id: null,
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_prompt_tokens: 0,
    latency_ms: null,
    ttft_ms: null,
    cached: false,
    tool_calls: null,
    error: null,
    created_by: null,
    sibling_ids: [id],
    created_at: NOW,
    updated_at: NOW,
    ...over,
  };
}

/** A saved prompt as the server sends it. */
export function savedPrompt(id: string, title: string, content: string, over: Record<string, unknown> = {}): Prompt {
  return { id, title, content, visibility: "private", created_by: me().user.id, can_write: true, created_at: NOW, updated_at: NOW, ...over } as Prompt;
}

export const PROMPTS = [
  savedPrompt("p1", "Review a change", "Review this change:\n1. Is it right?"),
  savedPrompt("p2", "Translate to French", "Translate into French:", { visibility: "workspace", created_by: "u9", can_write: false }),
];

export const FIRST = [message("u1", "user", "Hi"), message("a1", "assistant", "Hello! How can I help?", { parent_id: "u1" })];
export const MODELS = [{ id: "fake-small", provider_id: "p1", provider_name: "Fake", is_default: true, is_small: true, is_large: false }];

/** An SSE response the test writes to, event by event. */
export function sseStream() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
  return {
    response: (signal: AbortSignal) => {
      signal.addEventListener("abort", () => ctrl.error(new DOMException("The user aborted a request.", "AbortError")));
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
    },
    send: (event: string, data: unknown) => ctrl.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)),
    raw: (text: string) => ctrl.enqueue(enc.encode(text)),
    fail: () => ctrl.error(new TypeError("Failed to fetch")),
    close: () => ctrl.close(),
  };
}

/** A large model besides the default one (escalation, regenerating with another). */
export const LARGE = { id: "fake-large", provider_id: "p1", provider_name: "Fake", is_default: false, is_small: false, is_large: true };

export function serve({
  messages = () => FIRST,
  post,
  conv = conversation(),
  models = MODELS,
  prompts = () => PROMPTS,
  routes = {},
}: {
  messages?: () => unknown[];
  post?: (req: Request) => Response | Promise<Response>;
  conv?: Record<string, unknown>;
  models?: unknown[];
  /** The saved prompts listed. */
  prompts?: () => unknown[];
  /** More routes, or others in the place of these. */
  routes?: Parameters<typeof mockApi>[0];
} = {}) {
  return mockApi({
    "GET /api/v1/workspaces/:ws/conversations": () => json(200, { items: [conv], next_cursor: null }),
    "GET /api/v1/workspaces/:ws/conversations/:cid": () => json(200, conv),
    "PATCH /api/v1/workspaces/:ws/conversations/:cid": (_req, body) => json(200, { ...conv, ...(body as object) }),
    "GET /api/v1/workspaces/:ws/conversations/:cid/messages": () => json(200, { items: messages(), next_cursor: null }),
    "POST /api/v1/workspaces/:ws/conversations/:cid/messages": (req) => (post ? post(req) : apiError(500, "no")),
    "POST /api/v1/workspaces/:ws/conversations/:cid/messages/:mid/stop": () => json(204, null),
    "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: models, next_cursor: null }),
    "GET /api/v1/workspaces/:ws/ai/prompts": () => json(200, { items: prompts(), next_cursor: null }),
    "GET /api/v1/workspaces/:ws/conversations/:cid/share-link": () => json(200, { link: null, allowed: true }),
    "GET /api/v1/workspaces/:ws/ai/share-links": () => json(200, { items: [], next_cursor: null }),
    ...routes,
  });
}

/** The assistant page as `role`, at conversation `id` (none: a new chat), with `search` (`?m=…`). */
export function show(role: Role = "owner", id: string | null = CID, search = "") {
  return renderApp(<Route path="/w/:workspaceId/assistant/:conversationId?" component={AssistantPage} />, {
    me: me(role),
    path: `/w/${WS_ID}/assistant${id ? `/${id}` : ""}${search}`,
  });
}

export const answer = () => screen.getAllByRole("listitem").filter((li) => li.getAttribute("data-role") === "assistant").at(-1)!;

/** Each test starts with no turn in flight, in a desktop window (the list beside the chat). */
export function setUpAssistantTests() {
  beforeEach(() => {
    resetTurns();
    // A desktop window: the conversation list sits beside the chat.
    vi.stubGlobal("matchMedia", (query: string) => ({
      matches: /min-width/.test(query),
      media: query,
      addEventListener: () => {},
      removeEventListener: () => {},
    }));
  });
  afterEach(() => {
    resetTurns();
    vi.unstubAllGlobals();
  });
}
