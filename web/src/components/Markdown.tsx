/**
 * Markdown from an AI model (or anyone else): GFM, highlighted code with a copy button,
 * math (see `MathMarkdown`), and nothing that can run. Raw HTML in the text is shown as
 * text (never parsed into elements), links pass react-markdown's URL filter (no
 * `javascript:`) and open in a new tab without access to this one, and images become
 * links: the page loads nothing from elsewhere (the CSP would refuse it anyway).
 */
import { Check, Copy, ImageIcon } from "lucide-react";
import { lazy, memo, type ReactNode, Suspense, useState } from "react";
import ReactMarkdown, { type Components, defaultUrlTransform } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import remarkGfm from "remark-gfm";
import { toast } from "@/components/ui/toast";
import { copyText } from "@/lib/clipboard";
import { cn } from "@/lib/cn";
import { normalizeMath } from "./math";

interface MdNode {
  type: string;
  value?: string;
  children?: MdNode[];
  tagName?: string;
  properties?: Record<string, unknown>;
}

/** Turn raw HTML nodes into text nodes: `<script>` shows as the characters `<script>`. */
export function remarkHtmlAsText() {
  const walk = (node: MdNode) => {
    if (node.type === "html") node.type = "text";
    node.children?.forEach(walk);
  };
  return (tree: MdNode) => walk(tree);
}

/** The text inside a hast element (for copying a highlighted code block). */
function textOf(node: MdNode | undefined): string {
  if (!node) return "";
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(textOf).join("");
}

function languageOf(node: MdNode | undefined): string | null {
  const code = node?.children?.find((c) => c.type === "element" && c.tagName === "code");
  const cls = code?.properties?.className;
  const list = Array.isArray(cls) ? cls.map(String) : typeof cls === "string" ? cls.split(" ") : [];
  const lang = list.find((c) => c.startsWith("language-"));
  return lang ? lang.slice("language-".length) : null;
}

/** Only http(s), mailto and relative links survive; anything else becomes no link at all. */
export function safeUrl(url: string): string {
  return defaultUrlTransform(url);
}

function CodeBlock({ node, children }: { node?: MdNode; children?: ReactNode }) {
  const [copied, setCopied] = useState(false);
  const language = languageOf(node);
  const copy = async () => {
    const ok = await copyText(textOf(node).replace(/\n$/, ""));
    if (ok) {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } else {
      toast({ variant: "error", title: "Couldn't copy", description: "Select the code and copy it by hand." });
    }
  };
  return (
    <div className="group/code my-3 overflow-hidden rounded-lg border bg-muted/50" data-code-block>
      <div className="flex h-8 items-center justify-between border-b bg-muted/70 pr-1 pl-3 text-xs text-muted-foreground">
        <span className="font-mono">{language ?? "text"}</span>
        <button
          type="button"
          onClick={copy}
          aria-label={copied ? "Copied" : `Copy ${language ?? ""} code`.replace("  ", " ")}
          className="inline-flex h-6 cursor-pointer items-center gap-1 rounded px-2 transition-colors hover:bg-accent hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
        >
          {copied ? <Check className="size-3.5" aria-hidden /> : <Copy className="size-3.5" aria-hidden />}
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      <pre className="overflow-x-auto p-3 font-mono text-[13px] leading-relaxed">{children}</pre>
    </div>
  );
}

const components: Components = {
  pre: ({ node, children }) => <CodeBlock node={node as MdNode | undefined}>{children}</CodeBlock>,
  code: ({ className, children }) => {
    // Inside <pre> the block styles it; inline code gets a chip.
    const block = typeof className === "string" && /(^|\s)(language-|hljs)/.test(className);
    return block ? (
      <code className={className}>{children}</code>
    ) : (
      <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-[0.85em]">{children}</code>
    );
  },
  a: ({ href, children }) =>
    href ? (
      <a
        href={href}
        target="_blank"
        rel="noopener noreferrer nofollow"
        referrerPolicy="no-referrer"
        className="font-medium text-primary underline underline-offset-2 hover:no-underline"
      >
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  img: ({ src, alt }) => {
    const href = typeof src === "string" ? src : "";
    const label = alt || "image";
    return href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow" referrerPolicy="no-referrer" className="inline-flex items-center gap-1 text-primary underline underline-offset-2">
        <ImageIcon className="size-3.5" aria-hidden /> {label}
      </a>
    ) : (
      <span>{label}</span>
    );
  },
  table: ({ children }) => (
    <div className="my-3 overflow-x-auto rounded-lg border">
      <table className="w-full border-collapse text-sm">{children}</table>
    </div>
  ),
  th: ({ children, style }) => (
    <th style={style} className="border-b bg-muted/50 px-3 py-1.5 text-left font-medium">
      {children}
    </th>
  ),
  td: ({ children, style }) => (
    <td style={style} className="border-b px-3 py-1.5 align-top">
      {children}
    </td>
  ),
};

type Options = Parameters<typeof ReactMarkdown>[0];
export type Plugins = NonNullable<Options["remarkPlugins"]>;
const remarkPlugins: Plugins = [remarkGfm, remarkHtmlAsText];
const rehypePlugins: Plugins = [[rehypeHighlight, { detect: false }]];

/** `source` rendered, with more plugins after ours (the math renderer's). */
export function MarkdownView({ source, className, remark = [], rehype = [] }: { source: string; className?: string; remark?: Plugins; rehype?: Plugins }) {
  return (
    <div className={cn("markdown", className)}>
      <ReactMarkdown
        remarkPlugins={remark.length > 0 ? [...remarkPlugins, ...remark] : remarkPlugins}
        rehypePlugins={rehype.length > 0 ? [...rehypePlugins, ...rehype] : rehypePlugins}
        components={components}
        urlTransform={safeUrl}
        skipHtml={false}
      >
        {source}
      </ReactMarkdown>
    </div>
  );
}

// KaTeX is a chunk of its own, fetched with the first answer that has a formula; until it
// is there, the answer shows with its formulas as their source.
const MathMarkdown = lazy(() => import("./MathMarkdown"));

export const Markdown = memo(function Markdown({ text, className }: { text: string; className?: string }) {
  const source = normalizeMath(text);
  const plain = <MarkdownView source={source} className={className} />;
  if (!source.includes("$$")) return plain;
  return (
    <Suspense fallback={plain}>
      <MathMarkdown source={source} className={className} />
    </Suspense>
  );
});
