import { afterEach, describe, expect, it, vi } from "vitest";
import { apiError, json, mockApi } from "../../test/api-mock";
import { api, unwrap } from "./client";
import { getCsrfToken, setCsrfToken } from "./csrf";
import { ApiError, describeError, toApiError } from "./errors";

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe("unwrap + the API client", () => {
  it("returns data on success", async () => {
    mockApi({ "GET /api/v1/workspaces/:id/plan": () => json(200, { plan: "free", limits: {}, seats_used: 1 }) });
    const plan = await unwrap(api.GET("/api/v1/workspaces/{workspace_id}/plan", { params: { path: { workspace_id: "w" } } }));
    expect(plan.plan).toBe("free");
  });

  it("throws an ApiError with the envelope's code, message, fields and request id", async () => {
    mockApi({
      "POST /api/v1/auth/signup": () =>
        apiError(422, "validation_failed", "Some fields are invalid.", { fields: { email: "must be an email address" } }),
    });
    const err = await unwrap(api.POST("/api/v1/auth/signup", { body: { email: "x", password: "p", name: "n" } })).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe("validation_failed");
    expect(err.fields).toEqual({ email: "must be an email address" });
    expect(err.requestId).toBe("req-test");
  });

  it("turns a network failure into status 0 network_error", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const err = await unwrap(api.GET("/api/v1/me")).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.isNetwork).toBe(true);
    expect(describeError(err).title).toBe("You're offline");
  });

  it("refetches /me and retries once when the CSRF token is stale", async () => {
    setCsrfToken("stale");
    let attempts = 0;
    const { calls } = mockApi({
      "POST /api/v1/workspaces": (req) => {
        attempts++;
        return req.headers.get("X-CSRF-Token") === "fresh"
          ? json(201, { id: "w", name: "Acme", slug: "acme", role: "owner" })
          : apiError(403, "csrf_failed");
      },
      "GET /api/v1/me": () => json(200, { user: {}, workspaces: [], csrf_token: "fresh" }),
    });
    const ws = await unwrap(api.POST("/api/v1/workspaces", { body: { name: "Acme" } }));
    expect(ws.name).toBe("Acme");
    expect(attempts).toBe(2);
    expect(getCsrfToken()).toBe("fresh");
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/v1/workspaces",
      "GET /api/v1/me",
      "POST /api/v1/workspaces",
    ]);
    expect(calls[2]!.body).toEqual({ name: "Acme" });
  });
});

describe("toApiError and describeError", () => {
  it("reads Retry-After on a 429", () => {
    const err = toApiError(new Response(null, { status: 429, headers: { "retry-after": "42" } }), {
      error: { code: "rate_limited", message: "Too many requests; try again later.", details: { retry_after: 42 }, request_id: "r" },
    });
    expect(err.retryAfter).toBe(42);
    expect(describeError(err).description).toBe("Too many requests. Try again in 42 seconds.");
  });

  it("falls back to details.retry_after and to status texts without an envelope", () => {
    const err = toApiError(new Response(null, { status: 429 }), { error: { code: "rate_limited", message: "m", details: { retry_after: 90 }, request_id: "r" } });
    expect(describeError(err).description).toBe("Too many requests. Try again in 2 minutes.");
    const bare = toApiError(new Response("oops", { status: 502 }), "oops");
    expect(bare.code).toBe("server_error");
    expect(bare.message).toMatch(/unavailable/);
  });

  it("explains suspension, disabled modules, 403 and 404", () => {
    const mk = (status: number, code: string, message = "msg") => new ApiError({ status, code, message });
    expect(describeError(mk(403, "workspace_suspended")).title).toBe("This workspace is suspended");
    expect(describeError(mk(403, "module_disabled", "The crm module is switched off")).description).toBe(
      "The crm module is switched off",
    );
    expect(describeError(mk(403, "forbidden", "Your role (viewer) may not list API keys.")).title).toBe("You don't have access");
    expect(describeError(mk(404, "not_found")).title).toBe("Not found");
    expect(describeError(mk(500, "internal_error", "Something went wrong")).description).toBe("Something went wrong");
    expect(describeError(new ApiError({ status: 500, code: "internal_error", message: "Boom.", requestId: "abc" })).description).toBe(
      "Boom. (request id abc)",
    );
  });
});
