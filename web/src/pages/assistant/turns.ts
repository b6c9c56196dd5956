/**
 * Turns in flight, kept outside React: an answer keeps streaming (and is saved) when the
 * person opens another conversation or page, and shows again when they come back. A turn is
 * keyed by workspace and conversation ("new" until the first message creates one).
 *
 * While a turn runs, the saved branch is shown up to the turn's anchor (the message it hangs
 * under), then the turn's own user message and answer. When it ends, the saved messages are
 * refetched and the turn is dropped: the saved versions take its place.
 */
import type { QueryClient } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import type { ConversationView } from "@/api/client";
import { ApiError, describeError, isApiError } from "@/api/errors";
import { onSessionChange } from "@/api/session";
import { toastError } from "@/components/ui/toast";
import { assistantKeys, deleteConversation, fetchConversation, fetchMessages, stopAnswer } from "./api";
import { type AttachmentView, attachmentUrl, isImage, type OutgoingFile, toRequest, toView } from "./attachments";
import { streamTurn, type TurnEvent } from "./stream";
import { type ChatMessage, plainMessage } from "./types";

export type TurnKind = "send" | "regenerate" | "edit";

/**
 * sending: asked, nothing back yet · streaming: the answer is arriving · stopping: the person
 * pressed Stop · interrupted: stopped, waiting for the saved partial answer · failed: refused
 * before anything was saved (shown under the person's message) · error: the answer failed ·
 * done: answered, waiting for the saved messages.
 */
export type TurnPhase = "sending" | "streaming" | "stopping" | "interrupted" | "failed" | "error" | "done";

export interface TurnSpec {
  workspaceId: string;
  /** Null for a new chat: `create` makes the conversation first. */
  conversationId: string | null;
  kind: TurnKind;
  /** The last saved message shown above the turn (null: the turn starts the conversation). */
  anchorId: string | null;
  /**
   * What the chat showed when the turn started, shown above it until the saved messages
   * reach the anchor: a turn sent right after the last one ended (or was stopped) must not
   * hide that exchange while its saved version is still on its way.
   */
  shown?: readonly ChatMessage[];
  /** The person's message (send, edit), or the question answered again (regenerate). */
  content: string;
  /** Files sent with a new message (an edit keeps its message's, a regeneration its question's). */
  attachments?: readonly OutgoingFile[];
  /** The message edited (edit) or answered again (regenerate). */
  targetId?: string;
  escalate?: boolean;
  /** Answer with this model instead of the conversation's (regenerate with another). */
  model?: string;
  /**
   * Make the new chat. Not aborted when Stop gives up waiting for it: a chat that is made
   * after all is then deleted, not left behind empty.
   */
  create?: () => Promise<ConversationView>;
  /** Called once the new chat exists (to move to its URL). */
  onCreated?: (c: ConversationView) => void;
}

export interface LiveTurn {
  seq: number;
  spec: TurnSpec;
  conversationId: string | null;
  phase: TurnPhase;
  /** The person's message: optimistic until the server's `message` event. Null for a regeneration. */
  user: ChatMessage | null;
  assistant: ChatMessage;
  /** The answer's id on the server, from the `message` event: what Stop names. */
  answerId: string | null;
  /** Why the request was refused before streaming (an ApiError). */
  failure: unknown;
}

const NEW = "new";
const keyOf = (ws: string, cid: string | null) => `${ws}:${cid ?? NEW}`;

let turns = new Map<string, LiveTurn>();
const controllers = new Map<number, AbortController>();
const listeners = new Set<() => void>();
let seq = 0;
let emitTimer: ReturnType<typeof setTimeout> | null = null;

function emitNow() {
  if (emitTimer) {
    clearTimeout(emitTimer);
    emitTimer = null;
  }
  listeners.forEach((l) => l());
}

/** Deltas arrive every few milliseconds; repaint at most every 32 ms. */
function emitSoon() {
  if (emitTimer) return;
  emitTimer = setTimeout(emitNow, 32);
}

function put(key: string, turn: LiveTurn | null, soon = false) {
  const next = new Map(turns);
  if (turn) next.set(key, turn);
  else next.delete(key);
  turns = next;
  if (soon) emitSoon();
  else emitNow();
}

