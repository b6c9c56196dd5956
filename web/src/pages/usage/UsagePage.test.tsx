import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiError, json, mockApi } from "../../../test/api-mock";
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

const QUOTA = { used_tokens: 0, limit_tokens: 1_000_000, resets_at: "2027-01-01T00:00:00Z", period: "month" };

function noFeedback(req: Request) {
  const url = new URL(req.url);
  return { from: url.searchParams.get("from"), to: url.searchParams.get("to"), models: [], up: 0, down: 0, comments: [] };
}

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
      "GET /api/v1/workspaces/:ws/ai/feedback": (req) => json(200, noFeedback(req)),
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

  it("shows how each model's answers were rated, and the comments, linking the answers the admin may open", async () => {
    mockApi({
      "GET /api/v1/workspaces/:ws/ai/usage": (req) =>
        json(200, { from: "", to: "", group_by: new URL(req.url).searchParams.get("group_by"), items: [], totals: row("", 0), quota: QUOTA }),
      "GET /api/v1/workspaces/:ws/ai/feedback": (req) =>
        json(200, {
          ...noFeedback(req),
          models: [
            { model: "fake-small", up: 1, down: 3 },
            { model: "fake-large", up: 9, down: 1 },
          ],
          up: 10,
          down: 4,
          comments: [
            {
              message_id: "m1",
              conversation_id: "c1",
              model: "fake-small",
              rating: "down",
              comment: "Too vague",
              rated_by: "u2",
              rated_by_label: "m@example.com",
              updated_at: "2026-11-20T10:00:00Z",
            },
            {
              message_id: "m2",
              conversation_id: null,
              model: "fake-large",
              rating: "up",
              comment: "Spot on",
              rated_by: "u3",
              rated_by_label: "n@example.com",
              updated_at: "2026-11-19T10:00:00Z",
            },
          ],
        }),
    });
    renderApp(<UsagePage />, { me: me("owner") });
    const table = await screen.findByRole("table", { name: "Feedback by model" });
    const rows = within(table).getAllByRole("row").slice(1);
    // The most rated model first.
    expect(rows.map((r) => r.textContent)).toEqual(["fake-large9190%", "fake-small1325%"]);

    const items = screen.getAllByRole("listitem").filter((li) => li.hasAttribute("data-feedback-comment"));
    expect(items).toHaveLength(2);
    const comments = items as [HTMLElement, HTMLElement];
    expect(within(comments[0]).getByRole("img", { name: "Bad" })).toBeInTheDocument();
    expect(within(comments[0]).getByText("Too vague")).toBeInTheDocument();
    expect(within(comments[0]).getByRole("link", { name: "Open the answer" })).toHaveAttribute("href", expect.stringMatching(/\/assistant\/c1\?m=m1$/));
    // Someone else's private conversation: the comment, and no way in.
    expect(within(comments[1]).getByText("Spot on")).toBeInTheDocument();
    expect(within(comments[1]).queryByRole("link")).not.toBeInTheDocument();
  });

  it("says so when no answers were rated", async () => {
    mockApi({
      "GET /api/v1/workspaces/:ws/ai/usage": (req) =>
        json(200, { from: "", to: "", group_by: new URL(req.url).searchParams.get("group_by"), items: [], totals: row("", 0), quota: QUOTA }),
      "GET /api/v1/workspaces/:ws/ai/feedback": (req) => json(200, noFeedback(req)),
    });
    renderApp(<UsagePage />, { me: me("owner") });
    expect(await screen.findByText(/No answers were rated in this period/)).toBeInTheDocument();
  });

  it("a feedback report that fails fails its card alone", async () => {
    mockApi({
      "GET /api/v1/workspaces/:ws/ai/usage": (req) =>
        json(200, { from: "", to: "", group_by: new URL(req.url).searchParams.get("group_by"), items: [row("fake-small", 10)], totals: row("", 10), quota: QUOTA }),
      "GET /api/v1/workspaces/:ws/ai/feedback": () => apiError(500, "internal", "Something broke."),
    });
    renderApp(<UsagePage />, { me: me("owner") });
    const card = await screen.findByRole("region", { name: "Answer feedback" });
    expect(await within(card).findByRole("alert")).toBeInTheDocument();
    expect(screen.getByText("This month's quota")).toBeInTheDocument();
    expect(screen.getByRole("table", { name: "Usage by model" })).toBeInTheDocument();
  });
});
