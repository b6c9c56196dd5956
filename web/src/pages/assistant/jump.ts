/**
 * Opening a search result: the conversation shows the message that matched, in the middle
 * of the view, glowing for a moment, with the searched words marked in it. The list links
 * to `…/assistant/{id}?m={message}&q={words}`, so the place can be shared and reloaded.
 */

import { type RefObject, useEffect, useLayoutEffect, useState } from "react";

/** What a search result's link asks the chat to show. */
export interface MatchTarget {
  messageId: string;
  words: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The target in a location's search string; none when it has no (well-formed) message. */
export function matchTarget(search: string): MatchTarget | null {
  const params = new URLSearchParams(search);
  const id = params.get("m") ?? "";
  // The id goes into a selector: only a UUID is taken.
  return UUID.test(id) ? { messageId: id, words: params.get("q") ?? "" } : null;
}

/** The link of a conversation found by a search, at the message that matched. */
export function matchHref(conversationHref: string, messageId: string, words: string): string {
  const params = new URLSearchParams({ m: messageId });
  if (words) params.set("q", words);
  return `${conversationHref}?${params}`;
}

/**
 * Where `words` occur in the text under `root`, ignoring case, as ranges. A match that
 * crosses an element's edge (half of it bold) is not found; text whose length lower-casing
 * changes is skipped, as in the list's marks.
 */
export function wordRanges(root: Node, words: string): Range[] {
  const needle = words.trim().toLowerCase();
  if (!needle) return [];
  const doc = root.ownerDocument ?? (root as Document);
  const walker = doc.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const ranges: Range[] = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue ?? "";
    const lower = text.toLowerCase();
    if (lower.length !== text.length) continue;
    for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + needle.length)) {
      const range = doc.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + needle.length);
      ranges.push(range);
    }
  }
  return ranges;
}

/** The name the stylesheet styles (`::highlight(search-match)`). */
const HIGHLIGHT = "search-match";

/**
 * Mark `words` under `root` with the CSS Custom Highlight API: the rendered answer's DOM
 * (React's, and the lazily rendered markdown's) is not touched. Returns the unmarking.
 * Where the API is missing the words are simply not marked.
 */
export function markWords(root: Node, words: string): () => void {
  const registry = typeof CSS !== "undefined" ? CSS.highlights : undefined;
  if (!registry || typeof Highlight === "undefined") return () => {};
  const ranges = wordRanges(root, words);
  if (ranges.length === 0) return () => {};
  const highlight = new Highlight(...ranges);
  registry.set(HIGHLIGHT, highlight);
  return () => {
    if (registry.get(HIGHLIGHT) === highlight) registry.delete(HIGHLIGHT);
  };
}

/** How long the opened message stays outlined, and re-centred while the page settles. */
export const OUTLINE_MS = 2500;
const SETTLE_MS = 1500;

export interface JumpState {
  /** The message to outline now, if any. */
  outlined: string | null;
  /** The target is not on the branch shown (an earlier version of the conversation). */
  elsewhere: boolean;
  /** Give up on the target (the person dismissed the notice). */
  dismiss: () => void;
}

/**
 * Brings `target`'s message to the middle of `scroller` once it is among `shown` (the
 * messages on screen; undefined while they load), and marks the words in it. `hold`
 * (called once the view has moved) stops it following the latest message, which would
 * pull it away again.
 */
export function useJumpToMatch(
  scroller: RefObject<HTMLElement | null>,
  target: MatchTarget | null,
  shown: readonly { id: string }[] | undefined,
  hold: () => void,
): JumpState {
  const key = target ? `${target.messageId} ${target.words}` : null;
  const [reached, setReached] = useState<string | null>(null);
  const [outlined, setOutlined] = useState<string | null>(null);
  const present = target !== null && (shown?.some((m) => m.id === target.messageId) ?? false);

  // A layout effect, after the follower's: the view never paints at the bottom first.
  useLayoutEffect(() => {
    if (!target || !present || reached === key) return;
    const el = scroller.current?.querySelector(`li[data-message-id="${target.messageId}"]`);
    if (!el) return;
    el.scrollIntoView?.({ block: "center" });
    hold();
    // Shown by "Show that version", whose notice is gone with the focus it had: the
    // focus goes to the message. (Opened from the list, the composer keeps it.)
    const focus = el.ownerDocument.activeElement;
    if (!focus || focus === el.ownerDocument.body) {
      (el as HTMLElement).tabIndex = -1;
      (el as HTMLElement).focus({ preventScroll: true });
    }
    setReached(key);
    setOutlined(target.messageId);
  }, [target, present, reached, key, scroller, hold]);

  useEffect(() => {
    if (!outlined) return;
    const timer = setTimeout(() => setOutlined(null), OUTLINE_MS);
    return () => clearTimeout(timer);
  }, [outlined]);

  // Code, math and markdown render after the first paint and move the message: keep it
  // centred for a moment, unless the person starts to scroll themselves.
  useEffect(() => {
    const root = scroller.current;
    const el = target && reached === key ? root?.querySelector(`li[data-message-id="${target.messageId}"]`) : null;
    if (!root || !el || typeof ResizeObserver === "undefined") return;
    const centre = new ResizeObserver(() => el.scrollIntoView?.({ block: "center" }));
    if (root.firstElementChild) centre.observe(root.firstElementChild);
    const stop = () => centre.disconnect();
    const timer = setTimeout(stop, SETTLE_MS);
    for (const e of ["wheel", "keydown", "pointerdown", "touchstart"]) root.addEventListener(e, stop, { once: true });
    return () => {
      stop();
      clearTimeout(timer);
      for (const e of ["wheel", "keydown", "pointerdown", "touchstart"]) root.removeEventListener(e, stop);
    };
  }, [target, reached, key, scroller]);

  // The words stay marked while the message is on screen, through its late rendering.
  useEffect(() => {
    const el = target && reached === key ? scroller.current?.querySelector(`li[data-message-id="${target.messageId}"]`) : null;
    if (!el || !target?.words) return;
    let unmark = markWords(el, target.words);
    const again = new MutationObserver(() => {
      unmark();
      unmark = markWords(el, target.words);
    });
    again.observe(el, { childList: true, subtree: true, characterData: true });
    return () => {
      again.disconnect();
      unmark();
    };
  }, [target, reached, key, scroller]);

  return {
    outlined,
    elsewhere: target !== null && shown !== undefined && !present && reached !== key,
    dismiss: () => setReached(key),
  };
}
