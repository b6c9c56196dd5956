/**
 * Models write math three ways: `$$…$$` (read as it is), LaTeX's `\[…\]` and `\(…\)`
 * (OpenAI's models), and `$…$` (Claude, DeepSeek and most others). The renderer reads
 * only double dollars, because a single `$` is too often money ("$5 and $10"), so the
 * others are rewritten to them first, outside code. A single-dollar pair is math by
 * Pandoc's rule: the opening `$` has a non-space character right after it, the closing
 * one a non-space character right before it and no digit right after it. So "$5 and
 * $10" stays text, and "$x^2$" and "$E = mc^2$" are math.
 */

const DISPLAY = /\\\[([\s\S]+?)\\\]/g;
const INLINE = /\\\(([\s\S]+?)\\\)/g;
const DOLLAR = /(?<![\\$])\$(?=[^\s$])([^$\n]*?[^\s\\$])\$(?![\d$])/g;
/** An inline code span: a run of backticks, then anything up to the same run. */
const CODE_SPAN = /(`+)[\s\S]*?[^`]\1(?!`)|(`+)\2(?!`)/g;
/** The line that opens (or closes) a fenced code block: its fence. */
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

function rewrite(text: string): string {
  return text
    .replace(DISPLAY, (_, body: string) => `\n$$\n${body.trim()}\n$$\n`)
    .replace(INLINE, (_, body: string) => `$$${body.trim()}$$`)
    .replace(DOLLAR, (_, body: string) => `$$${body}$$`);
}

/** Prose between code spans rewritten, the spans kept as they are. */
function outsideCodeSpans(text: string): string {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(CODE_SPAN)) {
    out += rewrite(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + rewrite(text.slice(last));
}

/** `text` with its math written the one way the renderer reads; code is left alone. */
export function normalizeMath(text: string): string {
  // Most answers have neither a dollar nor a backslash: nothing to do.
  if (!text.includes("$") && !text.includes("\\")) return text;
  const out: string[] = [];
  let prose: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    if (prose.length > 0) out.push(outsideCodeSpans(prose.join("\n")));
    prose = [];
  };
  for (const line of text.split("\n")) {
    const f = FENCE.exec(line)?.[1];
    if (fence !== null) {
      out.push(line);
      if (f && f[0] === fence[0] && f.length >= fence.length && line.trim() === f) fence = null;
    } else if (f) {
      flush();
      fence = f;
      out.push(line);
    } else {
      prose.push(line);
    }
  }
  flush();
  return out.join("\n");
}
