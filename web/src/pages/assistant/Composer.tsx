import { ArrowUp, BookText, FileText, Loader2, Paperclip, Square, X } from "lucide-react";
import {
  type ClipboardEvent,
  forwardRef,
  type KeyboardEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useId,
  useImperativeHandle,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/lib/cn";
import { draftStorageKey, readDraftFiles, writeDraftFiles } from "@/lib/drafts";
import { readSession, writeSession } from "@/lib/storage";
import { formatSize, MAX_FILES, type OutgoingFile, readFiles } from "./attachments";
import { filterPrompts, type Prompt, promptQuery } from "./prompts";

export interface KeyInfo {
  key: string;
  shiftKey: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  /** An input method (Japanese, Chinese…) is composing: Enter picks a candidate, it doesn't send. */
  isComposing?: boolean;
}

/** Enter sends, Shift+Enter (or Alt+Enter) is a new line, Enter while composing is the IME's. */
export function composerKeyAction(e: KeyInfo): "send" | "newline" | null {
  if (e.key !== "Enter" || e.isComposing) return null;
  if (e.shiftKey || e.altKey) return "newline";
  return "send";
}

export interface ComposerHandle {
  focus: () => void;
  setText: (text: string) => void;
  /** Put `text` where the caret is (replacing what is selected), keeping the rest; take the focus. */
  insert: (text: string) => void;
  /** Attach these files again (a message the server refused gives them back). */
  addFiles: (files: readonly OutgoingFile[]) => void;
}

export interface ComposerProps {
  /** Returns false to keep the text and files (e.g. a turn is still running). */
  onSend: (text: string, files: OutgoingFile[]) => boolean | void;
  onStop: () => void;
  /** An answer is streaming: the button stops it, Enter waits. */
  busy: boolean;
  stopping?: boolean;
  disabled?: boolean;
  placeholder?: string;
  /** Model picker and the like, under the text. */
  tools?: ReactNode;
  hint?: ReactNode;
  /**
   * Where the unsent text is kept (this tab's storage), so that it is still there after
   * opening another conversation or reloading. One per conversation.
   */
  draftKey?: string;
  /**
   * Saved prompts, offered when the message starts with "/": arrows pick, Enter or Tab puts
   * the prompt's text in the box, Escape closes the list. `onManage` opens the library.
   */
  prompts?: { items: readonly Prompt[]; onManage: () => void };
  /** Offer to attach images and text files (a button, pasting, dropping). */
  attach?: boolean;
}

const MAX_HEIGHT = 240;

export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer(
  { onSend, onStop, busy, stopping, disabled, placeholder = "Message the assistant…", tools, hint, draftKey, prompts, attach },
  ref,
) {
  const [text, setText] = useState(() => (draftKey ? (readSession(draftStorageKey(draftKey)) ?? "") : ""));
  // The same box may serve another conversation (a new chat's becomes the conversation's;
  // that one's becomes a new chat's): each keeps its own draft, read again when the box
  // changes hands.
  const [draftOf, setDraftOf] = useState(draftKey);
  if (draftOf !== draftKey) {
    setDraftOf(draftKey);
    setText(draftKey ? (readSession(draftStorageKey(draftKey)) ?? "") : "");
  }
  const menu = usePromptMenu(text, prompts?.items);
  const files = useAttachedFiles(draftKey, Boolean(attach), Boolean(disabled));

  useEffect(() => {
    if (draftKey) writeSession(draftStorageKey(draftKey), text === "" ? null : text);
  }, [draftKey, text]);
  const area = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);

  // Asked for the focus while disabled (the conversation still loading): take it once
  // enabled, unless the person has gone somewhere else meanwhile.
  const wantsFocus = useRef(false);
  useEffect(() => {
    if (disabled || !wantsFocus.current) return;
    wantsFocus.current = false;
    const active = document.activeElement;
    if (!active || active === document.body || active.closest("[data-conversation-id]")) area.current?.focus();
  }, [disabled]);

  /**
   * Show `next` in the box, the caret at `caret` and the focus in it (once React has put
   * the text there). Text a saved prompt put there does not open the prompt list again,
   * even if it is itself a "/word".
   */
  const place = (next: string, caret: number, fromPrompt = false) => {
    setText(next);
    if (fromPrompt) menu.dismiss(next);
    const el = area.current;
    el?.focus();
    requestAnimationFrame(() => el?.setSelectionRange(caret, caret));
  };

  useImperativeHandle(ref, () => ({
    focus: () => {
      if (area.current?.disabled) wantsFocus.current = true;
      else area.current?.focus();
    },
    setText: (t) => place(t, t.length),
    insert: (t) => {
      const start = area.current?.selectionStart ?? text.length;
      const end = area.current?.selectionEnd ?? text.length;
      place(text.slice(0, start) + t + text.slice(end), start + t.length, true);
    },
    addFiles: (f) => files.restore(f),
  }));

  // Grow with the text, up to a limit; then scroll inside.
  useLayoutEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT)}px`;
  }, [text]);

  /** Put a saved prompt's text in the box, the caret at its end. */
  const insertPrompt = (p: Prompt) => place(p.content, p.content.length, true);

  const sendable = (text.trim() !== "" || files.list.length > 0) && !files.reading;
  const send = useCallback(() => {
    if (busy || disabled || !sendable) return;
    // Files alone: blank lines around them are no words.
    if (onSend(text.trim() === "" ? "" : text, [...files.list]) !== false) {
      setText("");
      files.clear();
    }
  }, [busy, disabled, sendable, text, onSend, files]);

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const pasted = [...e.clipboardData.files];
    if (!attach || pasted.length === 0) return;
    // A screenshot comes as a file alone; copied text that also carries a picture of
    // itself (office suites) pastes as text.
    if (e.clipboardData.getData("text/plain")) return;
    e.preventDefault();
    // Pasted pictures are all called "image.png": number them, to tell them apart.
    const taken = files.list.length;
    files.add(pasted.map((f, i) => (f.name === "image.png" ? new File([f], `Pasted image ${taken + i + 1}.png`, { type: f.type }) : f)));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // An input method confirming a word (Safari says so only with keyCode 229).
    const composing = e.nativeEvent.isComposing || e.keyCode === 229;
    const plain = !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey;
    if (menu.open && !composing) {
      const chosen = menu.matches[menu.active];
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        menu.move(e.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if ((e.key === "Enter" || e.key === "Tab") && plain) {
        if (chosen) {
          e.preventDefault();
          insertPrompt(chosen);
          return;
        }
      }
      if (e.key === "Escape") {
        e.preventDefault();
        menu.dismiss();
        return;
      }
    }
    const action = composerKeyAction({
      key: e.key,
      shiftKey: e.shiftKey,
      ctrlKey: e.ctrlKey,
      metaKey: e.metaKey,
      altKey: e.altKey,
      isComposing: composing,
    });
    if (action === "send") {
      e.preventDefault();
      send();
    } else if (action === "newline" && e.altKey) {
      // Alt+Enter inserts nothing by itself in a textarea: add the line break.
      e.preventDefault();
      const el = e.currentTarget;
      const { selectionStart: s, selectionEnd: end } = el;
      const next = `${text.slice(0, s)}\n${text.slice(end)}`;
      setText(next);
      requestAnimationFrame(() => el.setSelectionRange(s + 1, s + 1));
    }
  };

  return (
    <form
      className={cn(
        "relative rounded-2xl border bg-card shadow-sm transition-colors focus-within:border-ring focus-within:ring-2 focus-within:ring-ring/20",
        disabled && "opacity-70",
        files.dragging && "border-ring ring-2 ring-ring/40",
      )}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {files.dragging && (
        <div className="pointer-events-none absolute inset-0 z-10 flex items-center justify-center rounded-2xl border-2 border-dashed border-ring bg-card/90 text-sm font-medium">
          Drop files to attach them
        </div>
      )}
      {attach && (
        <AttachedFiles
          files={files.list}
          problems={files.problems}
          reading={files.reading}
          onRemove={(i) => {
            files.remove(i);
            area.current?.focus();
          }}
        />
      )}
      <label htmlFor="composer" className="sr-only">
        Message
      </label>
      <textarea
        id="composer"
        ref={area}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
        onBlur={() => menu.open && menu.dismiss()}
        rows={1}
        disabled={disabled}
        placeholder={placeholder}
        aria-describedby="composer-hint"
        aria-autocomplete={prompts ? "list" : undefined}
        aria-controls={menu.open ? menu.id : undefined}
        aria-activedescendant={menu.open && menu.matches[menu.active] ? `${menu.id}-${menu.active}` : undefined}
        className="block max-h-60 min-h-12 w-full resize-none bg-transparent px-4 pt-3 pb-1 text-sm leading-6 outline-none placeholder:text-muted-foreground/80 disabled:cursor-not-allowed"
      />
      {menu.open && prompts && (
        <PromptMenu id={menu.id} query={menu.query} matches={menu.matches} active={menu.active} onChoose={insertPrompt} onManage={prompts.onManage} />
      )}
      <div className="flex items-center gap-2 px-2 pb-2">
        <div className="flex min-w-0 flex-1 flex-wrap items-center gap-1.5">
          {prompts && (
            <Button
              type="button"
              variant="ghost"
              size="icon-sm"
              className="text-muted-foreground hover:text-foreground"
              aria-label="Saved prompts"
              title="Saved prompts (type / in the message)"
              onClick={prompts.onManage}
            >
              <BookText aria-hidden />
            </Button>
          )}
          {attach && (
            <>
              <input
                ref={picker}
                type="file"
                multiple
                hidden
                aria-hidden
                tabIndex={-1}
                data-testid="attach-input"
                onChange={(e) => {
                  files.add([...(e.target.files ?? [])]);
                  // The same file can be chosen again after it was removed.
                  e.target.value = "";
                  area.current?.focus();
                }}
              />
              <Button
                type="button"
                variant="ghost"
                size="icon-sm"
                className="text-muted-foreground hover:text-foreground"
                aria-label="Attach files"
                title="Attach images or text files (or paste, or drop them here)"
                disabled={disabled}
                onClick={() => picker.current?.click()}
              >
                <Paperclip aria-hidden />
              </Button>
            </>
          )}
          {tools}
        </div>
        {busy ? (
          <Button
            type="button"
            size="icon-sm"
            variant="outline"
            onClick={() => {
              onStop();
              // The button turns to Send once stopped: the focus goes where the next message is typed.
              area.current?.focus();
            }}
            disabled={stopping}
            aria-label="Stop generating"
            title="Stop generating"
            className="rounded-full"
          >
            <Square className="size-3.5 fill-current" aria-hidden />
          </Button>
        ) : (
          <Button
            type="submit"
            size="icon-sm"
            disabled={disabled || !sendable}
            aria-label="Send message"
            title="Send (Enter)"
            className="rounded-full"
          >
            <ArrowUp aria-hidden />
          </Button>
        )}
      </div>
      {attach && (
        // Said once a read ends: how many files go with the message now.
        <p className="sr-only" role="status">
          {files.reading ? "" : files.list.length === 1 ? "1 file attached." : files.list.length > 1 ? `${files.list.length} files attached.` : ""}
        </p>
      )}
      <p id="composer-hint" className="sr-only">
        Enter sends, Shift+Enter starts a new line.{prompts ? " Type / for saved prompts." : ""}
      </p>
      {hint}
    </form>
  );
});

/**
 * The files going with the next message (kept per draft, in memory, while another
 * conversation is on screen), what was wrong with those that could not go, whether files
 * are being read, and whether files are being dragged over the page. Files dropped
 * anywhere on the page are attached (a browser would otherwise open them in place of the
 * app).
 */
function useAttachedFiles(draftKey: string | undefined, attach: boolean, disabled: boolean) {
  const [list, setListState] = useState<readonly OutgoingFile[]>(() => (draftKey ? readDraftFiles<OutgoingFile>(draftKey) : []));
  const [problems, setProblems] = useState<readonly string[]>([]);
  const [reading, setReading] = useState(0);
  const [dragging, setDragging] = useState(false);
  // What is attached now, for reads that end after a change; and whose draft it is.
  const current = useRef(list);
  const key = useRef(draftKey);
  const [filesOf, setFilesOf] = useState(draftKey);
  if (filesOf !== draftKey) {
    // The box serves another conversation: its own files show (see the text's draft).
    setFilesOf(draftKey);
    const theirs = draftKey ? readDraftFiles<OutgoingFile>(draftKey) : [];
    current.current = theirs;
    setListState(theirs);
    setProblems([]);
  }
  key.current = draftKey;
  const setList = useCallback((next: readonly OutgoingFile[]) => {
    current.current = next;
    setListState(next);
    if (key.current) writeDraftFiles(key.current, next);
  }, []);
  // One read at a time, each checked against what the ones before it attached.
  const queue = useRef<Promise<void>>(Promise.resolve());
  const add = useCallback(
    (picked: File[]) => {
      if (picked.length === 0) return;
      setReading((n) => n + 1);
      const forKey = key.current;
      queue.current = queue.current.then(async () => {
        try {
          const { added, problems } = await readFiles(picked, forKey === key.current ? current.current : readDraftFiles<OutgoingFile>(forKey ?? ""));
          if (forKey !== key.current) {
            // Picked for a conversation no longer on screen: they wait in its draft.
            if (forKey) writeDraftFiles(forKey, [...readDraftFiles<OutgoingFile>(forKey), ...added]);
            return;
          }
          setList([...current.current, ...added]);
          setProblems(problems);
        } catch {
          setProblems(["The files couldn't be read."]);
        } finally {
          setReading((n) => n - 1);
        }
      });
    },
    [setList],
  );
  const remove = useCallback(
    (index: number) => {
      setList(current.current.filter((_, i) => i !== index));
      setProblems([]);
    },
    [setList],
  );
  const clear = useCallback(() => {
    setList([]);
    setProblems([]);
  }, [setList]);
  /** Files given back (a refused message's), after those in the box, as many as may go. */
  const restore = useCallback(
    (files: readonly OutgoingFile[]) => {
      const same = (a: OutgoingFile, b: OutgoingFile) => a.name === b.name && a.size === b.size && a.data === b.data;
      const back = files.filter((f) => !current.current.some((c) => same(c, f)));
      setList([...current.current, ...back].slice(0, MAX_FILES));
    },
    [setList],
  );

  const blocked = useRef(disabled);
  blocked.current = disabled;
  useEffect(() => {
    if (!attach) return;
    const withFiles = (e: globalThis.DragEvent) => e.dataTransfer?.types.includes("Files") ?? false;
    // Entering and leaving each element fire in turn: the drag has left the page when they even out.
    let depth = 0;
    const enter = (e: globalThis.DragEvent) => {
      if (!withFiles(e)) return;
      depth += 1;
      setDragging(true);
    };
    const leave = (e: globalThis.DragEvent) => {
      if (!withFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const over = (e: globalThis.DragEvent) => {
      if (!withFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = blocked.current ? "none" : "copy";
    };
    const drop = (e: globalThis.DragEvent) => {
      if (!withFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setDragging(false);
      if (!blocked.current) add([...(e.dataTransfer?.files ?? [])]);
    };
    window.addEventListener("dragenter", enter);
    window.addEventListener("dragleave", leave);
    window.addEventListener("dragover", over);
    window.addEventListener("drop", drop);
    return () => {
      window.removeEventListener("dragenter", enter);
      window.removeEventListener("dragleave", leave);
      window.removeEventListener("dragover", over);
      window.removeEventListener("drop", drop);
    };
  }, [attach, add]);

  return useMemo(
    () => ({ list, problems, reading: reading > 0, dragging: dragging && !disabled, add, remove, clear, restore }),
    [list, problems, reading, dragging, disabled, add, remove, clear, restore],
  );
}

/** The files going with the next message, each with a way to take it off; and why others could not go. */
function AttachedFiles({
  files,
  problems,
  reading,
  onRemove,
}: {
  files: readonly OutgoingFile[];
  problems: readonly string[];
  reading: boolean;
  onRemove: (index: number) => void;
}) {
  if (files.length === 0 && problems.length === 0 && !reading) return null;
  return (
    <div className="grid gap-1.5 px-3 pt-3">
      {reading && (
        <p className="flex items-center gap-2 text-xs text-muted-foreground">
          <Loader2 className="size-3.5 animate-spin" aria-hidden /> Reading files…
        </p>
      )}
      {files.length > 0 && (
        <ul className="flex flex-wrap gap-2" aria-label="Attached files">
          {files.map((f, i) => (
            <li key={`${i}:${f.name}`} className="flex max-w-56 items-center gap-2 rounded-lg border bg-muted/40 py-1 pr-1 pl-1.5 text-xs">
              {f.preview ? (
                <img src={f.preview} alt="" className="size-8 shrink-0 rounded object-cover" />
              ) : (
                <FileText className="size-4 shrink-0 text-muted-foreground" aria-hidden />
              )}
              <span className="min-w-0">
                <span className="block truncate font-medium" title={f.name}>
                  {f.name}
                </span>
                <span className="text-muted-foreground">{formatSize(f.size)}</span>
              </span>
              <Button type="button" variant="ghost" size="icon-sm" className="size-6 shrink-0" aria-label={`Remove ${f.name}`} onClick={() => onRemove(i)}>
                <X aria-hidden />
              </Button>
            </li>
          ))}
        </ul>
      )}
      {problems.length > 0 && (
        <div role="alert" className="grid gap-0.5 text-xs text-destructive">
          {problems.map((p, i) => (
            // The same sentence may come twice.
            <p key={i}>{p}</p>
          ))}
        </div>
      )}
    </div>
  );
}

/** The saved prompts a message starting with "/" asks for, and which one the arrows are on. */
function usePromptMenu(text: string, prompts: readonly Prompt[] | undefined) {
  const id = useId();
  const query = prompts ? promptQuery(text) : null;
  // Escape (or leaving the box, or a prompt just put in it) closes the list until the
  // text changes.
  const [dismissedAt, setDismissedAt] = useState<string | null>(null);
  if (dismissedAt !== null && dismissedAt !== text) setDismissedAt(null);
  const [picked, setPicked] = useState({ query: "", index: 0 });
  const open = query !== null && dismissedAt !== text;
  const matches = open && prompts ? filterPrompts(prompts, query) : [];
  // Typing more starts again at the first match.
  const active = picked.query === query ? Math.min(picked.index, Math.max(matches.length - 1, 0)) : 0;
  return {
    id,
    open,
    query: query ?? "",
    matches,
    active,
    move: (by: number) => {
      if (matches.length === 0) return;
      setPicked({ query: query ?? "", index: (active + by + matches.length) % matches.length });
    },
    /** Close the list until the text changes (from `at`, by default what it is now). */
    dismiss: (at: string = text) => setDismissedAt(at),
  };
}

/** The list of saved prompts over the message box (a listbox the box's arrows drive). */
function PromptMenu({
  id,
  query,
  matches,
  active,
  onChoose,
  onManage,
}: {
  id: string;
  query: string;
  matches: readonly Prompt[];
  active: number;
  onChoose: (p: Prompt) => void;
  onManage: () => void;
}) {
  // The arrows may take the choice past the list's height: keep it in view.
  useEffect(() => {
    document.getElementById(`${id}-${active}`)?.scrollIntoView?.({ block: "nearest" });
  }, [id, active]);
  return (
    <div className="absolute inset-x-0 bottom-full z-20 mb-2 overflow-hidden rounded-xl border bg-popover text-popover-foreground shadow-lg" data-prompt-menu>
      {/* The box keeps the focus: a screen reader hears that the list opened, and how long it is. */}
      <p className="sr-only" role="status">
        {matches.length > 0 ? `${matches.length} saved ${matches.length === 1 ? "prompt" : "prompts"}: up and down arrows to choose, Enter to use.` : ""}
      </p>
      {matches.length > 0 ? (
        <div role="listbox" id={id} aria-label="Saved prompts" className="max-h-64 overflow-y-auto p-1">
          {matches.map((p, i) => (
            <div
              key={p.id}
              id={`${id}-${i}`}
              role="option"
              aria-selected={i === active}
              // The box keeps the focus (and its caret) while a prompt is clicked.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => onChoose(p)}
              className={cn("grid cursor-pointer gap-0.5 rounded-lg px-3 py-2 text-sm", i === active ? "bg-accent text-accent-foreground" : "hover:bg-accent/60")}
            >
              <span className="truncate font-medium">{p.title}</span>
              <span className="truncate text-xs text-muted-foreground">{p.content.split("\n", 1)[0]}</span>
            </div>
          ))}
        </div>
      ) : (
        <p id={id} className="px-4 py-3 text-sm text-muted-foreground">
          {query ? `No saved prompt is called “${query}”.` : "No saved prompts yet."}
        </p>
      )}
      <div className="flex items-center justify-between gap-2 border-t px-3 py-1.5 text-xs text-muted-foreground">
        <span>↑↓ to choose, Enter to use, Esc to close</span>
        <Button type="button" variant="ghost" size="sm" onMouseDown={(e) => e.preventDefault()} onClick={onManage}>
          Manage prompts
        </Button>
      </div>
    </div>
  );
}