/** Replace the turn under `key` if it is still turn `n`. */
function update(key: string, n: number, change: (t: LiveTurn) => LiveTurn, soon = false): LiveTurn | null {
  const cur = turns.get(key);
  if (!cur || cur.seq !== n) return null;
  const next = change(cur);
  put(key, next, soon);
  return next;
}

function findKey(n: number): string | null {
  for (const [k, t] of turns) if (t.seq === n) return k;
  return null;
}

/** What the person's message shows of its files before the server has it. */
function optimisticFiles(spec: TurnSpec): AttachmentView[] {
  const edited = spec.kind === "edit" ? spec.shown?.find((m) => m.id === spec.targetId) : undefined;
  // An edit keeps the edited message's files: its pictures show from where they are saved.
  if (edited && spec.conversationId) {
    const cid = spec.conversationId;
    return edited.attachments.map((a, i) =>
      isImage(a.mediaType) && !a.preview ? { ...a, preview: attachmentUrl(spec.workspaceId, cid, edited.id, i) } : a,
    );
  }
  // A send, or a retried one (an edit of a message saved meanwhile): the files it sent.
  return (spec.attachments ?? []).map(toView);
}

function blankMessage(id: string, role: ChatMessage["role"], content: string): ChatMessage {
  return plainMessage(id, role, content, { status: role === "assistant" ? "streaming" : "complete", optimistic: true });
}

/** What the chat shows: the saved branch up to the turn's anchor, then the turn. */
export function displayMessages(saved: readonly ChatMessage[], live: LiveTurn | undefined | null): ChatMessage[] {
  // A refused regeneration or edit changed nothing: the branch it would have replaced stays
  // (the chat puts a refused edit back in its message's edit box, with the reason).
  if (!live || (live.phase === "failed" && live.spec.kind !== "send")) return [...saved];
  let base: ChatMessage[];
  if (live.spec.anchorId === null) base = [];
  else {
    const i = saved.findIndex((m) => m.id === live.spec.anchorId);
    if (i !== -1) base = saved.slice(0, i + 1);
    else {
      // Not saved yet (the turn started right after another ended): what was on screen, up
      // to the anchor (a regeneration's old answer is not shown beside the new one).
      const shown = live.spec.shown ?? saved;
      const j = shown.findIndex((m) => m.id === live.spec.anchorId);
      base = j !== -1 ? shown.slice(0, j + 1) : [...shown];
    }
  }
  const out = [...base];
  if (live.user && !out.some((m) => m.id === live.user!.id)) out.push(live.user);
  if (live.phase !== "failed" && !out.some((m) => m.id === live.assistant.id)) out.push(live.assistant);
  return out;
}

export function applyEvent(turn: LiveTurn, ev: TurnEvent): LiveTurn {
  switch (ev.type) {
    case "message":
      return {
        ...turn,
        phase: turn.phase === "sending" ? "streaming" : turn.phase,
        user: turn.spec.kind === "regenerate" ? null : ev.message,
        answerId: ev.answerId,
        // Known by its saved id from now on: when the saved answer takes its place, the
        // chat keeps the same element (a thought process opened, the focus inside).
        assistant: ev.answerId ? { ...turn.assistant, id: ev.answerId } : turn.assistant,
      };
    case "delta":
      return {
        ...turn,
        phase: turn.phase === "sending" ? "streaming" : turn.phase,
        assistant: { ...turn.assistant, content: turn.assistant.content + ev.text },
      };
    case "reasoning":
      return {
        ...turn,
        phase: turn.phase === "sending" ? "streaming" : turn.phase,
        assistant: { ...turn.assistant, reasoning: turn.assistant.reasoning + ev.text },
      };
    case "tool_call":
      return {
        ...turn,
        phase: turn.phase === "sending" ? "streaming" : turn.phase,
        assistant: { ...turn.assistant, toolCalls: [...turn.assistant.toolCalls, ev.call] },
      };
    case "tool_result":
      return {
        ...turn,
        assistant: {
          ...turn.assistant,
          toolCalls: turn.assistant.toolCalls.map((c) => (c.id === ev.id ? { ...c, result: ev.result, done: true } : c)),
        },
      };
    case "done":
      return { ...turn, phase: "done", assistant: ev.message };
    case "error":
      return {
        ...turn,
        phase: "error",
        assistant: ev.assistant
          ? { ...ev.assistant, error: ev.assistant.error ?? ev.error }
          : { ...turn.assistant, status: "error", error: ev.error },
      };
  }
}

