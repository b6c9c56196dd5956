import { ArrowUp, Square } from "lucide-react";
import {
  forwardRef,
  type KeyboardEvent,
  type ReactNode,
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/lib/cn";
import { readSession, writeSession } from "@/lib/storage";

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
}

export interface ComposerProps {
  /** Returns false to keep the text (e.g. a turn is still running). */
  onSend: (text: string) => boolean | void;
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
}

const draftStorageKey = (key: string) => `nexus-draft:${key}`;

const MAX_HEIGHT = 240;

export const Composer = forwardRef<ComposerHandle, ComposerProps>(function Composer(
  { onSend, onStop, busy, stopping, disabled, placeholder = "Message the assistant…", tools, hint, draftKey },
  ref,
) {
  const [text, setText] = useState(() => (draftKey ? (readSession(draftStorageKey(draftKey)) ?? "") : ""));

  useEffect(() => {
    if (draftKey) writeSession(draftStorageKey(draftKey), text === "" ? null : text);
  }, [draftKey, text]);
  const area = useRef<HTMLTextAreaElement>(null);

  useImperativeHandle(ref, () => ({
    focus: () => area.current?.focus(),
    setText: (t) => {
      setText(t);
      requestAnimationFrame(() => {
        const el = area.current;
        if (el) {
          el.focus();
          el.setSelectionRange(t.length, t.length);
        }
      });
    },
  }));

  // Grow with the text, up to a limit; then scroll inside.
  useLayoutEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT)}px`;
  }, [text]);

  const send = useCallback(() => {
    if (busy || disabled || !text.trim()) return;
    if (onSend(text) !== false) setText("");
  }, [busy, disabled, text, onSend]);

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    const action = composerKeyAction({
      key: e.key,
      shiftKey: e.shiftKey,
      ctrlKey: e.ctrlKey,
      metaKey: e.metaKey,
      altKey: e.altKey,
      isComposing: e.nativeEvent.isComposing || e.keyCode === 229,
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
        "rounded-2xl border bg-card shadow-sm transition-colors focus-within:border-ring focus-within:ring-2 focus-within:ring-ring/20",
        disabled && "opacity-70",
      )}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label htmlFor="composer" className="sr-only">
        Message
      </label>
      <textarea
        id="composer"
        ref={area}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        rows={1}
        disabled={disabled}
        placeholder={placeholder}
        aria-describedby="composer-hint"
        className="block max-h-60 min-h-12 w-full resize-none bg-transparent px-4 pt-3 pb-1 text-sm leading-6 outline-none placeholder:text-muted-foreground/80 disabled:cursor-not-allowed"
      />
      <div className="flex items-center gap-2 px-2 pb-2">
        <div className="flex min-w-0 flex-1 flex-wrap items-center gap-1.5">{tools}</div>
        {busy ? (
          <Button
            type="button"
            size="icon-sm"
            variant="outline"
            onClick={onStop}
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
            disabled={disabled || !text.trim()}
            aria-label="Send message"
            title="Send (Enter)"
            className="rounded-full"
          >
            <ArrowUp aria-hidden />
          </Button>
        )}
      </div>
      <p id="composer-hint" className="sr-only">
        Enter sends, Shift+Enter starts a new line.
      </p>
      {hint}
    </form>
  );
});
