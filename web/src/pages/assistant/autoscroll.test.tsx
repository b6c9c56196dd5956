import { fireEvent, render, screen } from "@testing-library/react";
import { useRef } from "react";
import { describe, expect, it } from "vitest";
import { isNearBottom, ScrollFollower, useAutoScroll } from "./autoscroll";

const at = (scrollTop: number, scrollHeight = 2000, clientHeight = 500) => ({ scrollTop, scrollHeight, clientHeight });

describe("isNearBottom", () => {
  it("counts the last 80 px as the bottom", () => {
    expect(isNearBottom(at(1500))).toBe(true);
    expect(isNearBottom(at(1420))).toBe(true);
    expect(isNearBottom(at(1419))).toBe(false);
    expect(isNearBottom(at(0, 400, 500))).toBe(true); // shorter than the window
  });
});

describe("ScrollFollower", () => {
  it("follows until the person scrolls up, and again once they are back at the bottom", () => {
    const f = new ScrollFollower();
    expect(f.onScroll(at(1500))).toBe(true);
    // The answer grows: the view is no longer at the bottom, but nobody scrolled up.
    expect(f.onScroll(at(1500, 2400))).toBe(true);
    // The person scrolls up to read.
    expect(f.onScroll(at(1200, 2400))).toBe(false);
    // More text arrives: stay where they are.
    expect(f.onScroll(at(1200, 2800))).toBe(false);
    // They scroll back down to the end.
    expect(f.onScroll(at(2300, 2800))).toBe(true);
  });

  it("stops at once on a wheel or key upwards, and follows again on request", () => {
    const f = new ScrollFollower();
    f.onUserUp();
    expect(f.following).toBe(false);
    f.follow();
    expect(f.following).toBe(true);
  });
});

describe("useAutoScroll", () => {
  function Chat({ version }: { version: number }) {
    const ref = useRef<HTMLDivElement>(null);
    const { away } = useAutoScroll(ref, version);
    return (
      <div ref={ref} data-testid="scroller" data-away={String(away)}>
        <p>words</p>
      </div>
    );
  }

  it("does not pull the view down while a finger holds it; lets go where the person left it", () => {
    let height = 2000;
    const { rerender } = render(<Chat version={0} />);
    const el = screen.getByTestId("scroller");
    Object.defineProperty(el, "scrollHeight", { configurable: true, get: () => height });
    Object.defineProperty(el, "clientHeight", { configurable: true, get: () => 500 });
    height = 2100;
    rerender(<Chat version={1} />);
    expect(el.scrollTop).toBe(2100);
    fireEvent.scroll(el); // as the browser says after each pin

    // A finger moves the view up; words arrive before the scroll event.
    fireEvent.touchStart(el);
    el.scrollTop = 1200;
    height = 2200;
    rerender(<Chat version={2} />);
    expect(el.scrollTop).toBe(1200);
    fireEvent.scroll(el);
    fireEvent.touchEnd(window);
    height = 2300;
    rerender(<Chat version={3} />);
    expect(el.scrollTop).toBe(1200);
    expect(el).toHaveAttribute("data-away", "true");
  });

  it("lets go of a held scrollbar when its scroll ends, though no pointerup comes", () => {
    let height = 2000;
    const { rerender } = render(<Chat version={0} />);
    const el = screen.getByTestId("scroller");
    Object.defineProperty(el, "scrollHeight", { configurable: true, get: () => height });
    Object.defineProperty(el, "clientHeight", { configurable: true, get: () => 500 });
    rerender(<Chat version={1} />);
    fireEvent.scroll(el);
    // The scrollbar dragged back to the bottom: no pointerup, only the scroll's end.
    fireEvent.pointerDown(el);
    el.scrollTop = 1500;
    fireEvent.scroll(el);
    fireEvent(el, new Event("scrollend"));
    height = 2100;
    rerender(<Chat version={2} />);
    expect(el.scrollTop).toBe(2100);
  });
});
