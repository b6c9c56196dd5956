import { formatDateTime } from "@/lib/format";

/** Every failure the app shows, from the server's error envelope or from the network. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly requestId: string | null;
  /** Seconds to wait, from `Retry-After` (or `details.retry_after`) on a 429. */
  readonly retryAfter: number | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: Record<string, unknown>;
    requestId?: string | null;
    retryAfter?: number | null;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
  }

  get isNetwork(): boolean {
    return this.status === 0;
  }

  /** The server's per-field problems on a 422, e.g. `{ email: "is taken" }`. */
  get fields(): Record<string, string> {
    const raw = this.details.fields;
    if (!raw || typeof raw !== "object") return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v === "string") out[k] = v;
    }
    return out;
  }
}

export const NETWORK_ERROR_MESSAGE =
  "Can't reach the Nexus server. Check your connection and try again.";

export function networkError(cause?: unknown): ApiError {
  const err = new ApiError({ status: 0, code: "network_error", message: NETWORK_ERROR_MESSAGE });
  if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
  return err;
}

function parseRetryAfter(header: string | null, details: Record<string, unknown>): number | null {
  if (header) {
    const secs = Number(header);
    if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
    const at = Date.parse(header);
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }
  const fromBody = details.retry_after;
  return typeof fromBody === "number" ? fromBody : null;
}

const FALLBACK_MESSAGES: Record<number, string> = {
  400: "The request was not understood.",
  401: "Your session has ended; sign in again.",
  403: "You don't have permission to do that.",
  404: "Not found.",
  409: "That conflicts with the current state; refresh and try again.",
  413: "That is too large.",
  422: "Some fields are invalid.",
  429: "Too many requests; try again shortly.",
  502: "The server is unavailable; try again shortly.",
  503: "The server is unavailable; try again shortly.",
  504: "The server took too long to answer; try again.",
};

/** Build an ApiError from a non-2xx response and its (already parsed) body. */
export function toApiError(response: Response, body: unknown): ApiError {
  const envelope =
    body && typeof body === "object" && "error" in body
      ? (body as { error: Record<string, unknown> }).error
      : null;
  const details =
    envelope && envelope.details && typeof envelope.details === "object"
      ? (envelope.details as Record<string, unknown>)
      : {};
  const code =
    typeof envelope?.code === "string" ? envelope.code : response.status >= 500 ? "server_error" : `http_${response.status}`;
  const message =
    typeof envelope?.message === "string" && envelope.message
      ? envelope.message
      : (FALLBACK_MESSAGES[response.status] ?? `The server answered ${response.status}.`);
  return new ApiError({
    status: response.status,
    code,
    message,
    details,
    requestId:
      (typeof envelope?.request_id === "string" ? envelope.request_id : null) ??
      response.headers.get("x-request-id"),
    retryAfter: response.status === 429 ? parseRetryAfter(response.headers.get("retry-after"), details) : null,
  });
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

/** A title and sentence a person can act on, for a page or a toast. */
export function describeError(err: unknown): { title: string; description: string } {
  if (!isApiError(err)) {
    return {
      title: "Something went wrong",
      description: err instanceof Error ? err.message : "An unexpected error happened.",
    };
  }
  if (err.isNetwork) return { title: "You're offline", description: NETWORK_ERROR_MESSAGE };
  switch (err.code) {
    case "workspace_suspended":
      return {
        title: "This workspace is suspended",
        description:
          "An administrator of this Nexus installation has suspended it. Contact them to restore access.",
      };
    case "module_disabled":
      return { title: "This module is switched off", description: err.message };
    case "ai_not_configured":
      return { title: "AI isn't set up yet", description: err.message };
    case "ai_quota_exceeded": {
      const resets = typeof err.details.resets_at === "string" ? err.details.resets_at : null;
      return {
        title: "AI quota used up",
        description: resets ? `${err.message} It resets ${formatDateTime(resets)}.` : err.message,
      };
    }
    case "csrf_failed":
      return {
        title: "Your session needs a refresh",
        description: "Reload the page and try again.",
      };
  }
  switch (err.status) {
    case 401:
      // The server says which: wrong credentials, or a session that ended.
      return { title: "Not signed in", description: err.message };
    case 403:
      return { title: "You don't have access", description: err.message };
    case 404:
      return {
        title: "Not found",
        description: "It doesn't exist, or it belongs to a workspace you're not a member of.",
      };
    case 429:
      return {
        title: "Slow down",
        description:
          err.retryAfter != null
            ? `Too many requests. Try again in ${formatWait(err.retryAfter)}.`
            : "Too many requests. Try again in a moment.",
      };
  }
  if (err.status >= 500) {
    return {
      title: "The server hit a problem",
      description: err.requestId
        ? `${err.message} (request id ${err.requestId})`
        : err.message,
    };
  }
  return { title: "That didn't work", description: err.message };
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
