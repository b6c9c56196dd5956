import { describe, expect, it } from "vitest";
import { ApiError } from "@/api/errors";
import { explainAcceptError } from "./auth/AcceptInvitePage";
import { changePasswordSchema, signupSchema } from "./auth/schemas";
import { expiresAt } from "./api-keys/schemas";
import { keyStatus } from "./api-keys/api";
import { inviteSchema } from "./members/schemas";
import { invitationLink } from "./members/invitations-api";
import { deleteConfirmMatches, secretNameSchema, secretSchema } from "./settings/schemas";
import { workspaceNameSchema } from "./workspaces/schemas";

describe("form schemas", () => {
  it("signup trims and checks", () => {
    expect(signupSchema.parse({ name: " Ada ", email: " ada@example.com ", password: "12345678" })).toEqual({
      name: "Ada",
      email: "ada@example.com",
      password: "12345678",
    });
    expect(signupSchema.safeParse({ name: "", email: "x", password: "1" }).success).toBe(false);
    expect(changePasswordSchema.safeParse({ current_password: "a", new_password: "12345678", confirm: "12345678" }).success).toBe(true);
  });

  it("workspace names are 1–100 characters", () => {
    expect(workspaceNameSchema.safeParse("  ").success).toBe(false);
    expect(workspaceNameSchema.safeParse("x".repeat(101)).success).toBe(false);
    expect(workspaceNameSchema.parse(" Acme ")).toBe("Acme");
  });

  it("invitations need an email and a role", () => {
    expect(inviteSchema.safeParse({ email: "bob@example.com", role: "viewer" }).success).toBe(true);
    expect(inviteSchema.safeParse({ email: "bob", role: "viewer" }).success).toBe(false);
    expect(inviteSchema.safeParse({ email: "bob@example.com", role: "god" }).success).toBe(false);
    expect(invitationLink("a+b/c", "https://nexus.example")).toBe("https://nexus.example/invite?token=a%2Bb%2Fc");
  });

  it("secret names follow the server's rule; values are at most 64 KiB", () => {
    expect(secretNameSchema.safeParse("OPENAI_API_KEY").success).toBe(true);
    expect(secretNameSchema.safeParse("smtp.password-2").success).toBe(true);
    expect(secretNameSchema.safeParse("bad name!").success).toBe(false);
    expect(secretNameSchema.safeParse("x".repeat(101)).success).toBe(false);
    expect(secretSchema.safeParse({ name: "K", value: "" }).success).toBe(false);
    expect(secretSchema.safeParse({ name: "K", value: "x".repeat(64 * 1024 + 1) }).success).toBe(false);
  });

  it("deleting a workspace needs its exact name", () => {
    expect(deleteConfirmMatches("Acme", "Acme")).toBe(true);
    expect(deleteConfirmMatches("acme", "Acme")).toBe(false);
  });
});

describe("API keys", () => {
  it("turns an expiry choice into a time", () => {
    const now = new Date("2025-01-01T00:00:00Z");
    expect(expiresAt("never", now)).toBeNull();
    expect(expiresAt("30", now)).toBe("2025-01-31T00:00:00.000Z");
  });

  it("tells active, revoked and expired keys apart", () => {
    const base = { id: "k", name: "k", prefix: "nxk_ab", role: "member" as const, created_by: "u", created_at: "2025-01-01T00:00:00Z" };
    const now = Date.parse("2025-06-01T00:00:00Z");
    expect(keyStatus(base, now)).toBe("active");
    expect(keyStatus({ ...base, revoked_at: "2025-02-01T00:00:00Z" }, now)).toBe("revoked");
    expect(keyStatus({ ...base, expires_at: "2025-05-01T00:00:00Z" }, now)).toBe("expired");
  });
});

describe("accepting an invitation", () => {
  it("explains an email mismatch and what to do", () => {
    const err = new ApiError({ status: 403, code: "invitation_email_mismatch", message: "other" });
    const { title, body } = explainAcceptError(err, "bob@example.com");
    expect(title).toBe("This invitation is for a different email address");
    expect(body).toMatch(/signed in as bob@example.com/);
    expect(explainAcceptError(new ApiError({ status: 404, code: "not_found", message: "Not found." }), "x").title).toMatch(/isn't valid/);
    expect(
      explainAcceptError(new ApiError({ status: 409, code: "invitation_expired", message: "This invitation has expired; ask for a new one." }), "x")
        .body,
    ).toBe("This invitation has expired; ask for a new one.");
  });
});
