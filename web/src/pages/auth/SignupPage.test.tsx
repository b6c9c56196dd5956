import { screen } from "@testing-library/react";
import { Route, Switch } from "wouter";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiError, json, mockApi } from "../../../test/api-mock";
import { me } from "../../../test/fixtures";
import { renderApp } from "../../../test/render";
import { SignupPage } from "./SignupPage";

afterEach(() => vi.unstubAllGlobals());

describe("SignupPage", () => {
  it("shows what each field needs before asking the server", async () => {
    const { calls } = mockApi({});
    renderApp(<SignupPage />, { me: null, path: "/signup" });
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("Enter your name")).toBeInTheDocument();
    expect(screen.getByText("Enter your email address")).toBeInTheDocument();
    expect(screen.getByText("Use at least 8 characters")).toBeInTheDocument();
    expect(screen.getByLabelText("Your name")).toHaveAttribute("aria-invalid", "true");
    await userEvent.type(screen.getByLabelText("Email"), "not-an-email");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("Enter an email address like name@example.com")).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });

  it("puts the server's answers on the fields (409 email_taken, 422 fields)", async () => {
    let answer = apiError(409, "email_taken", "An account with this email already exists; sign in instead.");
    mockApi({ "POST /api/v1/auth/signup": () => answer });
    renderApp(<SignupPage />, { me: null, path: "/signup" });
    await userEvent.type(screen.getByLabelText("Your name"), "Ada");
    await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("An account with this email already exists; sign in instead.")).toBeInTheDocument();
    expect(screen.getByLabelText("Email")).toHaveAttribute("aria-invalid", "true");

    answer = apiError(422, "validation_failed", "Some fields are invalid.", { fields: { name: "must not be empty" } });
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("Name must not be empty")).toBeInTheDocument();
  });

  it("signs up, loads the session and goes on to `next`", async () => {
    const { calls } = mockApi({
      "POST /api/v1/auth/signup": () => json(201, { user: me().user, csrf_token: "t1" }),
      "GET /api/v1/me": () => json(200, { ...me(), workspaces: [] }),
    });
    const { location } = renderApp(
      <Switch>
        <Route path="/signup" component={SignupPage} />
        <Route path="/invite">Invitation page</Route>
      </Switch>,
      { me: null, path: "/signup?next=%2Finvite%3Ftoken%3Dabc" },
    );
    await userEvent.type(screen.getByLabelText("Your name"), "Ada");
    await userEvent.type(screen.getByLabelText("Email"), "ada@example.com");
    await userEvent.type(screen.getByLabelText("Password"), "long enough");
    await userEvent.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("Invitation page")).toBeInTheDocument();
    expect(location.history.at(-1)).toBe("/invite?token=abc");
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(["POST /api/v1/auth/signup", "GET /api/v1/me"]);
    expect(calls[0]!.body).toEqual({ name: "Ada", email: "ada@example.com", password: "long enough" });
  });
});
