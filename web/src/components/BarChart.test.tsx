import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { daysIn, rangeFor } from "@/pages/usage/range";
import { BarChart, niceTicks } from "./BarChart";

describe("niceTicks", () => {
  it("steps by 1, 2, 2.5 or 5 × 10ⁿ and reaches the maximum", () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(100)).toEqual([0, 25, 50, 75, 100]);
    expect(niceTicks(1234)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    const t = niceTicks(98_765);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(98_765);
  });
});

describe("BarChart", () => {
  it("draws a bar per datum with a tooltip, and a table for screen readers", () => {
    const { container } = render(
      <BarChart
        title="Tokens per day"
        series={[
          { name: "Prompt", className: "fill-primary/35", swatch: "" },
          { name: "Completion", className: "fill-primary", swatch: "" },
        ]}
        data={[
          { key: "2026-01-01", label: "Jan 1", values: [10, 30] },
          { key: "2026-01-02", label: "Jan 2", values: [0, 0] },
        ]}
      />,
    );
    expect(screen.getByRole("img", { name: "Tokens per day" })).toBeInTheDocument();
    expect(container.querySelectorAll("[data-bar]")).toHaveLength(2);
    expect(container.querySelector('[data-bar="2026-01-01"] title')?.textContent).toBe("Jan 1: 40 tokens (prompt 10, completion 30)");
    expect(screen.getByRole("table", { name: "Tokens per day" })).toBeInTheDocument();
  });
});

describe("usage ranges", () => {
  const now = Date.parse("2026-03-15T10:00:00Z");
  it("this month runs from the 1st to tonight (UTC)", () => {
    expect(rangeFor("month", now)).toEqual({ from: "2026-03-01T00:00:00.000Z", to: "2026-03-16T00:00:00.000Z" });
    expect(rangeFor("7d", now)).toEqual({ from: "2026-03-09T00:00:00.000Z", to: "2026-03-16T00:00:00.000Z" });
  });
  it("lists every day of a range", () => {
    const r = rangeFor("7d", now);
    expect(daysIn(r.from, r.to)).toEqual(["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13", "2026-03-14", "2026-03-15"]);
  });
});
