import { describe, expect, it } from "vitest";
import { normalizeMath } from "./math";

describe("normalizeMath", () => {
  it("rewrites LaTeX's delimiters and single-dollar math to double dollars", () => {
    expect(normalizeMath("Area: \\(\\pi r^2\\).")).toBe("Area: $$\\pi r^2$$.");
    expect(normalizeMath("So\n\\[\n  E = mc^2\n\\]\nholds.")).toBe("So\n\n$$\nE = mc^2\n$$\n\nholds.");
    expect(normalizeMath("Let $x^2 + y^2 = 1$ be a circle.")).toBe("Let $$x^2 + y^2 = 1$$ be a circle.");
    expect(normalizeMath("$$\\int_0^1 x\\,dx$$")).toBe("$$\\int_0^1 x\\,dx$$");
  });

  it("leaves money alone", () => {
    for (const text of ["It costs $5 and $10.", "$5, or $20 for two", "Between $3-$4 each.", "A $ sign", "Escaped \\$x\\$ stays."]) {
      expect(normalizeMath(text)).toBe(text);
    }
  });

  it("leaves code alone, fenced or inline", () => {
    const code = "Run `echo $HOME$` then:\n\n```sh\nprice=$x$\necho \\(sub\\)\n```\n\nand $a$ after.";
    expect(normalizeMath(code)).toBe("Run `echo $HOME$` then:\n\n```sh\nprice=$x$\necho \\(sub\\)\n```\n\nand $$a$$ after.");
  });

  it("leaves an answer still streaming inside a fence alone", () => {
    const partial = "Here:\n```js\nconst s = `$${a}$`;";
    expect(normalizeMath(partial)).toBe(partial);
  });
});
