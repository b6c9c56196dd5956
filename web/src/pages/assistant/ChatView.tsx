import { useQueryClient } from "@tanstack/react-query";
import { ArrowDown, Eye, MessageSquarePlus, Settings, Sparkles } from "lucide-react";
import { type RefObject, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearch } from "wouter";
import type { ConversationView, ModelView } from "@/api/client";
import { describeError, isApiError } from "@/api/errors";
import { ErrorState } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Button, buttonClasses } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { toastError } from "@/components/ui/toast";
import { useWorkspace, wsPath } from "@/pages/workspaces/context";
import { createConversation, useDeleteMessage, useMessages, useRateAnswer, useUpdateConversation } from "./api";
import { matchTarget, useJumpToMatch } from "./jump";
import { nextAnnouncement } from "./announce";
import { useAutoScroll } from "./autoscroll";
import { attachmentUrl, type OutgoingFile } from "./attachments";
import { Composer, type ComposerHandle } from "./Composer";
import { usePrompts } from "./prompts";
import { PromptsDialog } from "./PromptsDialog";
import { type MessageActions, MessageItem, type ReopenEdit } from "./MessageItem";
import { EscalateToggle, ModelPicker } from "./ModelPicker";
import { Kbd, MOD_KEY } from "./shortcuts";
import {
  describeRefusal,
  dismissTurn,
  displayMessages,
  isRunning,
  type LiveTurn,
  retryTurn,
  settleTurn,
  STOPPED_BEFORE_SENDING,
  startTurn,
  stopTurn,
  type TurnKind,
  useLiveTurn,
} from "./turns";
import type { ChatMessage } from "./types";

export interface ChatViewProps {
  conversationId: string | null;
  conversation: ConversationView | undefined;
  models: ModelView[] | undefined;
  composerRef: RefObject<ComposerHandle | null>;
  onCreated: (c: ConversationView) => void;
  onNewChat: () => void;
}

/**
 * Screen readers hear the answer sentence by sentence, not word by word: a polite live
 * region gets each finished sentence, and the rest when the answer ends or is stopped.
 */
function useAnnouncer(message: ChatMessage | undefined, active: boolean) {
  const [said, setSaid] = useState("");
  const upTo = useRef(0);
  const forId = useRef<string | null>(null);
  useEffect(() => {
    if (!message || message.role !== "assistant") return;
    // The saved answer replacing the live one is the same answer: go on from where we were
    // (it has had the saved id since the server named it; a stop before that may not).
    const continuing = Boolean(forId.current?.startsWith("live-")) && !message.optimistic;
    if (forId.current !== message.id && !continuing) {
      upTo.current = 0;
      if (active) setSaid("The assistant is answering.");
    }
    forId.current = message.id;
    const final = message.status !== "streaming";
    if (!active && !continuing && !final) return;
    const { say, upTo: next } = nextAnnouncement(message.content, upTo.current, final);
    upTo.current = next;
    if (say) setSaid(say);
  }, [message, active]);
  return said;
}

/** Where a conversation's unsent message is kept ("new" for a new chat). */
export const chatDraftKey = (ws: string, conversationId: string | null) => `${ws}:${conversationId ?? "new"}`;

