import { describe, expect, it } from "vitest";
import { nextAnnouncement } from "./announce";

describe("nextAnnouncement", () => {
  it("waits for a whole sentence", () => {
    expect(nextAnnouncement("Hello there", 0, false)).toEqual({ say: "", upTo: 0 });
    expect(nextAnnouncement("Hello there. How are", 0, false)).toEqual({ say: "Hello there.", upTo: 12 });
  });

  it("goes on from where it stopped, up to the last finished sentence", () => {
    const text = "One. Two! Three? Four";
    expect(nextAnnouncement(text, 4, false)).toEqual({ say: "Two! Three?", upTo: 16 });
  });

  it("says the rest when the answer ends", () => {
    expect(nextAnnouncement("One. Two", 4, true)).toEqual({ say: "Two", upTo: 8 });
    expect(nextAnnouncement("One.", 4, true)).toEqual({ say: "", upTo: 4 });
  });
});
