import { describe, expect, it } from "vitest";
import { shortcutFor } from "./shortcuts";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean; typing: boolean }> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  typing: false,
  ...mods,
});

describe("shortcutFor", () => {
  it("Ctrl/Cmd+Shift+O starts a new chat, even while typing", () => {
    expect(shortcutFor(key("O", { ctrlKey: true, shiftKey: true }))).toBe("new-chat");
    expect(shortcutFor(key("o", { metaKey: true, shiftKey: true, typing: true }))).toBe("new-chat");
    expect(shortcutFor(key("o", { ctrlKey: true }))).toBeNull();
  });

  it("Ctrl/Cmd+K searches", () => {
    expect(shortcutFor(key("k", { ctrlKey: true }))).toBe("search");
    expect(shortcutFor(key("k", { metaKey: true, typing: true }))).toBe("search");
    expect(shortcutFor(key("k"))).toBeNull();
  });

  it("/ focuses the composer, but is just a character in a text field", () => {
    expect(shortcutFor(key("/"))).toBe("focus-composer");
    expect(shortcutFor(key("/", { typing: true }))).toBeNull();
    expect(shortcutFor(key("/", { ctrlKey: true }))).toBeNull();
  });
});
