/**
 * One assistant turn (send, regenerate, edit) as a POST whose answer streams back as SSE:
 * `message` (the saved user message), `reasoning` (a reasoning model's thoughts, before its
 * answer), `delta`, `tool_call`, `tool_result`, then `done` or
 * `error`. Errors before the stream starts are the usual JSON envelopes and throw ApiError.
 */
import { apiFetch, apiHref, type Schemas } from "@/api/client";
import { isApiError, networkError, toApiError } from "@/api/errors";
import { readSse, type SseEvent } from "./sse";
import { type ChatMessage, type MessageError, type ToolCallView, toChatMessage, toError } from "./types";

export type TurnEvent =
  | { type: "message"; message: ChatMessage; answerId: string | null }
  | { type: "delta"; text: string }
  | { type: "reasoning"; text: string }
  | { type: "tool_call"; call: ToolCallView }
  | { type: "tool_result"; id: string; name: string; result: unknown }
  | { type: "done"; message: ChatMessage }
  | { type: "error"; error: MessageError; assistant: ChatMessage | null };

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

function isMessageView(v: unknown): v is Schemas["MessageView"] {
  return !!v && typeof v === "object" && typeof (v as { id?: unknown }).id === "string" && Array.isArray((v as { sibling_ids?: unknown }).sibling_ids);
}

/** An SSE event of the turn protocol, typed; null for anything unknown or malformed. */
export function parseTurnEvent(e: SseEvent): TurnEvent | null {
  const data = parseJson(e.data) as Record<string, unknown> | null;
  if (!data || typeof data !== "object") return null;
  switch (e.event) {
    case "message": {
      const answerId = data.assistant_message_id;
      return isMessageView(data)
        ? { type: "message", message: toChatMessage(data), answerId: typeof answerId === "string" ? answerId : null }
        : null;
    }
    case "delta":
      return typeof data.text === "string" ? { type: "delta", text: data.text } : null;
    case "reasoning":
      return typeof data.text === "string" ? { type: "reasoning", text: data.text } : null;
    case "tool_call":
      return {
        type: "tool_call",
        call: {
          id: String(data.id ?? ""),
          name: String(data.name ?? "tool"),
          arguments: typeof data.arguments === "string" ? data.arguments : JSON.stringify(data.arguments ?? {}),
          done: false,
        },
      };
    case "tool_result":
      return { type: "tool_result", id: String(data.id ?? ""), name: String(data.name ?? "tool"), result: data.result };
    case "done":
      return isMessageView(data) ? { type: "done", message: toChatMessage(data) } : null;
    case "error":
      return {
        type: "error",
        error: toError(data) ?? { code: "error", message: "The answer failed." },
        assistant: isMessageView(data.assistant_message) ? toChatMessage(data.assistant_message) : null,
      };
    default:
      return null;
  }
}

export interface TurnRequest {
  /** Path under /api/v1, e.g. `/workspaces/…/conversations/…/messages`. */
  path: string;
  body: Record<string, unknown>;
  signal: AbortSignal;
  onEvent: (event: TurnEvent) => void;
}

/**
 * Run a turn. Resolves when the stream ends (after `done` or `error`, or when the server
 * closes it); rejects with an ApiError for a refused request or a network failure, and with
 * the AbortError when `signal` aborts.
 */
export async function streamTurn({ path, body, signal, onEvent }: TurnRequest): Promise<void> {
  const request = new Request(apiHref(path), {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "text/event-stream", "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  let response: Response;
  try {
    response = await apiFetch(request);
  } catch (err) {
    if (signal.aborted) throw err;
    throw isApiError(err) ? err : networkError(err);
  }
  if (!response.ok) {
    let parsed: unknown = null;
    try {
      parsed = await response.json();
    } catch {
      // Not JSON: the status says enough.
    }
    throw toApiError(response, parsed);
  }
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("text/event-stream") || !response.body) {
    // A server (or proxy) that answered in one piece: the same outcome, without the stream.
    const result = (await response.json()) as Schemas["TurnResult"];
    onEvent({ type: "message", message: toChatMessage(result.user_message), answerId: result.assistant_message.id });
    onEvent({ type: "done", message: toChatMessage(result.assistant_message) });
    return;
  }
  try {
    await readSse(response.body, (e) => {
      const ev = parseTurnEvent(e);
      if (ev) onEvent(ev);
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw networkError(err);
  }
}
