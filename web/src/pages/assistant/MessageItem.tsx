import {
  AlertCircle,
  Bot,
  Brain,
  Check,
  ChevronDown,
  ChevronLeft,
  ChevronRight,
  Copy,
  FileText,
  ImageIcon,
  OctagonX,
  Pencil,
  RefreshCw,
  ThumbsDown,
  ThumbsUp,
  Trash2,
  Zap,
} from "lucide-react";
import { forwardRef, lazy, memo, Suspense, useEffect, useId, useRef, useState } from "react";
import type { Rating } from "@/api/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { Skeleton } from "@/components/ui/skeleton";
import { Tooltip } from "@/components/ui/tooltip";
import { copyText } from "@/lib/clipboard";
import { cn } from "@/lib/cn";
import { formatNumber } from "@/lib/format";
import { type AttachmentView, formatSize, isImage } from "./attachments";
import { type BranchInfo, branchInfo, branchLabel } from "./branches";
import { composerKeyAction } from "./Composer";
import { ToolCallChip } from "./ToolCallChip";
import { describeRefusal } from "./turns";
import { type ChatMessage, type Feedback, STOPPED_CODE } from "./types";

// The Markdown renderer is a chunk of its own, fetched when the assistant opens. Until it is
// there (a moment, on a first visit) answers show a placeholder, never raw Markdown.
const loadMarkdown = () => import("@/components/Markdown");
const Markdown = lazy(() => loadMarkdown().then((m) => ({ default: m.Markdown })));
export const preloadMarkdown = () => void loadMarkdown();

/** A refused edit, opened again in its message's edit box. */
export interface ReopenEdit {
  /** The message edited. */
  id: string;
  text: string;
  /** Why the server refused it, shown in the box (absent: the person already saw it). */
  error?: unknown;
}

export interface MessageActions {
  /** The person may write here (send, edit, regenerate, switch versions). */
  canWrite: boolean;
  /** A turn is running: actions that start another wait. */
  busy: boolean;
  /**
   * Answer again (with `model`, or the conversation's); for an answer that failed before
   * it was saved, run its turn again.
   */
  onRegenerate: (m: ChatMessage, model?: string) => void;
  /** The models a regeneration may pick from (none: no choice offered). */
  models?: readonly string[];
  /** False when the edit could not start (another turn is running). */
  onEdit: (m: ChatMessage, content: string) => boolean;
  /** Show another version; `from` is the button's label, for the focus to follow. */
  onSwitch: (targetId: string, from: string) => void;
  /** A refused edit to put back in its message's edit box. */
  reopenEdit?: ReopenEdit | null;
  onReopened?: () => void;
  /**
   * Rate an answer, or take the rating back (`null`); `onRefused` runs if the server says no.
   * Absent where the person may not rate.
   */
  onRate?: (m: ChatMessage, feedback: Feedback | null, onRefused?: () => void) => void;
  /** Ask to delete a message with what followed it (absent where the person may not). */
  onDelete?: (m: ChatMessage) => void;
  /**
   * Where a saved message's attachment downloads from (absent where files are not shown:
   * a public link lists their names only).
   */
  attachmentUrl?: (m: ChatMessage, position: number) => string;
}

const IconAction = forwardRef<HTMLButtonElement, { label: string; onClick: () => void; disabled?: boolean; pressed?: boolean; children: React.ReactNode }>(
  function IconAction({ label, onClick, disabled, pressed, children }, ref) {
    return (
      <Tooltip content={label}>
        <Button
          ref={ref}
          variant="ghost"
          size="icon-sm"
          className={cn("size-7 text-muted-foreground hover:text-foreground", pressed && "text-foreground [&_svg]:fill-current")}
          aria-label={label}
          aria-pressed={pressed}
          onClick={onClick}
          disabled={disabled}
        >
          {children}
        </Button>
      </Tooltip>
    );
  },
);

function CopyAction({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <IconAction
      label={copied ? "Copied" : "Copy message"}
      onClick={async () => {
        if (await copyText(text)) {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        }
      }}
    >
      {copied ? <Check aria-hidden /> : <Copy aria-hidden />}
    </IconAction>
  );
}

