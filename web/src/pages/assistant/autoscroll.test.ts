import { describe, expect, it } from "vitest";
import { isNearBottom, ScrollFollower } from "./autoscroll";

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