function turnPath(spec: TurnSpec, cid: string): string {
  const base = `/workspaces/${spec.workspaceId}/conversations/${cid}/messages`;
  if (spec.kind === "regenerate") return `${base}/${spec.targetId}/regenerate`;
  if (spec.kind === "edit") return `${base}/${spec.targetId}/edit`;
  return base;
}

function turnBody(spec: TurnSpec): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (spec.kind !== "regenerate") body.content = spec.content;
  if (spec.kind === "send" && spec.attachments?.length) body.attachments = toRequest(spec.attachments);
  if (spec.model) body.model = spec.model;
  else if (spec.escalate) body.escalate = true;
  return body;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `work`, or an AbortError as soon as `signal` aborts; what `work` brings after that goes to
 * `late` (it is not cancelled: the server may already be doing it).
 */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new DOMException("The turn was stopped.", "AbortError"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) late(value);
        else resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** The code of the failure a turn shows when Stop came before the server took the message. */
export const STOPPED_BEFORE_SENDING = "stopped_before_sending";

/** What to say about a turn the server refused (or Stop kept from it). */
export function describeRefusal(error: unknown): { title: string; description: string } {
  if (isApiError(error) && error.code === STOPPED_BEFORE_SENDING) return { title: "Stopped", description: error.message };
  const files = isApiError(error) ? Object.entries(error.fields).filter(([field]) => field.startsWith("attachments")) : [];
  if (files.length > 0) {
    // "attachments[1].data" → "File 2", in the order the box lists them (they go back there).
    const which = (field: string) => {
      const n = /^attachments\[(\d+)\]/.exec(field)?.[1];
      return n === undefined ? "The files" : `File ${Number(n) + 1}`;
    };
    return { title: "A file can't be sent", description: files.map(([field, problem]) => `${which(field)} ${problem}.`).join(" ") };
  }
  return describeError(error);
}

function stoppedBeforeSending(): ApiError {
  return new ApiError({
    status: 499,
    code: STOPPED_BEFORE_SENDING,
    message: "You stopped it before it reached the assistant. Send it again, or edit it first.",
  });
}

/**
 * How long Stop waits for the server to take a message before it gives up on the request.
 * Stop names the answer to the server, and the answer's id comes with the saved message:
 * closing the request before that would leave an answer that finishes in the background
 * (where the server is set to) running, unstoppable.
 */
const STOP_WAIT_MS = 3000;

/** Refetch what a finished turn changed. */
async function refresh(qc: QueryClient, ws: string, cid: string) {
  await Promise.all([
    qc.invalidateQueries({ queryKey: assistantKeys.messages(ws, cid) }),
    qc.invalidateQueries({ queryKey: assistantKeys.conversation(ws, cid) }),
    qc.invalidateQueries({ queryKey: assistantKeys.lists(ws) }),
  ]);
}

/** The title is written just after the first answer: look again a few times until it shows. */
async function awaitTitle(qc: QueryClient, ws: string, cid: string) {
  const key = assistantKeys.conversation(ws, cid);
  const current = qc.getQueryData<ConversationView>(key);
  if (current && current.title !== "") return;
  for (const wait of [600, 1200, 2500, 5000, 8000]) {
    await sleep(wait);
    try {
      const c = await qc.fetchQuery({ queryKey: key, queryFn: () => fetchConversation(ws, cid), staleTime: 0 });
      if (c.title !== "") {
        await qc.invalidateQueries({ queryKey: assistantKeys.lists(ws) });
        return;
      }
    } catch {
      return;
    }
  }
}

/**
 * After Stop: the server saves the partial answer as it notices; wait (up to 5 s) until
 * the saved messages no longer say it is streaming. `dropOnceSaved` then reads them once
 * more and lets them take the turn's place.
 */
async function awaitSaved(qc: QueryClient, ws: string, cid: string) {
  for (let i = 0; i < 20; i++) {
    const saved = await readSaved(qc, ws, cid);
    if (!saved || !saved.some((m) => m.status === "streaming")) return;
    await sleep(250);
  }
}

