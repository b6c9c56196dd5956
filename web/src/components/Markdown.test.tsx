import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Markdown } from "./Markdown";

describe("Markdown (model answers)", () => {
  it("renders math as MathML, however the model wrote it, and money as text", async () => {
    const { container } = render(<Markdown text={"Inline $x^2$ and \\(\\sqrt{2}\\), shown:\n\n$$\n\\frac{a}{b}\n$$\n\nIt costs $5 and $10."} />);
    // KaTeX arrives as a chunk of its own; until then the formulas show as their source.
    await waitFor(() => expect(container.querySelectorAll("math")).toHaveLength(3));
    const formulas = container.querySelectorAll("math");
    expect(formulas[2]?.getAttribute("display")).toBe("block");
    expect(container.querySelector("mfrac")).not.toBeNull();
    expect(container.textContent).toContain("It costs $5 and $10.");
  });

  it("shows a formula KaTeX can't read as its source, and runs nothing in one", async () => {
    const { container } = render(<Markdown text={"Bad $\\frac{1$ and $\\href{javascript:alert(1)}{x}$ but $y$"} />);
    await waitFor(() => expect(container.querySelector("math")).not.toBeNull());
    expect(container.textContent).toContain("\\frac{1");
    expect(container.querySelector("a")).toBeNull();
    expect(container.innerHTML).not.toMatch(/href="javascript:/i);
  });

  it("shows raw HTML as text: a <script> never becomes an element", () => {
    const { container } = render(<Markdown text={"Hi <script>window.pwned = 1</script> and <b onmouseover=alert(1)>bold</b>\n\n<img src=x onerror=alert(1)>"} />);
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("b")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("[onerror],[onmouseover]")).toBeNull();
    expect(container.textContent).toContain("<script>window.pwned = 1</script>");
    expect(container.textContent).toContain("<img src=x onerror=alert(1)>");
    expect((window as { pwned?: number }).pwned).toBeUndefined();
  });

  it("drops javascript: and data: links but keeps their text", () => {
    const { container } = render(
      <Markdown text={"[click me](javascript:alert(1)) [also](JaVaScRiPt:alert(1)) [data](data:text/html,<script>alert(1)</script>) <javascript:alert(1)>"} />,
    );
    for (const a of Array.from(container.querySelectorAll("a"))) {
      expect(a.getAttribute("href") ?? "").not.toMatch(/^\s*(javascript|data):/i);
    }
    expect(screen.getByText("click me")).toBeInTheDocument();
    expect(container.innerHTML).not.toMatch(/href="\s*javascript:/i);
    expect(container.querySelectorAll("a[href]")).toHaveLength(0);
  });

  it("opens safe links in a new tab without giving it this page", () => {
    render(<Markdown text="See [the docs](https://example.com/docs)." />);
    const link = screen.getByRole("link", { name: "the docs" });
    expect(link).toHaveAttribute("href", "https://example.com/docs");
    expect(link).toHaveAttribute("target", "_blank");
    expect(link.getAttribute("rel")).toContain("noopener");
    expect(link.getAttribute("rel")).toContain("noreferrer");
  });

  it("turns images into links (nothing is loaded from elsewhere)", () => {
    const { container } = render(<Markdown text="![a chart](https://tracker.example/pixel.png)" />);
    expect(container.querySelector("img")).toBeNull();
    expect(screen.getByRole("link", { name: /a chart/ })).toHaveAttribute("href", "https://tracker.example/pixel.png");
  });

  it("highlights fenced code and copies it with the button", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
    const { container } = render(<Markdown text={"```js\nconst x = 1; // one\n```"} />);
    expect(container.querySelector("pre code.language-js")).not.toBeNull();
    expect(container.querySelector(".hljs-keyword")?.textContent).toBe("const");
    await userEvent.click(screen.getByRole("button", { name: "Copy js code" }));
    expect(writeText).toHaveBeenCalledWith("const x = 1; // one");
    expect(await screen.findByRole("button", { name: "Copied" })).toBeInTheDocument();
  });

  it("renders GFM tables and task lists", () => {
    const { container } = render(<Markdown text={"| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done"} />);
    expect(container.querySelector("table td")?.textContent).toBe("1");
    expect(container.querySelector("input[type=checkbox]")).toBeChecked();
  });
});
