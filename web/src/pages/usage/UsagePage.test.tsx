import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { json, mockApi } from "../../../test/api-mock";
import { me } from "../../../test/fixtures";
import { renderApp } from "../../../test/render";
import { UsagePage } from "./UsagePage";

afterEach(() => vi.unstubAllGlobals());

const row = (key: string, total: number) => ({
  key,
  label: key,
  prompt_tokens: total / 2,
  completion_tokens: total / 2,
  cached_prompt_tokens: 0,
  total_tokens: total,
  requests: 1,
  cached_requests: 0,
});

describe("UsagePage", () => {
  it("switching the period shows the new period loading, never the old figures under its name", async () => {
    const slow: Array<() => void> = [];
    mockApi({
      "GET /api/v1/workspaces/:ws/ai/usage": async (req) => {
        const url = new URL(req.url);
        // The 90 days take their time, so the page is seen while they load.
        const long = Date.parse(url.searchParams.get("to")!) - Date.parse(url.searchParams.get("from")!) > 40 * 86_400_000;
        if (long) await new Promise<void>((r) => slow.push(r));
        const total = long ? 9_000 : 1_234;
        return json(200, {
          from: url.searchParams.get("from"),
          to: url.searchParams.get("to"),
          group_by: url.searchParams.get("group_by"),
          items: [row(url.searchParams.get("group_by") === "day" ? url.searchParams.get("from")!.slice(0, 10) : "fake-small", total)],
          totals: row("", total),
          quota: { used_tokens: 1_234, limit_tokens: 1_000_000, resets_at: "2027-01-01T00:00:00Z", period: "month" },
        });
      },
    });
    renderApp(<UsagePage />, { me: me("owner") });
    const tokens = () => screen.getByText("Tokens", { selector: "p" }).parentElement!;
    await waitFor(() => expect(within(tokens()).getByText("1,234")).toBeInTheDocument());

    await userEvent.click(screen.getByRole("combobox", { name: "Period" }));
    await userEvent.click(await screen.findByRole("option", { name: "Last 90 days" }));
    // Loading: the 30-day total is not shown as the 90 days'.
    await waitFor(() => expect(within(tokens()).queryByText("1,234")).not.toBeInTheDocument());
    expect(screen.queryByRole("table", { name: "Usage by model" })?.textContent ?? "").not.toContain("1,234");
    // The quota does not depend on the period: it stays.
    expect(screen.getByText("This month's quota")).toBeInTheDocument();

    for (const go of slow) go();
    await waitFor(() => expect(within(tokens()).getByText("9,000")).toBeInTheDocument());
  });
});