export function ChatView({ conversationId, conversation, models, composerRef, onCreated, onNewChat }: ChatViewProps) {
  const ws = useWorkspace();
  const qc = useQueryClient();
  const live = useLiveTurn(ws.id, conversationId);
  const saved = useMessages(ws.id, conversationId, !isRunning(live));
  const update = useUpdateConversation(ws.id);
  const running = isRunning(live);
  const canUse = ws.can("use_assistant");
  const canWrite = conversationId ? (conversation?.can_write ?? false) : canUse;
  const aiReady = (models?.length ?? 0) > 0;
  const defaultModel = models?.find((m) => m.is_default)?.id ?? models?.[0]?.id;
  const largeModel = models?.find((m) => m.is_large)?.id;
  const [newModel, setNewModel] = useState<string | undefined>(undefined);
  const [escalate, setEscalate] = useState(false);
  /**
   * A version switched to: its message replaces the one whose switcher had the focus,
   * which goes to the same button of the new one (or the other, at an end).
   */
  const [focusSwitch, setFocusSwitch] = useState<{ id: string; label: string } | null>(null);
  /** A refused edit, back in its message's edit box (with the reason, when just refused). */
  const [reopenEdit, setReopenEdit] = useState<ReopenEdit | null>(null);
  const model = conversationId ? conversation?.model : (newModel ?? defaultModel);
  const [promptsOpen, setPromptsOpen] = useState(false);
  /** The message whose deletion is being confirmed. */
  const [deleting, setDeleting] = useState<ChatMessage | null>(null);
  const removeMessage = useDeleteMessage(ws.id, conversationId);
  // Only once the assistant answers (its models listed): switched off, the list would be refused.
  const prompts = usePrompts(ws.id, canUse && aiReady);
  const promptMenu = useMemo(() => ({ items: prompts.data ?? [], onManage: () => setPromptsOpen(true) }), [prompts.data]);

  const messages = useMemo(() => displayMessages(saved.data ?? [], live), [saved.data, live]);
  // A turn that ended while another conversation was on screen, or offline, gives way to
  // the saved messages once they hold its answer.
  useEffect(() => {
    if (conversationId && saved.data) settleTurn(ws.id, conversationId, saved.data);
  }, [ws.id, conversationId, saved.data]);
  // A refused edit changed nothing: its text goes back into the edited message's edit box,
  // with the reason, where sending it again is one Enter away. (Refused while another
  // conversation was on screen, it opens there when the person comes back.)
  const refusedEdit = live?.phase === "failed" && live.spec.kind === "edit" ? live.spec.targetId : undefined;
  const refusedEditShown = refusedEdit !== undefined && messages.some((m) => m.id === refusedEdit);
  useEffect(() => {
    if (!refusedEditShown || !live || refusedEdit === undefined) return;
    const error = live.failure;
    const text = dismissTurn(ws.id, conversationId);
    if (text != null) setReopenEdit({ id: refusedEdit, text, error });
  }, [refusedEditShown, refusedEdit, live, ws.id, conversationId]);
  // Each model once, for "Regenerate with…" (a model two providers serve is one choice).
  const choices = useMemo(() => [...new Set((models ?? []).map((m) => m.id))], [models]);
  const last = messages[messages.length - 1];
  const scroller = useRef<HTMLDivElement>(null);
  const { away, jumpToLatest, hold } = useAutoScroll(scroller, `${messages.length}:${last?.content.length ?? 0}:${last?.toolCalls.length ?? 0}:${live?.phase ?? ""}`);
  const announcement = useAnnouncer(live?.assistant, running);
  // A search result opens the conversation at the message that matched.
  const search = useSearch();
  const target = useMemo(() => (conversationId ? matchTarget(search) : null), [conversationId, search]);
  const jump = useJumpToMatch(scroller, target, saved.data ? messages : undefined, hold);
  const openedAtMatch = useRef(target !== null);

  // Opening another conversation starts at its latest message (or at a search's match).
  useEffect(() => {
    if (!openedAtMatch.current) jumpToLatest(false);
  }, [conversationId, jumpToLatest]);

  const send = useCallback(
    (text: string, files: OutgoingFile[]) => {
      if (running) return false;
      const common = { workspaceId: ws.id, content: text, attachments: files, escalate: escalate && Boolean(largeModel) };
      const started = conversationId
        ? startTurn(qc, { ...common, conversationId, kind: "send", anchorId: lastSavedId(messages, live), shown: messages })
        : startTurn(qc, {
            ...common,
            conversationId: null,
            kind: "send",
            anchorId: null,
            create: () => createConversation(ws.id, model ? { model } : {}),
            onCreated,
          });
      if (started) {
        jumpToLatest(false);
        setEscalate(false);
      }
      return started;
    },
    [running, ws.id, escalate, largeModel, conversationId, qc, model, onCreated, jumpToLatest, messages, live],
  );

  /** After an action that removed the button it was started from, the composer has the focus. */
  const started = useCallback(
    (ok: boolean) => {
      if (!ok) return;
      setEscalate(false);
      jumpToLatest(false);
      composerRef.current?.focus();
    },
    [jumpToLatest, composerRef],
  );

  // What is on screen when a regeneration or an edit starts, kept above it until the saved
  // messages reach its anchor; a ref, so that the actions stay the same while words stream.
  const shownNow = useRef(messages);
  shownNow.current = messages;

  // Stable pieces of the mutation, so messages don't re-render on every streamed word.
  const { mutate, isPending: switching } = update;
  const { mutate: rate } = useRateAnswer(ws.id, conversationId);
  const actions: MessageActions = useMemo(
    () => ({
      canWrite,
      busy: running || switching,
      onRegenerate: (m, withModel) => {
        if (!conversationId) return;
        if (m.optimistic) {
          // An answer that failed before it was saved: run its turn again.
          retryTurn(qc, ws.id, conversationId);
          return;
        }
        const question = (saved.data ?? []).find((x) => x.id === m.parentId);
        started(
          startTurn(qc, {
            workspaceId: ws.id,
            conversationId,
            kind: "regenerate",
            anchorId: m.parentId,
            shown: shownNow.current,
            content: question?.content ?? "",
            targetId: m.id,
            escalate: escalate && Boolean(largeModel),
            model: withModel,
          }),
        );
      },
      models: choices,
      onEdit: (m, content) => {
        if (!conversationId) return false;
        const ok = startTurn(qc, {
          workspaceId: ws.id,
          conversationId,
          kind: "edit",
          anchorId: m.parentId,
          shown: shownNow.current,
          content,
          targetId: m.id,
          escalate: escalate && Boolean(largeModel),
        });
        started(ok);
        return ok;
      },
      reopenEdit,
      onReopened: () => setReopenEdit(null),
      onSwitch: (targetId, from) => {
        if (!conversationId) return;
        setFocusSwitch({ id: targetId, label: from });
        mutate(
          { id: conversationId, active_message_id: targetId },
          { onError: (err) => toastError(err, "Couldn't show that version") },
        );
      },
      // Anyone who may chat rates the answers they read, in others' shared conversations too.
      onRate: canUse && conversationId ? (m, feedback, onRefused) => rate({ answerId: m.id, feedback, onRefused }) : undefined,
      onDelete: conversationId ? setDeleting : undefined,
      attachmentUrl: conversationId ? (m, i) => attachmentUrl(ws.id, conversationId, m.id, i) : undefined,
    }),
    [canWrite, canUse, running, switching, mutate, rate, conversationId, saved.data, qc, ws.id, escalate, largeModel, started, reopenEdit, choices],
  );

  useEffect(() => {
    if (!focusSwitch) return;
    const group = scroller.current?.querySelector(`li[data-message-id="${focusSwitch.id}"] [role="group"]`);
    const buttons = [...(group?.querySelectorAll("button") ?? [])].filter((b) => !b.disabled);
    // Not there yet, or not enabled yet: the switched branch's messages are on their way.
    if (buttons.length === 0) return;
    (buttons.find((b) => b.getAttribute("aria-label") === focusSwitch.label) ?? buttons[0])?.focus();
    setFocusSwitch(null);
  }, [messages, focusSwitch, switching]);

  const changeModel = (m: string) => {
    if (!conversationId) {
      setNewModel(m);
      return;
    }
    update.mutate({ id: conversationId, model: m }, { onError: (err) => toastError(err, "Couldn't change the model") });
  };

  // A reload that failed while the messages are on screen (a blip, a restart) leaves them
  // there; only a conversation that can't be read at all, or is gone, becomes the error.
  const unreadable = saved.isError && (saved.data === undefined || (isApiError(saved.error) && [403, 404].includes(saved.error.status)));
  if (conversationId && unreadable) {
    return (
      <div className="flex flex-1 items-start justify-center overflow-y-auto p-6">
        <ErrorState
          className="w-full max-w-xl"
          error={saved.error}
          onRetry={() => saved.refetch()}
          action={
            canUse && (
              <Button size="sm" onClick={onNewChat}>
                <MessageSquarePlus aria-hidden /> New chat
              </Button>
            )
          }
        />
      </div>
    );
  }

  const loading = conversationId !== null && saved.isPending;
  // The composer shows when the person may write here and AI is set up (or still loading).
  const composing = canUse && (aiReady || models === undefined) && (!conversationId || !conversation || canWrite);
  // (A refused edit shows in its edit box instead.)
  const failure = live?.phase === "failed" && !refusedEditShown ? live.failure : null;

  return (
    <div className="relative flex min-h-0 flex-1 flex-col">
      <div ref={scroller} className="min-h-0 flex-1 overflow-y-auto outline-none" tabIndex={0} aria-label="Messages" role="region">
        <div className="mx-auto flex w-full max-w-3xl flex-col px-4 py-6 sm:px-6">
          {loading ? (
            <MessagesSkeleton />
          ) : messages.length === 0 ? (
            <EmptyChat canUse={canUse} aiReady={aiReady} />
          ) : (
            // One column no wider than the chat: with an `auto` column, the widest thing
            // that cannot wrap in any message set every message's width, past a phone's
            // edge.
            <ol className="grid grid-cols-[minmax(0,1fr)] gap-6" aria-label="Conversation">
              {messages.map((m) => (
                <MessageItem key={m.id} message={m} actions={actions} searchTarget={jump.outlined === m.id} />
              ))}
            </ol>
          )}
          {failure != null && live && (
            <TurnFailure
              error={failure}
              kind={live.spec.kind}
              onRetry={() => retryTurn(qc, ws.id, conversationId)}
              onEdit={() => {
                const { spec } = live;
                const text = dismissTurn(ws.id, conversationId);
                if (text == null) return;
                // A refused edit goes back into its message's edit box, not the composer:
                // sent from there it would be a new message, not a new version. (Only an
                // edit of a message no longer on screen gets here: it goes to the composer.)
                if (spec.kind === "edit" && spec.targetId && messages.some((m) => m.id === spec.targetId)) {
                  setReopenEdit({ id: spec.targetId, text });
                } else {
                  composerRef.current?.setText(text);
                  composerRef.current?.addFiles(spec.attachments ?? []);
                }
              }}
            />
          )}
          {conversationId && saved.isError && !unreadable && (
            <Alert
              variant="warning"
              className="mt-4"
              title="Couldn't load the latest messages"
              action={
                <Button size="sm" variant="outline" onClick={() => saved.refetch()}>
                  Try again
                </Button>
              }
            >
              {describeError(saved.error).description}
            </Alert>
          )}
        </div>
      </div>
      <div className="sr-only" aria-live="polite" aria-atomic="true" data-announcer>
        {announcement}
      </div>
      {away && messages.length > 0 && (
        <div className="pointer-events-none absolute inset-x-0 bottom-32 z-10 flex justify-center">
          <Button variant="outline" size="sm" className="pointer-events-auto rounded-full shadow-md" onClick={() => jumpToLatest()}>
            <ArrowDown aria-hidden /> Jump to latest
          </Button>
        </div>
      )}
      <div className="mx-auto w-full max-w-3xl px-4 pb-4 sm:px-6">
        {jump.elsewhere && target && (
          <Alert
            className="mb-3"
            title="The match is in another version of this conversation"
            action={
              <div className="flex shrink-0 flex-wrap items-center gap-2 self-center">
                {canWrite && (
                  <Button
                    size="sm"
                    variant="outline"
                    disabled={running || switching}
                    onClick={() =>
                      conversationId &&
                      mutate(
                        { id: conversationId, active_message_id: target.messageId },
                        { onError: (err) => toastError(err, "Couldn't show that version") },
                      )
                    }
                  >
                    Show that version
                  </Button>
                )}
                <Button size="sm" variant="ghost" onClick={jump.dismiss}>
                  Dismiss
                </Button>
              </div>
            }
          >
            {canWrite
              ? "An edit or a regenerated answer replaced it here."
              : "An edit or a regenerated answer replaced it here; only the person who started the conversation, and admins, can switch versions."}
          </Alert>
        )}
        {composing ? (
          <Composer
            ref={composerRef}
            busy={running}
            draftKey={chatDraftKey(ws.id, conversationId)}
            stopping={live?.phase === "stopping"}
            disabled={loading}
            onSend={send}
            attach
            onStop={() => stopTurn(ws.id, conversationId)}
            prompts={promptMenu}
            tools={
              models &&
              models.length > 0 && (
                <>
                  <ModelPicker models={models} value={model} onChange={changeModel} disabled={update.isPending} />
                  {largeModel && model !== largeModel && (
                    <EscalateToggle large={largeModel} pressed={escalate} onChange={setEscalate} />
                  )}
                </>
              )
            }
          />
        ) : !canUse ? (
          <ReadOnlyNotice>
            You can read conversations shared with the workspace. Viewers can't chat: ask an admin to make you a member.
          </ReadOnlyNotice>
        ) : !aiReady && models !== undefined ? (
          <NotConfigured />
        ) : (
          <ReadOnlyNotice action={<Button size="sm" variant="outline" onClick={onNewChat}>New chat</Button>}>
            Only the person who started this conversation, and admins, can write in it.
          </ReadOnlyNotice>
        )}
        {composing && (
          <p className="mt-2 hidden text-center text-xs text-muted-foreground sm:block">
            Answers can be wrong: check what matters. <Kbd>Enter</Kbd> sends, <Kbd>Shift</Kbd>+<Kbd>Enter</Kbd> adds a line.
          </p>
        )}
        {deleting && (
          <ConfirmDialog
            open
            onOpenChange={(open) => !open && setDeleting(null)}
            destructive
            confirmLabel="Delete"
            {...deletionText(deleting, messages)}
            onConfirm={async () => {
              const gone = new Set(messages.slice(cutIndex(deleting, messages)).map((m) => m.id));
              try {
                await removeMessage.mutateAsync(deleting.id);
              } catch (err) {
                toastError(err, "Couldn't delete the message");
                throw err;
              }
              // A turn still on screen that hung under what went, or whose own messages
              // went, has nowhere to go. One the server refused gives its text back to the
              // box; one it had taken was deleted with the rest.
              const ids = live ? [live.spec.anchorId, live.user?.id, live.answerId] : [];
              if (live && !isRunning(live) && ids.some((id) => id != null && gone.has(id))) {
                const text = dismissTurn(ws.id, conversationId);
                if (text != null && live.phase === "failed") {
                  if (text) composerRef.current?.insert(text);
                  composerRef.current?.addFiles(live.spec.attachments ?? []);
                }
              }
              requestAnimationFrame(() => composerRef.current?.focus());
            }}
          />
        )}
        {composing && (
          <PromptsDialog workspaceId={ws.id} open={promptsOpen} onOpenChange={setPromptsOpen} onUse={(text) => composerRef.current?.insert(text)} />
        )}
      </div>
    </div>
  );
}

