import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const src = fileURLToPath(new URL("./src", import.meta.url));

// The Markdown renderer and highlighter (react-markdown, remark, rehype, lowlight and their
// helpers) load only when a chat shows: their own chunk, not the vendor one every page loads.
const MARKDOWN_PACKAGES = [
  "react-markdown", "remark-", "rehype-", "micromark", "mdast-util-", "hast-util-", "unist-util-", "unified", "vfile",
  "vfile-message", "lowlight", "highlight.js", "bail", "ccount", "character-entities", "character-entities-html4",
  "character-entities-legacy", "character-reference-invalid", "comma-separated-tokens", "decode-named-character-reference",
  "devlop", "escape-string-regexp", "estree-util-is-identifier-name", "extend", "html-url-attributes", "inline-style-parser",
  "is-alphabetical", "is-alphanumerical", "is-decimal", "is-hexadecimal", "is-plain-obj", "longest-streak", "markdown-table",
  "parse-entities", "property-information", "space-separated-tokens", "stringify-entities", "style-to-object", "trim-lines",
  "trough", "zwitch", "@ungap/structured-clone",
];
// KaTeX and what only it needs: fetched with the first answer that has a formula.
const MATH_PACKAGES = [
  "katex", "rehype-katex", "remark-math", "micromark-extension-math", "mdast-util-math", "hast-util-from-dom",
  "hast-util-from-html", "hast-util-from-html-isomorphic", "hast-util-from-parse5", "hast-util-parse-selector", "hastscript",
  "parse5", "unist-util-remove-position", "vfile-location", "web-namespaces",
];
const mathChunk = new RegExp(`node_modules[\\\\/](${MATH_PACKAGES.join("|")})[\\\\/]`);
const markdownChunk = new RegExp(
  `node_modules[\\\\/](${MARKDOWN_PACKAGES.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") + (p.endsWith("-") ? "[^\\\\/]*" : "")).join("|")})[\\\\/]`,
);

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": src } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The server's CSP forbids inline scripts; keep every asset a file.
    assetsInlineLimit: 0,
    sourcemap: false,
    rolldownOptions: {
      output: {
        // Libraries change less often than the app: separate chunks cache better.
        codeSplitting: {
          groups: [
            { name: "react", test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            // What KaTeX shares with the Markdown renderer stays in the markdown chunk, which
            // loads first: the math chunk imports from it, never the other way.
            { name: "math", test: mathChunk, includeDependenciesRecursively: false },
            { name: "markdown", test: markdownChunk },
            { name: "vendor", test: /node_modules[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: "http://127.0.0.1:5000", changeOrigin: false },
      "/readyz": { target: "http://127.0.0.1:5000" },
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}", "test/**/*.test.{ts,tsx}"],
    css: false,
    restoreMocks: true,
    // Room for several of the waits above in one test on a slow machine.
    testTimeout: 20000,
  },
});
