/**
 * Markdown with math: formulas written `$$…$$` (the others are rewritten to it first, see
 * `math.ts`) rendered by KaTeX as MathML, which the browser draws with no fonts or styles
 * to load. KaTeX's defaults keep it safe: no `\href` or `\includegraphics` (`trust` off)
 * and bounded macro expansion. A formula it can't read shows as its source, in red.
 */
import rehypeKatex from "rehype-katex";
import remarkMath from "remark-math";
import { MarkdownView, type Plugins } from "./Markdown";

const remark: Plugins = [[remarkMath, { singleDollarTextMath: false }]];
const rehype: Plugins = [[rehypeKatex, { output: "mathml" }]];

export default function MathMarkdown({ source, className }: { source: string; className?: string }) {
  return <MarkdownView source={source} className={className} remark={remark} rehype={rehype} />;
}