/**
 * The last message on screen that the server has: what a new message hangs under. Right
 * after a turn ends, that is the turn's own answer, before the saved list has caught up.
 */
function lastSavedId(shown: readonly ChatMessage[], live: LiveTurn | undefined): string | null {
  for (let i = shown.length - 1; i >= 0; i--) {
    const m = shown[i]!;
    if (!m.optimistic) return m.id;
    // A stopped answer: the server saves it under the id its turn was told.
    if (live?.answerId && m.id === live.assistant.id) return live.answerId;
  }
  return null;
}

/**
 * Where deleting `m` cuts the branch on screen: at `m`, or at its question when it is the
 * question's only answer (the server takes the question too).
 */
function cutIndex(m: ChatMessage, shown: readonly ChatMessage[]): number {
  const i = shown.findIndex((x) => x.id === m.id);
  const onlyAnswer = m.role === "assistant" && m.siblingIds.length <= 1;
  return onlyAnswer && i > 0 && shown[i - 1]!.id === m.parentId ? i - 1 : Math.max(i, 0);
}

/** What the confirmation says goes: how many of the messages on screen, and why. */
function deletionText(m: ChatMessage, shown: readonly ChatMessage[]): { title: string; description: string } {
  const count = shown.length - cutIndex(m, shown);
  const messages = count === 1 ? "1 message" : `${count} messages`;
  const after = "and any other versions of what followed. This can't be undone.";
  if (m.role === "user") {
    return {
      title: "Delete this message?",
      description: `It goes with its answers and everything after them: ${messages} here, ${after}`,
    };
  }
  if (m.siblingIds.length > 1) {
    return {
      title: "Delete this version of the answer?",
      description: `It goes with everything after it: ${messages} here, ${after} The answer's other versions stay.`,
    };
  }
  return {
    title: "Delete this answer and its question?",
    description: `It is its question's only answer, so the question goes too, with everything after them: ${messages} here, ${after}`,
  };
}