async function run(qc: QueryClient, n: number, controller: AbortController) {
  let key = findKey(n);
  const start = key ? turns.get(key) : undefined;
  if (!key || !start) return;
  const { spec } = start;
  const ws = spec.workspaceId;
  let cid = spec.conversationId;
  let gaveUp = false;
  try {
    if (!cid) {
      if (!spec.create) throw new Error("a new chat needs `create`");
      const created = await unlessAborted(spec.create(), controller.signal, (late) => {
        // Stop gave up waiting, and the chat was made after all: nothing was asked in it.
        void deleteConversation(ws, late.id).catch(() => {});
      });
      if (turns.get(key)?.phase === "stopping" || controller.signal.aborted) {
        // Stopped while the chat was being made: nothing was asked, so the empty chat goes
        // and the message stays on screen to send again.
        void deleteConversation(ws, created.id).catch(() => {});
        update(key, n, (t) => ({ ...t, phase: "failed", failure: stoppedBeforeSending() }));
        return;
      }
      cid = created.id;
      qc.setQueryData(assistantKeys.conversation(ws, cid), created);
      qc.setQueryData(assistantKeys.messages(ws, cid), []);
      const moved = turns.get(key);
      if (moved && moved.seq === n) {
        const next = new Map(turns);
        next.delete(key);
        key = keyOf(ws, cid);
        next.set(key, { ...moved, conversationId: cid });
        turns = next;
        emitNow();
      }
      void qc.invalidateQueries({ queryKey: assistantKeys.lists(ws) });
      spec.onCreated?.(created);
    }
    const k = key;
    await streamTurn({
      path: turnPath(spec, cid),
      body: turnBody(spec),
      signal: controller.signal,
      onEvent: (ev) => {
        const t = update(k, n, (cur) => applyEvent(cur, ev), ev.type === "delta" || ev.type === "reasoning");
        // Stop came before the server had taken the message: now it can be named.
        if (ev.type === "message" && t?.phase === "stopping") stopNow(t);
      },
    });
  } catch (err) {
    const k = key;
    const cur = turns.get(k);
    const taken = cur?.seq === n && takenMessage(cur);
    if (controller.signal.aborted && !taken && isAbort(err)) {
      // Stop gave up waiting before the server said it took the message. It may have taken
      // it all the same: the turn stays "stopping" (no Retry yet) until the saved
      // messages say (below).
      gaveUp = true;
    } else if (controller.signal.aborted && !taken) {
      // The server refused it while Stop waited: keep it on screen to send again.
      update(k, n, (t) => ({ ...t, phase: "failed", failure: err }));
    } else if (controller.signal.aborted) {
      update(k, n, (t) => ({ ...t, phase: "interrupted", assistant: { ...t.assistant, status: "interrupted" } }));
    } else if (taken) {
      // The connection broke after the server took the message: the server keeps the
      // answer (it saves what arrived when it notices), so show what it saved, as after Stop.
      update(k, n, (t) => ({ ...t, phase: "interrupted", assistant: { ...t.assistant, status: "interrupted" } }));
    } else {
      // Refused, or cut off, before the server named the answer (Stop pressed meanwhile
      // included): the message stays on screen to send again.
      update(k, n, (t) =>
        t.phase === "sending" || t.phase === "stopping"
          ? { ...t, phase: "failed", failure: err }
          : {
              ...t,
              phase: "error",
              assistant: { ...t.assistant, status: "error", error: { code: "stream_failed", message: describeError(err).description } },
            },
      );
    }
  } finally {
    controllers.delete(n);
  }

  const end = turns.get(key);
  if (!end || end.seq !== n) return;
  if (gaveUp) {
    // A message Stop gave up on may have reached the server after all (its `message`
    // event was slow): if the saved messages have it, they take the turn's place and what
    // is still being written there stops; if not, it is offered to send again. Looked for
    // a few times: the server may save it a moment after the stream closed.
    const found = cid ? await findTaken(qc, ws, cid, end.spec) : null;
    if (found) {
      if (found.streaming && cid) void stopAnswer(ws, cid, found.streaming).catch(() => {});
      drop(key, n);
      await refresh(qc, ws, cid!);
    } else {
      update(key, n, (t) => ({ ...t, phase: "failed", failure: stoppedBeforeSending() }));
    }
    return;
  }
  if (!cid || end.phase === "failed") return;
  if (end.phase === "interrupted" || end.phase === "sending" || end.phase === "streaming" || end.phase === "stopping") {
    // Stopped, or the server closed the stream without a verdict: what it saved is the truth.
    await awaitSaved(qc, ws, cid);
    await dropOnceSaved(qc, key, n, ws, cid, end.answerId);
    return;
  }
  // An error whose answer was never saved stays on screen with its Retry.
  if (end.phase === "done" || !end.assistant.optimistic) {
    await dropOnceSaved(qc, key, n, ws, cid, end.answerId ?? end.assistant.id);
  } else {
    await refresh(qc, ws, cid);
  }
  if (end.phase === "done") void awaitTitle(qc, ws, cid);
}

