import { vi } from "vitest";

export type Handler = (req: Request, body: unknown) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function apiError(status: number, code: string, message = code, details: Record<string, unknown> = {}) {
  return json(status, { error: { code, message, details, request_id: "req-test" } });
}

/**
 * Replace fetch with a router of `METHOD /path` → handler. Unmatched requests fail the test
 * loudly. Returns the calls made, with their parsed bodies.
 */
export function mockApi(routes: Record<string, Handler>) {
  const calls: Array<{ method: string; path: string; headers: Headers; body: unknown }> = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    const body = text ? JSON.parse(text) : undefined;
    calls.push({ method: req.method, path: url.pathname + url.search, headers: req.headers, body });
    for (const [key, handler] of Object.entries(routes)) {
      const [method, pattern] = key.split(" ") as [string, string];
      const re = new RegExp(`^${pattern.replace(/:[a-z_]+/g, "[^/]+")}$`);
      if (method === req.method && re.test(url.pathname)) return handler(req, body);
    }
    throw new Error(`unexpected request ${req.method} ${url.pathname}`);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}
