/**
 * Audit log filters: what the URL holds (API-ready values), what the form shows, and the query
 * sent to GET /audit-events and /audit-events/export.
 */
import { apiUrl } from "@/api/client";

/** API-ready filter values; empty string means "no filter". Times are RFC 3339 (UTC). */
export interface AuditFilters {
  actor_id: string;
  action: string;
  from: string;
  to: string;
}

export const EMPTY_FILTERS: AuditFilters = { actor_id: "", action: "", from: "", to: "" };

const KEYS = ["actor_id", "action", "from", "to"] as const;

export function filtersFromSearch(search: string | URLSearchParams): AuditFilters {
  const p = typeof search === "string" ? new URLSearchParams(search) : search;
  const out = { ...EMPTY_FILTERS };
  for (const k of KEYS) out[k] = p.get(k)?.trim() ?? "";
  return out;
}

export function filtersToSearch(f: AuditFilters): string {
  const p = new URLSearchParams();
  for (const k of KEYS) if (f[k]) p.set(k, f[k]);
  return p.toString();
}

export function hasFilters(f: AuditFilters): boolean {
  return KEYS.some((k) => f[k] !== "");
}

export interface AuditQuery {
  actor_id?: string;
  action?: string;
  from?: string;
  to?: string;
}

/** The query parameters for the API: only the filters that are set. */
export function toAuditQuery(f: AuditFilters): AuditQuery {
  const q: AuditQuery = {};
  if (f.actor_id) q.actor_id = f.actor_id;
  if (f.action.trim()) q.action = f.action.trim();
  if (f.from) q.from = f.from;
  if (f.to) q.to = f.to;
  return q;
}

/** Why the filters can't be sent, per field; empty when they are fine. */
export function validateFilters(f: AuditFilters): Partial<Record<keyof AuditFilters, string>> {
  const errors: Partial<Record<keyof AuditFilters, string>> = {};
  if (f.action.length > 200) errors.action = "Keep the action to 200 characters or fewer";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(f.action)) errors.action = "The action can't contain control characters";
  if (f.from && Number.isNaN(Date.parse(f.from))) errors.from = "Not a valid date and time";
  if (f.to && Number.isNaN(Date.parse(f.to))) errors.to = "Not a valid date and time";
  if (!errors.from && !errors.to && f.from && f.to && Date.parse(f.from) > Date.parse(f.to)) {
    errors.to = "Must be after the start";
  }
  return errors;
}

/** A `<input type="datetime-local">` value (local time) as RFC 3339 UTC, or "" if empty or invalid. */
export function localInputToRfc3339(value: string): string {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/** RFC 3339 as a `datetime-local` value in the browser's time zone. */
export function rfc3339ToLocalInput(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export type ExportFormat = "csv" | "jsonl";

/** The download link for the export, with the same filters as the list. */
export function exportHref(workspaceId: string, format: ExportFormat, f: AuditFilters): string {
  return apiUrl(`/workspaces/${encodeURIComponent(workspaceId)}/audit-events/export`, {
    format,
    ...toAuditQuery(f),
  });
}

/** Actions the server records, for the action filter. A prefix ending in "." matches a family. */
export const ACTION_FAMILIES: Array<{ prefix: string; label: string; actions: string[] }> = [
  { prefix: "workspace.", label: "Workspace", actions: ["workspace.created", "workspace.renamed", "workspace.deleted", "workspace.plan_changed", "workspace.suspended", "workspace.unsuspended"] },
  { prefix: "member.", label: "Members", actions: ["member.role_changed", "member.removed", "member.left"] },
  { prefix: "invitation.", label: "Invitations", actions: ["invitation.created", "invitation.accepted", "invitation.revoked"] },
  { prefix: "api_key.", label: "API keys", actions: ["api_key.created", "api_key.revoked"] },
  { prefix: "secret.", label: "Secrets", actions: ["secret.created", "secret.updated", "secret.deleted"] },
  { prefix: "module.", label: "Modules", actions: ["module.enabled", "module.disabled"] },
  { prefix: "ai_provider.", label: "AI providers", actions: ["ai_provider.created", "ai_provider.updated", "ai_provider.deleted"] },
  { prefix: "ai_settings.", label: "AI settings", actions: ["ai_settings.updated"] },
  { prefix: "conversation.", label: "Conversations", actions: ["conversation.created", "conversation.imported", "conversation.updated", "conversation.deleted", "conversation.link_created", "conversation.link_updated", "conversation.link_deleted"] },
  { prefix: "message.", label: "Messages", actions: ["message.deleted", "message.rated", "message.rating_removed"] },
  { prefix: "prompt.", label: "Saved prompts", actions: ["prompt.created", "prompt.updated", "prompt.deleted"] },
];
