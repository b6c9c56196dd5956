// @vitest-environment node
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Role } from "@/api/client";
import { type Permission, ROLES, atLeast, can, canManageMember, grantableRoles } from "./permissions";

const COLUMNS: Role[] = ["owner", "admin", "member", "viewer"];

/** The matrix as docs/permissions.md states it (that file is generated from the server's code). */
function documentedMatrix(): Map<Permission, Set<Role>> {
  const md = readFileSync(fileURLToPath(new URL("../../../docs/permissions.md", import.meta.url)), "utf8");
  const out = new Map<Permission, Set<Role>>();
  for (const line of md.split("\n")) {
    const m = line.match(/^\| `([a-z_]+)` \|[^|]*\|(.*)\|$/);
    if (!m) continue;
    const cells = m[2]!.split("|").map((c) => c.trim());
    out.set(m[1] as Permission, new Set(COLUMNS.filter((_, i) => cells[i] === "yes")));
  }
  return out;
}

describe("permissions", () => {
  it("matches docs/permissions.md for every permission and role", () => {
    const doc = documentedMatrix();
    expect(doc.size).toBeGreaterThanOrEqual(12);
    // A permission the server added and this file doesn't know yet fails here, by name.
    for (const [permission, roles] of doc) {
      for (const role of ROLES) {
        expect(can(role, permission), `${role} ${permission}`).toBe(roles.has(role));
      }
    }
  });

  it("grants nothing without a role, nor for an unknown permission", () => {
    expect(can(null, "read_workspace")).toBe(false);
    expect(can("owner", "no_such_permission" as Permission)).toBe(false);
    expect(grantableRoles(undefined)).toEqual([]);
  });

  it("offers roles up to one's own, highest first", () => {
    expect(grantableRoles("owner")).toEqual(["owner", "admin", "member", "viewer"]);
    expect(grantableRoles("admin")).toEqual(["admin", "member", "viewer"]);
    expect(grantableRoles("viewer")).toEqual(["viewer"]);
  });

  it("lets managers act only on members at or below their rank", () => {
    expect(canManageMember("admin", "member")).toBe(true);
    expect(canManageMember("admin", "admin")).toBe(true);
    expect(canManageMember("admin", "owner")).toBe(false);
    expect(canManageMember("member", "viewer")).toBe(false);
    expect(atLeast("owner", "admin")).toBe(true);
  });
});
