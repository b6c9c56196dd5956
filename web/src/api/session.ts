/** The signed-in person, their workspaces and the CSRF token, from GET /me. */
import { type QueryClient, useQuery, useQueryClient } from "@tanstack/react-query";
import { clearDrafts } from "@/lib/drafts";
import { readSession, writeSession } from "@/lib/storage";
import { api, type Me, unwrap } from "./client";
import { setCsrfToken } from "./csrf";
import { isApiError } from "./errors";

export const meKey = ["me"] as const;

/** The session, or null when nobody is signed in. */
export async function fetchMe(): Promise<Me | null> {
  try {
    const me = await unwrap(api.GET("/api/v1/me"));
    setCsrfToken(me.csrf_token);
    return me;
  } catch (err) {
    if (isApiError(err) && err.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw err;
  }
}

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 30_000 });
}

/** The session data; only call below the auth guard, where it is loaded. */
export function useSession(): Me {
  const { data } = useMe();
  if (!data) throw new Error("useSession outside a signed-in route");
  return data;
}

let signedOutOnPurpose = false;

/** Whether the last session ended by the person's choice (no "sign in again to continue"). */
export function wasSignedOutOnPurpose(): boolean {
  return signedOutOnPurpose;
}

/**
 * Why what a page keeps outside the query cache (answers streaming, drafts) must go:
 * `ended` when a session ends (signed out, or expired), `signed_out` also when the person
 * chose to, and `someone_else` when the next sign-in in this tab is another person's.
 */
export type SessionChange = "ended" | "signed_out" | "someone_else";

const sessionListeners = new Set<(change: SessionChange) => void>();
/** Who was last signed in in this tab (kept across reloads), to tell another person signing in. */
const LAST_USER_KEY = "nexus-last-user";

/** Be told when the session ends or changes hands; returns the unsubscribe. */
export function onSessionChange(listener: (change: SessionChange) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

function tell(change: SessionChange) {
  // A person who signs out, or whose tab someone else signs in to, leaves no unsent text,
  // whichever pages they typed it on.
  if (change !== "ended") clearDrafts();
  for (const l of sessionListeners) l(change);
}

/** After login or signup: keep the token and load the full session (with workspaces). */
export async function startSession(qc: QueryClient, csrfToken: string): Promise<Me | null> {
  signedOutOnPurpose = false;
  setCsrfToken(csrfToken);
  qc.removeQueries({ predicate: (q) => q.queryKey[0] !== meKey[0] });
  const me = await qc.fetchQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 0 });
  if (me) {
    const last = readSession(LAST_USER_KEY);
    if (last !== null && last !== me.user.id) tell("someone_else");
    writeSession(LAST_USER_KEY, me.user.id);
  }
  return me;
}

/** Forget everything about the session on this page. */
export function endSession(qc: QueryClient, onPurpose = false): void {
  signedOutOnPurpose = onPurpose;
  const who = qc.getQueryData<Me | null>(meKey);
  if (who) writeSession(LAST_USER_KEY, who.user.id);
  setCsrfToken(null);
  qc.cancelQueries();
  qc.removeQueries({ predicate: (q) => q.queryKey[0] !== meKey[0] });
  qc.setQueryData(meKey, null);
  tell("ended");
  if (onPurpose) tell("signed_out");
}

export function useRefreshMe(): () => Promise<unknown> {
  const qc = useQueryClient();
  return () => qc.invalidateQueries({ queryKey: meKey });
}
