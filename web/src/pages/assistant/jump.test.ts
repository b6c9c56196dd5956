import { describe, expect, it } from "vitest";
import { matchHref, matchTarget, wordRanges } from "./jump";

const ID = "01900000-0000-7000-8000-0000000000a5";

describe("jump: a search result's link", () => {
  it("carries the message and the words, and reads back the same", () => {
    const href = matchHref("/w/x/assistant/c", ID, "café & crème");
    expect(href).toBe(`/w/x/assistant/c?m=${ID}&q=caf%C3%A9+%26+cr%C3%A8me`);
    expect(matchTarget(href.slice(href.indexOf("?")))).toEqual({ messageId: ID, words: "café & crème" });
    expect(matchHref("/w/x/assistant/c", ID, "")).toBe(`/w/x/assistant/c?m=${ID}`);
  });

  it("takes only a well-formed message id (it goes into a selector)", () => {
    expect(matchTarget("")).toBeNull();
    expect(matchTarget("?q=rome")).toBeNull();
    expect(matchTarget('?m="]*,li[x')).toBeNull();
    expect(matchTarget(`?m=${ID}`)).toEqual({ messageId: ID, words: "" });
  });
});

describe("jump: the words in a rendered message", () => {
  it("finds every place, ignoring case, across the message's elements but not across their edges", () => {
    const root = document.createElement("div");
    root.innerHTML = "<p>Rome, then <strong>rome</strong> again</p><p>Ro<em>me</em></p>";
    const found = wordRanges(root, " ROME ");
    expect(found.map((r) => r.toString())).toEqual(["Rome", "rome"]);
    expect(found[1]!.startContainer.parentElement?.tagName).toBe("STRONG");
    expect(wordRanges(root, "")).toEqual([]);
    expect(wordRanges(root, "paris")).toEqual([]);
  });
});
