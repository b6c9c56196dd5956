/**
 * Follow a streaming answer to the bottom, until the person scrolls up to read; scrolling
 * back down (or "Jump to latest") follows again.
 */
import { type RefObject, useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";

export interface ScrollMetrics {
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
}

/** Close enough to the bottom to count as "at the latest message". */
export const NEAR_BOTTOM_PX = 80;

export function isNearBottom(m: ScrollMetrics, threshold = NEAR_BOTTOM_PX): boolean {
  return m.scrollHeight - m.scrollTop - m.clientHeight <= threshold;
}

/** Decides whether new content should pull the view down. */
export class ScrollFollower {
  following = true;
  private lastTop = 0;

  /** A scroll happened (by the person or by us); returns whether we still follow. */
  onScroll(m: ScrollMetrics): boolean {
    if (isNearBottom(m)) this.following = true;
    // Content growing never moves scrollTop up: only the person does.
    else if (m.scrollTop < this.lastTop) this.following = false;
    this.lastTop = m.scrollTop;
    return this.following;
  }

  /** A wheel or key press upwards: stop following at once, before the scroll event. */
  onUserUp(): void {
    this.following = false;
  }

  follow(): void {
    this.following = true;
  }
}

/**
 * Keeps `scroller` pinned to the bottom while following. `version` changes whenever the
 * content may have grown (a new message, a streamed word). Returns whether to show
 * "Jump to latest", the jump itself, and a way to stay put.
 */
export function useAutoScroll(scroller: RefObject<HTMLElement | null>, version: unknown) {
  const follower = useRef(new ScrollFollower());
  const [away, setAway] = useState(false);
  // A finger on the screen, or the scrollbar held: the person is moving the view, and new
  // words must not pull it back down before the scroll event says where they took it.
  const held = useRef<"touch" | "pointer" | null>(null);

  const pin = useCallback(() => {
    const el = scroller.current;
    if (el && follower.current.following && held.current === null) el.scrollTop = el.scrollHeight;
  }, [scroller]);

  useLayoutEffect(pin, [pin, version]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => setAway(!follower.current.onScroll(el));
    const onWheel = (e: WheelEvent) => {
      if (e.deltaY < 0 && el.scrollTop > 0) {
        follower.current.onUserUp();
        setAway(true);
      }
    };
    const onKey = (e: KeyboardEvent) => {
      if (["ArrowUp", "PageUp", "Home"].includes(e.key)) {
        follower.current.onUserUp();
        setAway(true);
      }
    };
    const hold = (e: Event) => {
      // The scrollbar is the scroller itself; a press on the content is a click, not a scroll.
      if (e.type === "touchstart") held.current = "touch";
      else if (e.target === el) held.current = "pointer";
    };
    const release = () => {
      if (held.current === null) return;
      held.current = null;
      setAway(!follower.current.onScroll(el));
      pin();
    };
    // Browsers may not say when a scrollbar is let go (no pointerup after a drag): the end
    // of its scroll, or the pointer moving with no button down, says it too.
    const releasePointer = (e: Event) => {
      if (held.current !== "pointer") return;
      if (e.type === "pointermove" && (e as PointerEvent).buttons !== 0) return;
      release();
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    el.addEventListener("wheel", onWheel, { passive: true });
    el.addEventListener("keydown", onKey);
    el.addEventListener("touchstart", hold, { passive: true });
    el.addEventListener("pointerdown", hold);
    window.addEventListener("touchend", release);
    window.addEventListener("touchcancel", release);
    window.addEventListener("pointerup", release);
    window.addEventListener("pointermove", releasePointer, { passive: true });
    el.addEventListener("scrollend", releasePointer);
    // Code blocks and images can grow after rendering: keep pinned then too.
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(pin) : null;
    if (ro && el.firstElementChild) ro.observe(el.firstElementChild);
    return () => {
      el.removeEventListener("scroll", onScroll);
      el.removeEventListener("wheel", onWheel);
      el.removeEventListener("keydown", onKey);
      el.removeEventListener("touchstart", hold);
      el.removeEventListener("pointerdown", hold);
      window.removeEventListener("touchend", release);
      window.removeEventListener("touchcancel", release);
      window.removeEventListener("pointerup", release);
      window.removeEventListener("pointermove", releasePointer);
      el.removeEventListener("scrollend", releasePointer);
      ro?.disconnect();
    };
  }, [scroller, pin]);

  const jumpToLatest = useCallback(
    (smooth = true) => {
      follower.current.follow();
      setAway(false);
      const el = scroller.current;
      if (!el) return;
      if (typeof el.scrollTo === "function") el.scrollTo({ top: el.scrollHeight, behavior: smooth ? "smooth" : "auto" });
      else el.scrollTop = el.scrollHeight;
    },
    [scroller],
  );

  /**
   * The view was moved to an earlier message: stop following (as if the person had
   * scrolled up), unless it is still at the bottom.
   */
  const hold = useCallback(() => {
    const el = scroller.current;
    if (el && isNearBottom(el)) {
      follower.current.follow();
      setAway(false);
    } else {
      follower.current.onUserUp();
      setAway(true);
    }
  }, [scroller]);

  return { away, jumpToLatest, hold };
}
