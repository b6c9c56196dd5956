import { describe, expect, it } from "vitest";
import {
  EMPTY_FILTERS,
  exportHref,
  filtersFromSearch,
  filtersToSearch,
  hasFilters,
  localInputToRfc3339,
  rfc3339ToLocalInput,
  toAuditQuery,
  validateFilters,
} from "./filters";
import { actionLabel, summaryText } from "./describe";

describe("audit filters → query", () => {
  it("sends only the filters that are set", () => {
    expect(toAuditQuery(EMPTY_FILTERS)).toEqual({});
    expect(
      toAuditQuery({ actor_id: "u1", action: " member. ", from: "2025-01-01T00:00:00.000Z", to: "" }),
    ).toEqual({ actor_id: "u1", action: "member.", from: "2025-01-01T00:00:00.000Z" });
  });

  it("round-trips through the URL", () => {
    const f = { actor_id: "u1", action: "api_key.created", from: "2025-01-01T00:00:00.000Z", to: "2025-02-01T00:00:00.000Z" };
    const qs = filtersToSearch(f);
    expect(qs).toBe("actor_id=u1&action=api_key.created&from=2025-01-01T00%3A00%3A00.000Z&to=2025-02-01T00%3A00%3A00.000Z");
    expect(filtersFromSearch(qs)).toEqual(f);
    expect(filtersFromSearch("")).toEqual(EMPTY_FILTERS);
    expect(filtersToSearch(EMPTY_FILTERS)).toBe("");
    expect(hasFilters(EMPTY_FILTERS)).toBe(false);
    expect(hasFilters({ ...EMPTY_FILTERS, action: "x" })).toBe(true);
  });

  it("converts datetime-local values (local time) to RFC 3339 UTC and back", () => {
    const local = "2025-03-04T05:06";
    const iso = localInputToRfc3339(local);
    expect(iso).toBe(new Date(2025, 2, 4, 5, 6).toISOString());
    expect(rfc3339ToLocalInput(iso)).toBe(local);
    expect(localInputToRfc3339("")).toBe("");
    expect(localInputToRfc3339("not a date")).toBe("");
    expect(rfc3339ToLocalInput("garbage")).toBe("");
  });

  it("rejects a range that ends before it starts, and over-long actions", () => {
    expect(validateFilters(EMPTY_FILTERS)).toEqual({});
    expect(validateFilters({ ...EMPTY_FILTERS, from: "2025-02-01T00:00:00Z", to: "2025-01-01T00:00:00Z" })).toEqual({
      to: "Must be after the start",
    });
    expect(validateFilters({ ...EMPTY_FILTERS, action: "a".repeat(201) }).action).toBeDefined();
    expect(validateFilters({ ...EMPTY_FILTERS, action: "a\u0000b" }).action).toBeDefined();
  });

  it("builds export links with the same filters", () => {
    const f = { actor_id: "", action: "member.", from: "2025-01-01T00:00:00.000Z", to: "" };
    expect(exportHref("ws-1", "csv", f)).toBe(
      "/api/v1/workspaces/ws-1/audit-events/export?format=csv&action=member.&from=2025-01-01T00%3A00%3A00.000Z",
    );
    expect(exportHref("ws-1", "jsonl", EMPTY_FILTERS)).toBe("/api/v1/workspaces/ws-1/audit-events/export?format=jsonl");
  });
});

describe("audit event text", () => {
  it("labels actions and summarises changes", () => {
    expect(actionLabel("member.role_changed")).toBe("Member role changed");
    expect(actionLabel("api_key.created")).toBe("API key created");
    expect(summaryText({ from: "member", to: "viewer" })).toBe("member → viewer");
    expect(summaryText({ role: "member", email: "a@b.c", name: "Key" })).toBe("name: Key · role: member · email: a@b.c");
    expect(summaryText({})).toBe("");
  });
});