/** Whether the server said it took the turn's message (its `message` event came). */
function takenMessage(t: LiveTurn): boolean {
  return t.answerId != null || (t.user !== null && !t.user.optimistic);
}

/**
 * Whether the saved messages hold what the turn asked for, though the turn never heard it
 * was taken: a message (an answer, for a regeneration) under the turn's anchor that was
 * not on screen when it started.
 */
export function takenByServer(saved: readonly ChatMessage[], spec: TurnSpec): boolean {
  return takenBy(saved, spec) !== undefined;
}

function takenBy(saved: readonly ChatMessage[], spec: TurnSpec): ChatMessage | undefined {
  const before = new Set((spec.shown ?? []).map((m) => m.id));
  if (spec.targetId) before.add(spec.targetId);
  return saved.find(
    (m) =>
      !before.has(m.id) &&
      m.parentId === spec.anchorId &&
      (spec.kind === "regenerate" ? m.role === "assistant" : m.role === "user" && m.content === spec.content),
  );
}

/** Waits before each look at the saved messages for a finished turn's answer. */
const SAVED_RETRIES_MS = [0, 500, 1000, 2000, 4000];

/**
 * Drop the turn once the saved messages hold its answer. A reload that fails (offline, or
 * cancelled by another read) must not take the exchange just written off the screen: the
 * turn stays, and is looked for again a few times; what shows meanwhile is the turn.
 */
async function dropOnceSaved(qc: QueryClient, key: string, n: number, ws: string, cid: string, answerId: string | null) {
  for (const wait of SAVED_RETRIES_MS) {
    if (wait) await sleep(wait);
    if (turns.get(key)?.seq !== n) return;
    const saved = await readSaved(qc, ws, cid);
    // A stop that came before the answer was named leaves nothing to look for.
    if (saved && (answerId === null || saved.some((m) => m.id === answerId))) {
      drop(key, n);
      await refresh(qc, ws, cid);
      return;
    }
  }
  // Still not there (offline): the chat drops the turn once its messages hold the answer
  // (`settleTurn`).
}

/**
 * The saved messages, read now whether or not the conversation is on screen (an
 * invalidation would only mark them stale if it is not); null if they cannot be read.
 */
async function readSaved(qc: QueryClient, ws: string, cid: string): Promise<ChatMessage[] | null> {
  try {
    return await qc.fetchQuery({ queryKey: assistantKeys.messages(ws, cid), queryFn: () => fetchMessages(ws, cid), staleTime: 0 });
  } catch {
    return null;
  }
}

/** Looks at the saved messages for a message Stop gave up on, before offering to send it again. */
const TAKEN_RETRIES_MS = [0, 700, 1500];

/**
 * The saved message the turn sent though it never heard it was taken, if the saved
 * messages show one; with the id of its answer if that is still being written.
 */
async function findTaken(qc: QueryClient, ws: string, cid: string, spec: TurnSpec): Promise<{ streaming: string | null } | null> {
  for (const wait of TAKEN_RETRIES_MS) {
    if (wait) await sleep(wait);
    const saved = await readSaved(qc, ws, cid);
    if (!saved) continue;
    const taken = takenBy(saved, spec);
    if (taken) {
      const answer = spec.kind === "regenerate" ? taken : saved.find((m) => m.parentId === taken.id && m.role === "assistant");
      return { streaming: answer?.status === "streaming" ? answer.id : null };
    }
  }
  return null;
}

/**
 * A finished turn whose answer the saved messages now hold is done with: the chat calls
 * this when its messages load (the turn may have ended while another conversation was
 * on screen, or offline).
 */
export function settleTurn(ws: string, cid: string, saved: readonly ChatMessage[]): void {
  const key = keyOf(ws, cid);
  const t = turns.get(key);
  if (!t || isRunning(t) || t.phase === "failed") return;
  const answer = t.answerId ?? (t.assistant.optimistic ? null : t.assistant.id);
  // A stopped answer's saved version may still say "streaming" for a moment: not yet.
  if (answer && saved.some((m) => m.id === answer && m.status !== "streaming")) drop(key, t.seq);
}

