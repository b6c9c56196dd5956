/**
 * The permission matrix, mirroring docs/permissions.md (generated from the server's
 * `Permission::ALL`). The server is the authority; this only decides what to show.
 */
import type { Role } from "@/api/client";

/** Lowest first, like the server's `Ord` on `Role`. */
export const ROLES: readonly Role[] = ["viewer", "member", "admin", "owner"];

export const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  member: "Member",
  viewer: "Viewer",
};

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  owner: "Everything, including deleting the workspace.",
  admin: "Manage members, API keys, secrets, modules and the audit log.",
  member: "Work in the workspace's modules.",
  viewer: "Read-only access.",
};

export type Permission =
  | "read_workspace"
  | "rename_workspace"
  | "delete_workspace"
  | "read_members"
  | "invite_members"
  | "manage_members"
  | "read_api_keys"
  | "manage_api_keys"
  | "read_audit_log"
  | "read_secrets"
  | "manage_secrets"
  | "manage_modules"
  | "use_assistant"
  | "manage_ai"
  | "read_ai_usage";

const MIN_ROLE: Record<Permission, Role> = {
  read_workspace: "viewer",
  rename_workspace: "admin",
  delete_workspace: "owner",
  read_members: "viewer",
  invite_members: "admin",
  manage_members: "admin",
  read_api_keys: "admin",
  manage_api_keys: "admin",
  read_audit_log: "admin",
  read_secrets: "admin",
  manage_secrets: "admin",
  manage_modules: "admin",
  use_assistant: "member",
  manage_ai: "admin",
  read_ai_usage: "admin",
};

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

export function atLeast(role: Role | null | undefined, min: Role): boolean {
  return role != null && roleRank(role) >= roleRank(min);
}

export function can(role: Role | null | undefined, permission: Permission): boolean {
  const min = MIN_ROLE[permission] as Role | undefined;
  return min !== undefined && atLeast(role, min);
}

/** Roles someone may grant (to an invitation, a member or an API key): up to their own. Highest first. */
export function grantableRoles(role: Role | null | undefined): Role[] {
  if (!role) return [];
  return ROLES.filter((r) => roleRank(r) <= roleRank(role)).reverse();
}

/**
 * Whether `actor` may change `target`'s role or remove them: they need manage_members and
 * may not touch someone ranked above them.
 */
export function canManageMember(actor: Role | null | undefined, target: Role): boolean {
  return can(actor, "manage_members") && atLeast(actor, target);
}
