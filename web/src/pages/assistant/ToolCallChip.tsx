import { ChevronRight, Wrench } from "lucide-react";
import { Spinner } from "@/components/ui/spinner";
import type { ToolCallView } from "./types";

function pretty(value: unknown): string {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2) ?? String(value);
}

const TOOL_NAMES: Record<string, string> = {
  list_members: "Looked up the workspace's members",
  search_conversations: "Searched conversations",
};

/** A tool the model used, collapsed to one line; open it for the arguments and the result. */
export function ToolCallChip({ call }: { call: ToolCallView }) {
  const label = TOOL_NAMES[call.name] ?? `Used ${call.name}`;
  return (
    <details className="group/tool rounded-lg border bg-muted/40 text-xs" data-tool-call={call.name}>
      <summary className="flex cursor-pointer list-none items-center gap-2 px-2.5 py-1.5 font-medium text-muted-foreground select-none hover:text-foreground focus-visible:rounded-lg focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none [&::-webkit-details-marker]:hidden">
        <ChevronRight className="size-3.5 transition-transform group-open/tool:rotate-90" aria-hidden />
        {call.done ? <Wrench className="size-3.5" aria-hidden /> : <Spinner className="size-3.5" />}
        <span>
          {label}
          {!call.done && "…"}
        </span>
        <code className="ml-auto font-mono text-[11px] opacity-70">{call.name}</code>
      </summary>
      <div className="grid gap-2 border-t px-2.5 py-2">
        <div>
          <p className="mb-1 font-medium text-muted-foreground">Arguments</p>
          <pre className="max-h-48 overflow-auto rounded bg-card p-2 font-mono text-[11px] whitespace-pre-wrap">{pretty(call.arguments)}</pre>
        </div>
        <div>
          <p className="mb-1 font-medium text-muted-foreground">Result</p>
          {call.done ? (
            <pre className="max-h-64 overflow-auto rounded bg-card p-2 font-mono text-[11px] whitespace-pre-wrap">{pretty(call.result)}</pre>
          ) : (
            <p className="text-muted-foreground">Running…</p>
          )}
        </div>
      </div>
    </details>
  );
}
