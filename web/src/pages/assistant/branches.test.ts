import { describe, expect, it } from "vitest";
import { branchInfo, branchLabel } from "./branches";

describe("branchInfo", () => {
  it("is null for a message with no other version", () => {
    expect(branchInfo({ id: "a", siblingIds: ["a"] })).toBeNull();
    expect(branchInfo({ id: "a", siblingIds: [] })).toBeNull();
  });

  it("is null when the shown message is not among its siblings (stale data)", () => {
    expect(branchInfo({ id: "x", siblingIds: ["a", "b"] })).toBeNull();
  });

  it("gives the position and both neighbours", () => {
    expect(branchInfo({ id: "b", siblingIds: ["a", "b", "c"] })).toEqual({ position: 2, total: 3, previousId: "a", nextId: "c" });
  });

  it("has no previous at the first version and no next at the last", () => {
    expect(branchInfo({ id: "a", siblingIds: ["a", "b"] })).toEqual({ position: 1, total: 2, previousId: null, nextId: "b" });
    expect(branchInfo({ id: "b", siblingIds: ["a", "b"] })).toEqual({ position: 2, total: 2, previousId: "a", nextId: null });
  });

  it("labels the switcher for screen readers", () => {
    expect(branchLabel({ position: 2, total: 2, previousId: "a", nextId: null }, "assistant")).toBe("Answer version 2 of 2");
    expect(branchLabel({ position: 1, total: 3, previousId: null, nextId: "b" }, "user")).toBe("Message version 1 of 3");
  });
});