function drop(key: string, n: number) {
  const cur = turns.get(key);
  if (cur && cur.seq === n) put(key, null);
}

/** Start a turn; false when one is already running in that conversation. */
export function startTurn(qc: QueryClient, spec: TurnSpec): boolean {
  const key = keyOf(spec.workspaceId, spec.conversationId);
  const existing = turns.get(key);
  if (existing && isRunning(existing)) return false;
  const n = ++seq;
  const controller = new AbortController();
  controllers.set(n, controller);
  put(key, {
    seq: n,
    spec,
    conversationId: spec.conversationId,
    phase: "sending",
    user: spec.kind === "regenerate" ? null : { ...blankMessage(`optimistic-${n}`, "user", spec.content), attachments: optimisticFiles(spec) },
    assistant: blankMessage(`live-${n}`, "assistant", ""),
    answerId: null,
    failure: null,
  });
  void run(qc, n, controller);
  return true;
}

export function isRunning(t: LiveTurn | undefined | null): boolean {
  return !!t && (t.phase === "sending" || t.phase === "streaming" || t.phase === "stopping");
}

/**
 * "Stop generating": the server cancels the provider call and saves what arrived. Closing
 * the stream stops it, unless the server finishes answers in the background: the stop
 * request says it in so many words (its answer does not matter: the stream closes anyway).
 */
export function stopTurn(ws: string, cid: string | null): void {
  const key = keyOf(ws, cid);
  const t = turns.get(key);
  if (!t || !isRunning(t)) return;
  const stopping = update(key, t.seq, (cur) => ({ ...cur, phase: "stopping" }));
  if (stopping?.answerId) {
    stopNow(stopping);
    return;
  }
  // Not taken yet (or the chat is still being made): the `message` event, or the end of
  // creating the chat, finishes the stop; if the server says nothing, give up on it.
  const n = t.seq;
  setTimeout(() => controllers.get(n)?.abort(), STOP_WAIT_MS);
}

/** Ask the server to stop the turn's answer, and close the stream. */
function stopNow(t: LiveTurn) {
  const conversation = t.conversationId;
  if (t.answerId && conversation) {
    void stopAnswer(t.spec.workspaceId, conversation, t.answerId).catch((err) => {
      // Finished meanwhile: nothing to stop. Anything else (another server writes it and
      // cannot be reached) means the answer may go on: say so rather than seem to stop it.
      if (!(isApiError(err) && err.code === "answer_finished")) toastError(err, "Couldn't stop the answer");
    });
  }
  controllers.get(t.seq)?.abort();
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}

/** Forget a failed turn; returns what the person had written, for the composer. */
export function dismissTurn(ws: string, cid: string | null): string | null {
  const key = keyOf(ws, cid);
  const t = turns.get(key);
  if (!t || isRunning(t)) return null;
  put(key, null);
  return t.spec.kind === "regenerate" ? null : t.spec.content;
}

/** Run a failed turn again. A message the server kept is re-asked as an edit of itself. */
export function retryTurn(qc: QueryClient, ws: string, cid: string | null): void {
  const key = keyOf(ws, cid);
  const t = turns.get(key);
  if (!t || isRunning(t)) return;
  put(key, null);
  const spec: TurnSpec = { ...t.spec, conversationId: t.conversationId };
  if (t.user && !t.user.optimistic && t.spec.kind !== "regenerate") {
    spec.kind = "edit";
    spec.targetId = t.user.id;
  }
  startTurn(qc, spec);
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The turn in flight (or failed) in this conversation, if any. */
export function useLiveTurn(ws: string, cid: string | null): LiveTurn | undefined {
  const key = keyOf(ws, cid);
  return useSyncExternalStore(
    subscribe,
    () => turns.get(key),
    () => turns.get(key),
  );
}

// A session that ends stops its answers and forgets its turns (and the text of failed ones).
onSessionChange(() => resetTurns());

/** Stop and forget every turn: when a session ends, and between tests. */
export function resetTurns(): void {
  for (const c of controllers.values()) c.abort();
  controllers.clear();
  turns = new Map();
  emitNow();
}
