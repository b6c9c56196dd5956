import { formatDateTime } from "@/lib/format";

const WORDS: Record<string, string> = { api_key: "API key", role_changed: "role changed", plan_changed: "plan changed" };

/** "member.role_changed" → "Member role changed". */
export function actionLabel(action: string): string {
  const text = action
    .split(".")
    .map((part) => WORDS[part] ?? part.replace(/_/g, " "))
    .join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return ISO_TIME.test(v) ? formatDateTime(v) : v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/** The summary as short text for a table cell: "from → to", else "key: value" pairs, name first. */
export function summaryText(summary: unknown): string {
  const s = (summary ?? {}) as Record<string, unknown>;
  if ("from" in s && "to" in s) return `${show(s.from)} → ${show(s.to)}`;
  return Object.entries(s)
    .filter(([, v]) => v !== null && v !== undefined)
    .sort(([a], [b]) => (a === "name" ? -1 : b === "name" ? 1 : 0))
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${show(v)}`)
    .join(" · ");
}
