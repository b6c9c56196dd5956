/**
 * The CSRF token lives in memory only (never in storage, where a script injected into another
 * tab could read it). It comes from signup, login and /me, and rides on every unsafe request.
 */

let token: string | null = null;

export function setCsrfToken(value: string | null): void {
  token = value;
}

export function getCsrfToken(): string | null {
  return token;
}

export const CSRF_HEADER = "X-CSRF-Token";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function isUnsafe(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

async function errorCode(response: Response): Promise<string | null> {
  try {
    const body = (await response.clone().json()) as { error?: { code?: unknown } };
    return typeof body?.error?.code === "string" ? body.error.code : null;
  } catch {
    return null;
  }
}

export interface CsrfFetchOptions {
  fetch: (request: Request) => Promise<Response>;
  getToken: () => string | null;
  /** Fetch a fresh token (from /me); resolves to null when there is no session. */
  refreshToken: () => Promise<string | null>;
  /** Called when an authenticated request answers 401: the session is gone. */
  onUnauthenticated?: (request: Request) => void;
}

/** Routes whose 401 means "wrong credentials" or "not signed in yet", not "session ended". */
const AUTH_PROBES = ["/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/me"];

function isAuthProbe(url: string): boolean {
  const { pathname } = new URL(url, "http://localhost");
  return AUTH_PROBES.includes(pathname);
}

/**
 * A fetch that adds `X-CSRF-Token` to unsafe requests and, when the server answers 403
 * `csrf_failed` (the token went stale, e.g. after signing in from another tab), fetches a
 * fresh token and retries the request once.
 */
export function createCsrfFetch(opts: CsrfFetchOptions): (request: Request) => Promise<Response> {
  return async (request: Request) => {
    const unsafe = isUnsafe(request.method);
    // Keep an unread copy: the body of the first attempt is consumed by sending it.
    const spare = unsafe ? request.clone() : null;
    const withToken = (req: Request, value: string | null): Request => {
      // A Request's headers stay writable until it is sent.
      if (value) req.headers.set(CSRF_HEADER, value);
      return req;
    };

    let response = await opts.fetch(unsafe ? withToken(request, opts.getToken()) : request);

    if (unsafe && spare && response.status === 403 && (await errorCode(response)) === "csrf_failed") {
      const fresh = await opts.refreshToken();
      if (fresh) response = await opts.fetch(withToken(spare, fresh));
    }
    if (response.status === 401 && !isAuthProbe(request.url)) {
      opts.onUnauthenticated?.(request);
    }
    return response;
  };
}
