import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/api/errors";
import { applyServerError } from "./forms";

type Form = { email: string; name: string; expiry: string };

const validation = (fields: Record<string, string>) =>
  new ApiError({ status: 422, code: "validation_failed", message: "Some fields are invalid.", details: { fields } });

describe("applyServerError", () => {
  it("puts a 422's fields onto the form's fields, with their labels", () => {
    const setError = vi.fn();
    applyServerError<Form>(validation({ email: "must be an email address like name@example.com" }), setError, {
      labels: { email: "Email", name: "Name" },
    });
    expect(setError).toHaveBeenCalledWith(
      "email",
      { type: "server", message: "Email must be an email address like name@example.com" },
      { shouldFocus: true },
    );
  });

  it("maps renamed server fields, and reports unknown ones at the form level", () => {
    const setError = vi.fn();
    applyServerError<Form>(validation({ expires_at: "must be in the future", limit: "is too big" }), setError, {
      labels: { expiry: "Expiry" },
      fieldMap: { expires_at: "expiry" },
    });
    expect(setError).toHaveBeenCalledWith("expiry", { type: "server", message: "Expiry must be in the future" }, { shouldFocus: true });
    expect(setError).toHaveBeenCalledWith("root.server", { type: "server", message: "Limit is too big" });
  });

  it("puts a known error code on its field", () => {
    const setError = vi.fn();
    const taken = new ApiError({ status: 409, code: "email_taken", message: "An account with this email already exists; sign in instead." });
    applyServerError<Form>(taken, setError, { labels: { email: "Email" }, codeFields: { email_taken: "email" } });
    expect(setError).toHaveBeenCalledWith(
      "email",
      { type: "server", message: "An account with this email already exists; sign in instead." },
      { shouldFocus: true },
    );
  });

  it("explains anything else above the buttons", () => {
    const setError = vi.fn();
    applyServerError<Form>(new ApiError({ status: 0, code: "network_error", message: "offline" }), setError, { labels: {} });
    expect(setError).toHaveBeenCalledWith("root.server", {
      type: "server",
      message: expect.stringMatching(/Can't reach the Nexus server/),
    });
    const limited = vi.fn();
    applyServerError<Form>(new ApiError({ status: 429, code: "rate_limited", message: "x", retryAfter: 5 }), limited, { labels: {} });
    expect(limited).toHaveBeenCalledWith("root.server", { type: "server", message: "Too many requests. Try again in 5 seconds." });
  });
});
