import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../../../../test/api-mock";
import { me } from "../../../../test/fixtures";
import { renderApp } from "../../../../test/render";
import { AiDefaultsCard } from "./AiDefaultsCard";

const MODELS = [{ id: "fake-small", provider_id: "p1", provider_name: "Fake", is_default: true, is_small: true, is_large: false }];

afterEach(() => vi.unstubAllGlobals());

describe("AiDefaultsCard", () => {
  it("shows a fallback model no longer offered, so that it can be taken out", async () => {
    const settings = {
      default_model: "fake-small",
      small_model: null,
      large_model: "gone-large",
      fallback_models: ["gone-model"],
      member_monthly_tokens: null,
      public_links: true,
    };
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/ai/settings": () => json(200, settings),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
      "PUT /api/v1/workspaces/:ws/ai/settings": (_req, body) => json(200, body),
    });
    renderApp(<AiDefaultsCard />, { me: me("owner") });

    const gone = await screen.findByRole("checkbox", { name: /gone-model/ });
    expect(gone).toBeChecked();
    expect(gone.closest("label")).toHaveTextContent("no longer offered");
    // The large model's select shows the chosen one too, marked.
    expect(screen.getAllByText("gone-large").length).toBeGreaterThan(0);

    await userEvent.click(gone);
    await userEvent.click(screen.getByRole("button", { name: "Save defaults" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    const put = calls.find((c) => c.method === "PUT")!;
    expect(put.body).toMatchObject({ fallback_models: [], large_model: "gone-large", public_links: true });
  });

  it("switching public links off warns that saving takes every link down", async () => {
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/ai/settings": () =>
        json(200, { default_model: null, small_model: null, large_model: null, fallback_models: [], member_monthly_tokens: null, public_links: true }),
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: MODELS, next_cursor: null }),
      "PUT /api/v1/workspaces/:ws/ai/settings": (_req, body) => json(200, body),
    });
    renderApp(<AiDefaultsCard />, { me: me("owner") });
    const links = await screen.findByRole("switch", { name: "Public links" });
    expect(links).toBeChecked();
    expect(screen.queryByText(/takes down every public link/)).toBeNull();
    await userEvent.click(links);
    expect(screen.getByText("Saving takes down every public link in this workspace.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Save defaults" }));
    await waitFor(() => expect(calls.find((c) => c.method === "PUT")?.body).toMatchObject({ public_links: false }));
  });
});
