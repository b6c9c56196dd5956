/** Reporting periods for AI usage, in UTC days (the server groups by UTC day). */

export type RangeChoice = "month" | "7d" | "30d" | "90d";

export const RANGE_LABELS: Record<RangeChoice, string> = {
  month: "This month",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
};

const DAY = 86_400_000;

function utcMidnight(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** [from, to) as RFC 3339, whole UTC days, ending tonight (so the key stays put all day). */
export function rangeFor(choice: RangeChoice, now: number = Date.now()): { from: string; to: string } {
  const tomorrow = utcMidnight(now) + DAY;
  let from: number;
  if (choice === "month") {
    const d = new Date(now);
    from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  } else {
    const days = choice === "7d" ? 7 : choice === "30d" ? 30 : 90;
    from = tomorrow - days * DAY;
  }
  return { from: new Date(from).toISOString(), to: new Date(tomorrow).toISOString() };
}

/** Every day in [from, to) as `YYYY-MM-DD` (the keys of a `group_by=day` report). */
export function daysIn(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(to);
  for (let t = utcMidnight(Date.parse(from)); t < end && out.length < 400; t += DAY) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

const dayLabel = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

export function formatDay(key: string): string {
  const t = Date.parse(`${key}T00:00:00Z`);
  return Number.isNaN(t) ? key : dayLabel.format(t);
}
