/** The assistant's keyboard shortcuts: new chat, search, and "/" to type a message. */
import { type ReactNode, useEffect, useRef } from "react";

export const IS_MAC = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const MOD_KEY = IS_MAC ? "⌘" : "Ctrl";

export function Kbd({ children }: { children: ReactNode }) {
  return (
    <kbd className="inline-flex min-w-5 items-center justify-center rounded border bg-muted px-1 font-sans text-[11px] leading-4 font-medium text-muted-foreground">
      {children}
    </kbd>
  );
}

export interface ShortcutKey {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  /** Focus is in a text field (where "/" is just a character). */
  typing: boolean;
}

export type Shortcut = "new-chat" | "search" | "focus-composer";

export function shortcutFor(e: ShortcutKey): Shortcut | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && e.shiftKey && !e.altKey && key === "o") return "new-chat";
  if (mod && !e.shiftKey && !e.altKey && key === "k") return "search";
  if (!mod && !e.altKey && e.key === "/" && !e.typing) return "focus-composer";
  return null;
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function useShortcuts(handlers: Record<Shortcut, () => void>) {
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      // While a dialog or menu is open, keys belong to it.
      if (document.querySelector("[role=dialog],[role=alertdialog],[role=menu]")) return;
      const which = shortcutFor({
        key: e.key,
        ctrlKey: e.ctrlKey,
        metaKey: e.metaKey,
        shiftKey: e.shiftKey,
        altKey: e.altKey,
        typing: isTyping(e.target),
      });
      if (!which) return;
      e.preventDefault();
      ref.current[which]();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
