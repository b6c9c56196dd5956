import { describe, expect, it, vi } from "vitest";
import { json } from "../../test/api-mock";
import { createCsrfFetch } from "./csrf";

const csrfFailed = () =>
  json(403, { error: { code: "csrf_failed", message: "Missing or wrong X-CSRF-Token", details: {}, request_id: "r" } });

function setup(responses: Response[], token = "old", fresh: string | null = "new") {
  const seen: Array<{ method: string; url: string; csrf: string | null; body: string }> = [];
  const fetch = vi.fn(async (req: Request) => {
    seen.push({ method: req.method, url: req.url, csrf: req.headers.get("X-CSRF-Token"), body: await req.text() });
    const next = responses.shift();
    if (!next) throw new Error("no more responses");
    return next;
  });
  const refreshToken = vi.fn(async () => fresh);
  const onUnauthenticated = vi.fn();
  const f = createCsrfFetch({ fetch, getToken: () => token, refreshToken, onUnauthenticated });
  return { f, seen, refreshToken, onUnauthenticated };
}

const post = (path: string, body = '{"name":"x"}') =>
  new Request(`http://localhost${path}`, { method: "POST", body, headers: { "content-type": "application/json" } });

describe("createCsrfFetch", () => {
  it("sends the token on unsafe requests only", async () => {
    const { f, seen } = setup([json(200, {}), json(201, {})]);
    await f(new Request("http://localhost/api/v1/workspaces"));
    await f(post("/api/v1/workspaces"));
    expect(seen[0]!.csrf).toBeNull();
    expect(seen[1]!.csrf).toBe("old");
  });

  it("on 403 csrf_failed refreshes the token and retries once, with the same body", async () => {
    const { f, seen, refreshToken } = setup([csrfFailed(), json(201, { ok: true })]);
    const res = await f(post("/api/v1/workspaces", '{"name":"Acme"}'));
    expect(res.status).toBe(201);
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(seen.map((s) => s.csrf)).toEqual(["old", "new"]);
    expect(seen[1]!.body).toBe('{"name":"Acme"}');
  });

  it("retries only once", async () => {
    const { f, seen } = setup([csrfFailed(), csrfFailed()]);
    const res = await f(post("/api/v1/workspaces"));
    expect(res.status).toBe(403);
    expect(seen).toHaveLength(2);
  });

  it("does not retry other 403s, nor when no fresh token can be had", async () => {
    const forbidden = json(403, { error: { code: "forbidden", message: "no", details: {}, request_id: "r" } });
    const a = setup([forbidden]);
    expect((await a.f(post("/api/v1/workspaces"))).status).toBe(403);
    expect(a.refreshToken).not.toHaveBeenCalled();

    const b = setup([csrfFailed()], "old", null);
    expect((await b.f(post("/api/v1/workspaces"))).status).toBe(403);
    expect(b.seen).toHaveLength(1);
  });

  it("reports a 401 as the end of the session, except for the sign-in probes", async () => {
    const { f, onUnauthenticated } = setup([
      json(401, {}),
      json(401, {}),
      json(401, {}),
    ]);
    await f(new Request("http://localhost/api/v1/me"));
    await f(post("/api/v1/auth/login"));
    expect(onUnauthenticated).not.toHaveBeenCalled();
    await f(new Request("http://localhost/api/v1/workspaces/x/members"));
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });
});