function MessagesSkeleton() {
  return (
    <div className="grid gap-6" aria-hidden>
      <Skeleton className="ml-auto h-10 w-1/2 rounded-2xl" />
      <div className="grid gap-2">
        <Skeleton className="h-4 w-5/6" />
        <Skeleton className="h-4 w-2/3" />
      </div>
    </div>
  );
}

function EmptyChat({ canUse, aiReady }: { canUse: boolean; aiReady: boolean }) {
  return (
    <div className="flex flex-col items-center gap-4 py-10 text-center sm:py-20">
      <div className="flex size-12 items-center justify-center rounded-2xl bg-primary-soft text-primary-soft-foreground">
        <Sparkles className="size-6" aria-hidden />
      </div>
      <div className="grid max-w-md gap-1.5">
        <h2 className="text-lg font-semibold tracking-tight">{canUse ? "What can I help with?" : "Nothing here yet"}</h2>
        <p className="text-sm text-muted-foreground">
          {!canUse
            ? "Pick a conversation shared with the workspace on the left to read it."
            : aiReady
              ? "Ask a question, paste something to summarise, or draft a reply. Answers stream in as they're written, with code formatted. New chats are private until you share them."
              : "Once an AI provider is set up, you can chat here."}
        </p>
      </div>
      {canUse && aiReady && (
        <ul className="flex flex-wrap justify-center gap-x-4 gap-y-1 text-xs text-muted-foreground">
          <li>
            <Kbd>{MOD_KEY}</Kbd>+<Kbd>Shift</Kbd>+<Kbd>O</Kbd> new chat
          </li>
          <li>
            <Kbd>{MOD_KEY}</Kbd>+<Kbd>K</Kbd> search
          </li>
          <li>
            <Kbd>/</Kbd> type a message
          </li>
        </ul>
      )}
    </div>
  );
}

