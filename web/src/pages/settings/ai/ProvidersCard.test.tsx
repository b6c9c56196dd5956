import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../../../../test/api-mock";
import { me } from "../../../../test/fixtures";
import { renderApp } from "../../../../test/render";
import { ProvidersCard } from "./ProvidersCard";

afterEach(() => vi.unstubAllGlobals());

const provider = (id: string, name: string, priority: number) => ({
  id,
  name,
  api: "openai",
  base_url: `https://${id}.example.com/v1`,
  models: ["m"],
  enabled: true,
  has_api_key: true,
  priority,
  circuit: "closed",
  prompt_caching: false,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
});

describe("ProvidersCard", () => {
  it("a move waits for the order being saved, so two moves never interleave", async () => {
    const patches: Array<() => void> = [];
    const { calls } = mockApi({
      "GET /api/v1/workspaces/:ws/ai/providers": () =>
        json(200, { items: [provider("a", "Alpha", 10), provider("b", "Beta", 20), provider("c", "Gamma", 30)], next_cursor: null }),
      "PATCH /api/v1/workspaces/:ws/ai/providers/:id": async (_req, body) => {
        await new Promise<void>((r) => patches.push(r));
        return json(200, body);
      },
      "GET /api/v1/workspaces/:ws/ai/models": () => json(200, { items: [], next_cursor: null }),
    });
    renderApp(<ProvidersCard />, { me: me("owner") });
    await userEvent.click(await screen.findByRole("button", { name: "Move Gamma up" }));
    await waitFor(() => expect(patches.length).toBe(1));
    expect(screen.getByRole("button", { name: "Move Alpha down" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Move Gamma up" })).toBeDisabled();
    // Gamma up is two patches, one after the other (Gamma to 20, Beta to 30).
    for (let i = 0; i < 2; i++) {
      await waitFor(() => expect(patches.length).toBe(1));
      patches.shift()!();
    }
    expect(calls.filter((c) => c.method === "PATCH").map((c) => c.body)).toEqual([{ priority: 20 }, { priority: 30 }]);
    await waitFor(() => expect(screen.getByRole("button", { name: "Move Alpha down" })).toBeEnabled());
  });
});
