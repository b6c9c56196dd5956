/** Only same-site paths may be redirect targets after sign-in (no open redirects). */
export function safeNext(next: string | null | undefined, fallback = "/"): string {
  if (!next) return fallback;
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  if (next.startsWith("/login") || next.startsWith("/signup")) return fallback;
  return next;
}

/** `/login?next=…` for the current location. */
export function loginPathFor(pathAndSearch: string): string {
  const next = safeNext(pathAndSearch, "");
  return next && next !== "/" ? `/login?next=${encodeURIComponent(next)}` : "/login";
}
