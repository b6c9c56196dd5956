import { describe, expect, it } from "vitest";
import { loginPathFor, safeNext } from "./redirect";

describe("safeNext", () => {
  it("keeps same-site paths and refuses everything else", () => {
    expect(safeNext("/w/1/audit?action=x")).toBe("/w/1/audit?action=x");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("/\\evil.example")).toBe("/");
    expect(safeNext("/login?next=/x")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });

  it("builds the login path that brings the person back", () => {
    expect(loginPathFor("/w/1/audit")).toBe("/login?next=%2Fw%2F1%2Faudit");
    expect(loginPathFor("/")).toBe("/login");
  });
});
