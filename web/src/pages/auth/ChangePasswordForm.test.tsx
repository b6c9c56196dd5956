import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setCsrfToken } from "@/api/csrf";
import { apiError, json, mockApi } from "../../../test/api-mock";
import { me } from "../../../test/fixtures";
import { renderApp } from "../../../test/render";
import { ChangePasswordForm } from "./ChangePasswordForm";

afterEach(() => vi.unstubAllGlobals());

async function fill(current: string, next: string, confirm: string) {
  await userEvent.clear(screen.getByLabelText("Current password"));
  await userEvent.type(screen.getByLabelText("Current password"), current);
  await userEvent.clear(screen.getByLabelText("New password"));
  await userEvent.type(screen.getByLabelText("New password"), next);
  await userEvent.clear(screen.getByLabelText("Repeat new password"));
  await userEvent.type(screen.getByLabelText("Repeat new password"), confirm);
  await userEvent.click(screen.getByRole("button", { name: "Change password" }));
}

describe("ChangePasswordForm", () => {
  it("checks the new password locally", async () => {
    const { calls } = mockApi({});
    renderApp(<ChangePasswordForm />, { me: me() });
    await fill("old password", "short", "short");
    expect(await screen.findByText("Use at least 8 characters")).toBeInTheDocument();
    await fill("old password", "new password", "other password");
    expect(await screen.findByText("The passwords don't match")).toBeInTheDocument();
    await fill("same password", "same password", "same password");
    expect(await screen.findByText("Choose a password different from the current one")).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });

  it("shows the server's 422 on the field, then succeeds with the CSRF header", async () => {
    setCsrfToken("csrf-1");
    let wrong = true;
    const { calls } = mockApi({
      "POST /api/v1/auth/password": () =>
        wrong
          ? apiError(422, "validation_failed", "Some fields are invalid.", { fields: { current_password: "is wrong" } })
          : json(204, null),
    });
    renderApp(<ChangePasswordForm />, { me: me() });
    await fill("bad guess", "new password 1", "new password 1");
    expect(await screen.findByText("Current password is wrong")).toBeInTheDocument();
    expect(screen.getByLabelText("Current password")).toHaveAttribute("aria-invalid", "true");
    wrong = false;
    await fill("right one", "new password 1", "new password 1");
    expect(await screen.findByText("Password changed")).toBeInTheDocument();
    expect(calls.at(-1)!.body).toEqual({ current_password: "right one", new_password: "new password 1" });
    expect(calls.at(-1)!.headers.get("X-CSRF-Token")).toBe("csrf-1");
    setCsrfToken(null);
  });
});
