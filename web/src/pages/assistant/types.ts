/**
 * The assistant's messages as the app uses them. The OpenAPI document types `tool_calls` and
 * `error` as free-form objects; here they get the shapes the server writes.
 */
import type { Rating, Schemas } from "@/api/client";
import type { AttachmentView } from "./attachments";

export type MessageRole = "user" | "assistant";
export type MessageStatus = "complete" | "streaming" | "interrupted" | "error";

export interface ToolCallView {
  id: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
  /** Absent while the tool runs. */
  result?: unknown;
  done: boolean;
}

export interface MessageError {
  code: string;
  message: string;
}

/** The reader's own rating of an answer. */
export interface Feedback {
  rating: Rating;
  comment: string | null;
}

export interface ChatMessage {
  id: string;
  parentId: string | null;
  role: MessageRole;
  content: string;
  /** What a reasoning model thought before answering; empty for other models. */
  reasoning: string;
  status: MessageStatus;
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt tokens, those the provider read from its prompt cache. */
  cachedPromptTokens: number;
  latencyMs: number | null;
  ttftMs: number | null;
  cached: boolean;
  toolCalls: ToolCallView[];
  error: MessageError | null;
  siblingIds: string[];
  /** A question's images and text files, in order. */
  attachments: AttachmentView[];
  /** The reader's rating of this answer, if they gave one. */
  feedback: Feedback | null;
  createdAt: string;
  /** Not saved yet: shown at once while the request is on its way. */
  optimistic?: boolean;
}

/** The API's attachments (absent from older servers' answers and from events that omit them). */
export function toAttachments(raw: readonly Schemas["AttachmentMeta"][] | undefined): AttachmentView[] {
  return (raw ?? []).map((a) => ({ name: a.name, mediaType: a.media_type, size: a.size }));
}

function str(v: unknown, fallback = ""): string {
  return typeof v === "string" ? v : fallback;
}

export function toToolCall(raw: unknown): ToolCallView | null {
  if (!raw || typeof raw !== "object") return null;
  const o = raw as Record<string, unknown>;
  const args = typeof o.arguments === "string" ? o.arguments : JSON.stringify(o.arguments ?? {});
  return { id: str(o.id), name: str(o.name, "tool"), arguments: args, result: o.result, done: "result" in o };
}

export function toError(raw: unknown): MessageError | null {
  if (!raw || typeof raw !== "object") return null;
  const o = raw as Record<string, unknown>;
  return { code: str(o.code, "error"), message: str(o.message, "The answer failed.") };
}

const STATUSES: readonly MessageStatus[] = ["complete", "streaming", "interrupted", "error"];

/**
 * A message known only by its words (a turn's before the server answers, a shared
 * conversation's): no usage, tools, rating or other versions.
 */
export function plainMessage(id: string, role: MessageRole, content: string, over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    parentId: null,
    role,
    content,
    reasoning: "",
    status: "complete",
    model: null,
    promptTokens: 0,
    completionTokens: 0,
    cachedPromptTokens: 0,
    latencyMs: null,
    ttftMs: null,
    cached: false,
    toolCalls: [],
    error: null,
    siblingIds: [id],
    attachments: [],
    feedback: null,
    createdAt: new Date().toISOString(),
    ...over,
  };
}

export function toChatMessage(m: Schemas["MessageView"]): ChatMessage {
  const status = STATUSES.includes(m.status as MessageStatus) ? (m.status as MessageStatus) : "complete";
  return {
    id: m.id,
    parentId: m.parent_id ?? null,
    role: m.role === "user" ? "user" : "assistant",
    content: m.content,
    reasoning: m.reasoning ?? "",
    status,
    model: m.model ?? null,
    promptTokens: m.prompt_tokens,
    completionTokens: m.completion_tokens,
    cachedPromptTokens: m.cached_prompt_tokens ?? 0,
    latencyMs: m.latency_ms ?? null,
    ttftMs: m.ttft_ms ?? null,
    cached: m.cached,
    toolCalls: Array.isArray(m.tool_calls)
      ? (m.tool_calls as unknown[]).map(toToolCall).filter((t): t is ToolCallView => t !== null)
      : [],
    error: toError(m.error),
    siblingIds: m.sibling_ids.length > 0 ? m.sibling_ids : [m.id],
    attachments: toAttachments(m.attachments),
    feedback: m.feedback ? { rating: m.feedback.rating, comment: m.feedback.comment ?? null } : null,
    createdAt: m.created_at,
  };
}

/** The error code the server saves when the reader of a stream went away: a person's "Stop". */
export const STOPPED_CODE = "client_disconnected";