function ReadOnlyNotice({ children, action }: { children: React.ReactNode; action?: React.ReactNode }) {
  return (
    <div className="flex flex-wrap items-center gap-3 rounded-2xl border bg-muted/40 px-4 py-3 text-sm text-muted-foreground" data-read-only>
      <Eye className="size-4 shrink-0" aria-hidden />
      <p className="min-w-0 flex-1">{children}</p>
      {action}
    </div>
  );
}

function NotConfigured() {
  const ws = useWorkspace();
  const admin = ws.can("manage_ai");
  return (
    <Alert
      variant="warning"
      title="No AI provider is set up yet"
      action={
        admin && (
          <Link href={wsPath(ws.id, "settings/ai")} className={buttonClasses("outline", "sm", "shrink-0 self-center")}>
            <Settings aria-hidden /> Set up AI providers
          </Link>
        )
      }
    >
      {admin
        ? "Add a provider (OpenAI, Anthropic, Ollama, vLLM, LiteLLM…) and its models; then you can chat here."
        : "An admin of this workspace needs to add an AI provider in Settings → AI. Ask one of them."}
    </Alert>
  );
}

/** A message the server refused (quota, permissions, configuration): say why, offer a way on. */
function TurnFailure({ error, kind, onRetry, onEdit }: { error: unknown; kind: TurnKind; onRetry: () => void; onEdit: () => void }) {
  const ws = useWorkspace();
  const code = isApiError(error) ? error.code : "";
  const stopped = code === STOPPED_BEFORE_SENDING;
  const { title, description } = describeRefusal(error);
  const retryable =
    stopped || !isApiError(error) || error.isNetwork || error.status >= 500 || error.status === 429 || error.status === 409;
  return (
    <div role="alert" className="mt-3 ml-auto grid max-w-[85%] gap-2 rounded-xl border border-destructive/30 bg-destructive-soft px-4 py-3 text-sm text-destructive-soft-foreground" data-turn-failure>
      <p className="font-medium">Not sent: {title}</p>
      <p className="opacity-90">{description}</p>
      <div className="flex flex-wrap gap-2">
        {code === "ai_not_configured" && ws.can("manage_ai") && (
          <Link href={wsPath(ws.id, "settings/ai")} className={buttonClasses("outline", "sm")}>
            Set up AI providers
          </Link>
        )}
        {retryable && code !== "ai_quota_exceeded" && (
          <Button size="sm" variant="outline" onClick={onRetry}>
            Retry
          </Button>
        )}
        <Button size="sm" variant="ghost" onClick={onEdit}>
          {kind === "regenerate" ? "Dismiss" : "Edit message"}
        </Button>
      </div>
    </div>
  );
}
