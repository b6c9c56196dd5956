/**
 * The one API client: openapi-fetch typed by `schema.d.ts` (generated from
 * docs/api/openapi.json by `npm run gen:api`), with CSRF handling in its fetch.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { createCsrfFetch, getCsrfToken, setCsrfToken } from "./csrf";
import { ApiError, networkError, toApiError } from "./errors";

export type Schemas = components["schemas"];
export type Role = Schemas["Role"];
export type Module = Schemas["Module"];
export type Plan = Schemas["Plan"];
export type User = Schemas["UserView"];
export type Me = Schemas["MeResponse"];
export type WorkspaceSummary = Schemas["WorkspaceSummary"];
export type WorkspaceView = Schemas["WorkspaceView"];
export type MemberView = Schemas["MemberView"];
export type InvitationView = Schemas["InvitationView"];
export type ApiKeyView = Schemas["ApiKeyView"];
export type AuditEvent = Schemas["AuditEventView"];
export type ChainReport = Schemas["ChainReport"];
export type ModuleView = Schemas["ModuleView"];
export type PlanView = Schemas["PlanView"];
export type SecretView = Schemas["SecretView"];
export type AdminWorkspace = Schemas["AdminWorkspaceView"];
export type ConversationView = Schemas["ConversationView"];
export type ModelView = Schemas["ModelView"];
export type ProviderView = Schemas["ProviderView"];
export type ProviderTestResult = Schemas["ProviderTestResult"];
export type AiSettingsView = Schemas["AiSettingsView"];
export type UsageReport = Schemas["UsageReport"];
export type UsageRow = Schemas["UsageRow"];
export type Rating = Schemas["Rating"];
export type FeedbackReport = Schemas["FeedbackReport"];
export type Visibility = Schemas["Visibility"];

export const API_PREFIX = "/api/v1";

let sessionEnded: (() => void) | null = null;

/** Register what happens when an authenticated request finds the session gone. */
export function onSessionEnded(handler: (() => void) | null): void {
  sessionEnded = handler;
}

function origin(): string {
  return typeof window !== "undefined" && window.location?.origin && window.location.origin !== "null"
    ? window.location.origin
    : "http://localhost";
}

/** GET /me outside the client, to refresh the CSRF token without recursion. */
async function refreshToken(): Promise<string | null> {
  try {
    const res = await globalThis.fetch(`${origin()}${API_PREFIX}/me`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!res.ok) return null;
    const body = (await res.json()) as Me;
    setCsrfToken(body.csrf_token);
    return body.csrf_token;
  } catch {
    return null;
  }
}

/**
 * The fetch every API call goes through: CSRF token on unsafe requests, one retry on a stale
 * token, and the end of the session on a 401. Streaming calls (SSE over POST) use it directly.
 */
export const apiFetch = createCsrfFetch({
  fetch: (request) => globalThis.fetch(request),
  getToken: getCsrfToken,
  refreshToken,
  onUnauthenticated: () => sessionEnded?.(),
});

export const api = createClient<paths>({
  baseUrl: origin(),
  credentials: "same-origin",
  headers: { Accept: "application/json" },
  fetch: apiFetch,
});

/** An absolute URL for a path under the API prefix (for requests made outside openapi-fetch). */
export function apiHref(path: string): string {
  return `${origin()}${API_PREFIX}${path}`;
}

type Result<D> = { data?: D; error?: unknown; response: Response };

/**
 * Await an openapi-fetch call and return its data, or throw an ApiError (a network failure
 * becomes status 0 `network_error`).
 */
export async function unwrap<D>(call: Promise<Result<D>>): Promise<D> {
  let result: Result<D>;
  try {
    result = await call;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw networkError(err);
  }
  if (!result.response.ok) throw toApiError(result.response, result.error);
  return result.data as D;
}

/** A same-origin URL for a link the browser follows itself (downloads). */
export function apiUrl(path: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") params.set(k, v);
  const qs = params.toString();
  return `${API_PREFIX}${path}${qs ? `?${qs}` : ""}`;
}