export function BranchSwitcher({
  info,
  role,
  onSwitch,
  disabled,
}: {
  info: BranchInfo;
  role: "user" | "assistant";
  onSwitch: (id: string, from: string) => void;
  disabled?: boolean;
}) {
  return (
    <div role="group" aria-label={branchLabel(info, role)} className="flex items-center text-xs text-muted-foreground tabular-nums">
      <Button
        variant="ghost"
        size="icon-sm"
        className="size-7"
        aria-label="Previous version"
        disabled={disabled || !info.previousId}
        onClick={() => info.previousId && onSwitch(info.previousId, "Previous version")}
      >
        <ChevronLeft aria-hidden />
      </Button>
      <span data-branch-position>
        {info.position}/{info.total}
      </span>
      <Button
        variant="ghost"
        size="icon-sm"
        className="size-7"
        aria-label="Next version"
        disabled={disabled || !info.nextId}
        onClick={() => info.nextId && onSwitch(info.nextId, "Next version")}
      >
        <ChevronRight aria-hidden />
      </Button>
    </div>
  );
}

function stats(m: ChatMessage): string {
  const parts: string[] = [];
  if (m.model) parts.push(m.model);
  const tokens = m.promptTokens + m.completionTokens;
  if (tokens > 0) {
    const cached = m.cachedPromptTokens > 0 ? ` (${formatNumber(m.cachedPromptTokens)} from prompt cache)` : "";
    parts.push(`${formatNumber(tokens)} tokens${cached}`);
  }
  if (m.latencyMs != null) parts.push(`${(m.latencyMs / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

function UserMessage({ message, actions }: { message: ChatMessage; actions: MessageActions }) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  /** Why the edit in the box was refused, until it is sent again or cancelled. */
  const [refusal, setRefusal] = useState<unknown>(undefined);
  const area = useRef<HTMLTextAreaElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const info = branchInfo(message);
  const { reopenEdit, onReopened } = actions;

  /** Opened again by a refusal while the person was elsewhere: leave the focus there. */
  const skipFocus = useRef(false);
  useEffect(() => {
    if (!editing) return;
    if (skipFocus.current) {
      skipFocus.current = false;
      return;
    }
    const el = area.current;
    el?.focus();
    el?.setSelectionRange(el.value.length, el.value.length);
  }, [editing]);

  useEffect(() => {
    if (reopenEdit?.id !== message.id) return;
    setDraft(reopenEdit.text);
    setRefusal(reopenEdit.error);
    setEditing(true);
    // The focus comes back to the box unless the person has moved on: typing in the
    // message box (which took the focus when the edit was sent) or elsewhere by the time
    // a refusal comes. The reason is announced either way.
    const active = document.activeElement;
    const idle =
      !active ||
      active === document.body ||
      active.closest(`li[data-message-id="${message.id}"]`) !== null ||
      (active instanceof HTMLTextAreaElement && active.id === "composer" && active.value === "");
    if (idle) {
      requestAnimationFrame(() => area.current?.focus());
    } else if (!editing) skipFocus.current = true;
    onReopened?.();
  }, [reopenEdit, onReopened, message.id]);

  const cancel = () => {
    setEditing(false);
    setDraft(message.content);
    setRefusal(undefined);
    skipFocus.current = false;
    // Back to the button that opened the box (rendered again once editing ends).
    requestAnimationFrame(() => editButton.current?.focus());
  };

  const files = message.attachments.length;
  const submit = () => {
    const text = draft.trim();
    // While another answer is being written the edit waits, as the button does.
    if ((!text && files === 0) || actions.busy) return;
    // Unchanged text is no edit, unless it was refused (a message re-asked as itself).
    if (text === message.content.trim() && refusal === undefined) {
      cancel();
      return;
    }
    if (actions.onEdit(message, draft)) {
      setEditing(false);
      setRefusal(undefined);
    }
  };

  if (editing) {
    return (
      <div className="ml-auto grid w-full max-w-[85%] gap-2 rounded-2xl border bg-card p-3 shadow-xs">
        <label htmlFor={`edit-${message.id}`} className="sr-only">
          Edit your message
        </label>
        <textarea
          id={`edit-${message.id}`}
          ref={area}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              cancel();
              return;
            }
            if (composerKeyAction({ key: e.key, shiftKey: e.shiftKey, altKey: e.altKey, isComposing: e.nativeEvent.isComposing }) === "send") {
              e.preventDefault();
              submit();
            }
          }}
          rows={Math.min(10, Math.max(2, draft.split("\n").length))}
          className="w-full resize-y bg-transparent text-sm leading-6 outline-none"
          aria-describedby={[refusal !== undefined && `edit-refused-${message.id}`, files > 0 && `edit-files-${message.id}`].filter(Boolean).join(" ") || undefined}
        />
        {refusal !== undefined && <EditRefusal id={`edit-refused-${message.id}`} error={refusal} />}
        <div className="flex items-center justify-end gap-2">
          {files > 0 && (
            <p id={`edit-files-${message.id}`} className="mr-auto text-xs text-muted-foreground">
              {files === 1 ? "Its attached file goes with it." : `Its ${files} attached files go with it.`}
            </p>
          )}
          <Button variant="outline" size="sm" onClick={cancel}>
            Cancel
          </Button>
          <Button size="sm" onClick={submit} disabled={(!draft.trim() && files === 0) || actions.busy}>
            Send edit
          </Button>
        </div>
      </div>
    );
  }

  return (
    <div className="group/msg ml-auto flex max-w-[85%] flex-col items-end gap-1">
      {files > 0 && <MessageFiles message={message} url={actions.attachmentUrl} />}
      {message.content !== "" && (
        <div
          className={cn(
            "rounded-2xl rounded-br-md bg-primary-soft px-4 py-2.5 text-sm leading-6 whitespace-pre-wrap text-foreground",
            message.optimistic && "opacity-80",
          )}
          style={{ overflowWrap: "anywhere" }}
        >
          {message.content}
        </div>
      )}
      <div className="flex h-7 items-center gap-0.5 opacity-100 transition-opacity focus-within:opacity-100 sm:opacity-0 sm:group-hover/msg:opacity-100 [&:has([data-branch-position])]:opacity-100">
        {info && <BranchSwitcher info={info} role="user" onSwitch={actions.onSwitch} disabled={!actions.canWrite || actions.busy} />}
        {!message.optimistic && message.content !== "" && <CopyAction text={message.content} />}
        {actions.canWrite && !message.optimistic && (
          <IconAction
            ref={editButton}
            label="Edit and resend"
            disabled={actions.busy}
            onClick={() => {
              setDraft(message.content);
              setEditing(true);
            }}
          >
            <Pencil aria-hidden />
          </IconAction>
        )}
        <DeleteAction message={message} actions={actions} />
      </div>
    </div>
  );
}

/**
 * A question's files: images as pictures that open full size, text files as chips that
 * download. Not yet saved, an image shows its preview; where files are not served (a
 * public link), each shows by name.
 */
function MessageFiles({ message, url }: { message: ChatMessage; url?: (m: ChatMessage, position: number) => string }) {
  const served = !message.optimistic && url ? (i: number) => url(message, i) : undefined;
  return (
    <ul className="flex flex-wrap justify-end gap-2" aria-label="Attached files">
      {message.attachments.map((a, i) => (
        <li key={`${i}:${a.name}`} className="max-w-full">
          <MessageFile file={a} href={served?.(i)} />
        </li>
      ))}
    </ul>
  );
}

function MessageFile({ file, href }: { file: AttachmentView; href?: string }) {
  const picture = file.preview ?? (isImage(file.mediaType) ? href : undefined);
  if (picture) {
    const img = <img src={picture} alt={file.name} loading="lazy" className="max-h-48 min-h-12 max-w-60 min-w-12 rounded-xl border bg-muted/40 object-contain" />;
    return href ? (
      <a
        href={href}
        target="_blank"
        rel="noreferrer"
        title={`${file.name} (opens full size)`}
        aria-label={`${file.name}, open full size in a new tab`}
        className="block rounded-xl focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none">
        {img}
      </a>
    ) : (
      img
    );
  }
  const Icon = isImage(file.mediaType) ? ImageIcon : FileText;
  const chip = (
    <>
      <Icon className="size-4 shrink-0 text-muted-foreground" aria-hidden />
      <span className="min-w-0 truncate font-medium">{file.name}</span>
      <span className="shrink-0 text-muted-foreground">{formatSize(file.size)}</span>
    </>
  );
  const look = "flex max-w-72 items-center gap-2 rounded-lg border bg-card px-2.5 py-1.5 text-xs";
  return href ? (
    <a href={href} download={file.name} title={`Download ${file.name}`} className={cn(look, "hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none")}>
      {chip}
    </a>
  ) : (
    <span className={look}>{chip}</span>
  );
}

/** Why an edit was not sent, inside its edit box: "Send edit" tries again. */
function EditRefusal({ id, error }: { id: string; error: unknown }) {
  const { title, description } = describeRefusal(error);
  return (
    <div id={id} role="alert" className="rounded-lg bg-destructive-soft px-3 py-2 text-sm text-destructive-soft-foreground" data-edit-refusal>
      <p className="font-medium">Not sent: {title}</p>
      <p className="opacity-90">{description}</p>
    </div>
  );
}

/**
 * A reasoning model's thoughts: open while it thinks, folded away once its answer starts
 * (React only touches `open` when thinking stops, so a reader's own toggle stays).
 */
function Reasoning({ text, thinking }: { text: string; thinking: boolean }) {
  return (
    <details className="group/reasoning rounded-lg border border-border bg-muted/40 px-3 py-2" open={thinking || undefined} data-reasoning>
      <summary className="flex w-fit cursor-pointer list-none items-center gap-1.5 text-xs font-medium text-muted-foreground select-none [&::-webkit-details-marker]:hidden">
        <Brain className={cn("size-3.5", thinking && "animate-pulse")} aria-hidden />
        {thinking ? "Thinking…" : "Thought process"}
        <ChevronRight className="size-3.5 transition-transform group-open/reasoning:rotate-90" aria-hidden />
      </summary>
      <p className="mt-2 text-xs leading-5 whitespace-pre-wrap text-muted-foreground" style={{ overflowWrap: "anywhere" }}>
        {text}
      </p>
    </details>
  );
}

/** Thumbs up and down on an answer: the one pressed is the reader's rating. */
function RateActions({
  current,
  onPress,
  thumbs,
}: {
  current: Rating | null;
  onPress: (rating: Rating) => void;
  thumbs: React.RefObject<Partial<Record<Rating, HTMLButtonElement | null>>>;
}) {
  return (
    <>
      <IconAction ref={(el) => void (thumbs.current.up = el)} label="Good answer" pressed={current === "up"} onClick={() => onPress("up")}>
        <ThumbsUp aria-hidden />
      </IconAction>
      <IconAction ref={(el) => void (thumbs.current.down = el)} label="Bad answer" pressed={current === "down"} onClick={() => onPress("down")}>
        <ThumbsDown aria-hidden />
      </IconAction>
    </>
  );
}

/** Why a rating was given, optionally: saved with it, for the workspace's admins. */
const RateComment = forwardRef<HTMLFormElement, { rating: Rating; onSend: (comment: string) => void; onClose: () => void }>(function RateComment(
  { rating, onSend, onClose },
  ref,
) {
  const [draft, setDraft] = useState("");
  const id = useId();
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => area.current?.focus(), []);
  const send = () => {
    if (draft.trim()) onSend(draft);
    else onClose();
  };
  return (
    <form
      ref={ref}
      className="grid max-w-xl gap-2 rounded-lg border bg-card p-3 shadow-xs"
      aria-label="Your feedback"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label htmlFor={id} className="text-sm font-medium">
        {rating === "up" ? "What was good about it?" : "What was wrong with it?"} <span className="font-normal text-muted-foreground">(optional)</span>
      </label>
      <textarea
        id={id}
        ref={area}
        value={draft}
        maxLength={MAX_COMMENT_CHARS}
        rows={2}
        aria-describedby={`${id}-who`}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            onClose();
          } else if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            send();
          }
        }}
        className="w-full resize-y rounded-md border bg-transparent px-2.5 py-1.5 text-sm leading-6 outline-none focus-visible:ring-2 focus-visible:ring-ring"
      />
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p id={`${id}-who`} className="text-xs text-muted-foreground">
          Your rating and comment are shown to the workspace's admins.
        </p>
        <div className="flex gap-2">
          <Button type="button" variant="ghost" size="sm" onClick={onClose}>
            Skip
          </Button>
          <Button type="submit" size="sm" disabled={!draft.trim()}>
            Send
          </Button>
        </div>
      </div>
    </form>
  );
});

/** The longest comment the server keeps, in characters. */
const MAX_COMMENT_CHARS = 2000;

/**
 * Rating one answer: pressing a thumb rates it at once and opens the box asking why;
 * pressing the thumb already pressed takes the rating back. When the box closes, the focus
 * goes back to the thumb that opened it. None where the person may not rate.
 */
function useRating(message: ChatMessage, onRate: MessageActions["onRate"]) {
  const [asking, setAsking] = useState<Rating | null>(null);
  const thumbs = useRef<Partial<Record<Rating, HTMLButtonElement | null>>>({});
  const box = useRef<HTMLFormElement>(null);
  if (!onRate) return null;
  const close = (focus = true) => {
    const thumb = asking && thumbs.current[asking];
    setAsking(null);
    if (focus && thumb) requestAnimationFrame(() => thumb.focus());
  };
  return {
    asking,
    thumbs,
    box,
    close: () => close(),
    press: (rating: Rating) => {
      if (message.feedback?.rating === rating) {
        setAsking(null);
        onRate(message, null);
        return;
      }
      onRate(message, { rating, comment: null }, () => {
        // Refused: nothing to say why about. The focus leaves the box only if it was there.
        const inBox = box.current?.contains(document.activeElement) ?? false;
        setAsking(null);
        if (inBox) thumbs.current[rating]?.focus();
      });
      setAsking(rating);
    },
    send: (comment: string) => {
      if (asking) onRate(message, { rating: asking, comment });
      close();
    },
  };
}

function AssistantMessage({ message, actions }: { message: ChatMessage; actions: MessageActions }) {
  const streaming = message.status === "streaming";
  const rating = useRating(message, actions.onRate);
  const info = branchInfo(message);
  const stopped = message.status === "interrupted";
  const failed = message.status === "error";
  const empty = message.content === "" && message.toolCalls.length === 0;
  return (
    <div className="group/msg flex gap-3">
      <div className="mt-0.5 flex size-7 shrink-0 items-center justify-center rounded-full bg-primary text-primary-foreground" aria-hidden>
        <Bot className="size-4" />
      </div>
      <div className="grid min-w-0 flex-1 grid-cols-[minmax(0,1fr)] gap-2">
        {message.reasoning && <Reasoning text={message.reasoning} thinking={streaming && message.content === ""} />}
        {message.toolCalls.length > 0 && (
          <div className="grid gap-1.5">
            {message.toolCalls.map((c, i) => (
              <ToolCallChip key={c.id || i} call={c} />
            ))}
          </div>
        )}
        {empty && streaming && !message.reasoning && (
          <p className="flex items-center gap-1.5 py-1 text-sm text-muted-foreground" data-thinking>
            <span className="flex gap-1" aria-hidden>
              <span className="size-1.5 animate-pulse rounded-full bg-current" />
              <span className="size-1.5 animate-pulse rounded-full bg-current [animation-delay:150ms]" />
              <span className="size-1.5 animate-pulse rounded-full bg-current [animation-delay:300ms]" />
            </span>
            Thinking…
          </p>
        )}
        {!empty && (
          <div className={cn("text-sm", streaming && "streaming-caret")} data-answer>
            <Suspense fallback={<Skeleton className="h-4 w-2/3" />}>
              <Markdown text={message.content} />
            </Suspense>
          </div>
        )}
        {stopped && (
          <p className="flex items-center gap-2 text-xs text-muted-foreground">
            <Badge variant="warning">
              <OctagonX aria-hidden /> Interrupted
            </Badge>
            {message.error && message.error.code !== STOPPED_CODE ? message.error.message : "Stopped before the answer was complete."}
          </p>
        )}
        {failed && (
          <div role="alert" className="flex flex-wrap items-center gap-3 rounded-lg border border-destructive/30 bg-destructive-soft px-3 py-2 text-sm text-destructive-soft-foreground">
            <AlertCircle className="size-4 shrink-0" aria-hidden />
            <span className="min-w-0 flex-1">{message.error?.message ?? "The answer failed."}</span>
            {actions.canWrite && (
              <Button size="sm" variant="outline" onClick={() => actions.onRegenerate(message)} disabled={actions.busy}>
                <RefreshCw aria-hidden /> Retry
              </Button>
            )}
          </div>
        )}
        {!streaming && (
          <div className="flex h-7 flex-wrap items-center gap-0.5 text-xs text-muted-foreground">
            {info && <BranchSwitcher info={info} role="assistant" onSwitch={actions.onSwitch} disabled={!actions.canWrite || actions.busy} />}
            {!message.optimistic && message.content && <CopyAction text={message.content} />}
            {actions.canWrite && !message.optimistic && !failed && (
              <IconAction label="Regenerate answer" onClick={() => actions.onRegenerate(message)} disabled={actions.busy}>
                <RefreshCw aria-hidden />
              </IconAction>
            )}
            {actions.canWrite && !message.optimistic && (actions.models?.length ?? 0) > 1 && (
              <RegenerateWith message={message} actions={actions} />
            )}
            {rating && !message.optimistic && !failed && <RateActions current={message.feedback?.rating ?? null} onPress={rating.press} thumbs={rating.thumbs} />}
            <DeleteAction message={message} actions={actions} />
            <span className="ml-1.5 truncate opacity-0 transition-opacity group-hover/msg:opacity-100 group-focus-within/msg:opacity-100" data-stats>
              {stats(message)}
            </span>
            {message.cached && (
              <Badge variant="outline" className="ml-1" title="Answered from the response cache">
                <Zap aria-hidden /> cached
              </Badge>
            )}
          </div>
        )}
        {rating?.asking && <RateComment key={rating.asking} ref={rating.box} rating={rating.asking} onSend={rating.send} onClose={rating.close} />}
      </div>
    </div>
  );
}

/** The trash button: asks (in the chat's dialog) before deleting. */
function DeleteAction({ message, actions }: { message: ChatMessage; actions: MessageActions }) {
  const { onDelete } = actions;
  if (!onDelete || !actions.canWrite || message.optimistic) return null;
  return (
    <IconAction label="Delete message" onClick={() => onDelete(message)} disabled={actions.busy}>
      <Trash2 aria-hidden />
    </IconAction>
  );
}

/** "Regenerate with…": the same question to another model, as a new version to compare. */
function RegenerateWith({ message, actions }: { message: ChatMessage; actions: MessageActions }) {
  return (
    <DropdownMenu>
      <Tooltip content="Regenerate with another model">
        <DropdownMenuTrigger asChild>
          <Button
            variant="ghost"
            size="icon-sm"
            className="size-7 text-muted-foreground hover:text-foreground"
            aria-label="Regenerate with another model"
            disabled={actions.busy}
          >
            <ChevronDown aria-hidden />
          </Button>
        </DropdownMenuTrigger>
      </Tooltip>
      <DropdownMenuContent align="start">
        <DropdownMenuLabel>Regenerate with</DropdownMenuLabel>
        {actions.models?.map((model) => (
          <DropdownMenuItem key={model} onSelect={() => actions.onRegenerate(message, model)}>
            <span className="font-mono text-xs">{model}</span>
            {model === message.model && <span className="ml-auto pl-3 text-xs text-muted-foreground">this answer's</span>}
          </DropdownMenuItem>
        ))}
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

export const MessageItem = memo(function MessageItem({
  message,
  actions,
  searchTarget = false,
  askedBy = "You",
}: {
  message: ChatMessage;
  actions: MessageActions;
  /** The message a search result opened: outlined for a moment. */
  searchTarget?: boolean;
  /** Who wrote the questions, as a screen reader names them. */
  askedBy?: string;
}) {
  return (
    <li
      className="list-none"
      data-message-id={message.id}
      data-live={message.optimistic ? "" : undefined}
      data-search-target={searchTarget ? "" : undefined}
      data-role={message.role}
      data-status={message.status}
      aria-label={message.role === "user" ? askedBy : "Assistant"}
    >
      {message.role === "user" ? <UserMessage message={message} actions={actions} /> : <AssistantMessage message={message} actions={actions} />}
    </li>
  );
});
