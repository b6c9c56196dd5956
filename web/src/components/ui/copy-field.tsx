import { Check, Copy } from "lucide-react";
import { useEffect, useState } from "react";
import { copyText } from "@/lib/clipboard";
import { Button } from "./button";
import { Input, Textarea } from "./input";
import { toast } from "./toast";

/** A read-only value with a copy button: invitation links, new API keys. */
/** With `multiline`, long values (keys) wrap so the whole value is visible. */
export function CopyField({
  value,
  label,
  monospace,
  multiline,
}: {
  value: string;
  label: string;
  monospace?: boolean;
  multiline?: boolean;
}) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <div className={multiline ? "grid gap-2 sm:flex sm:items-start" : "flex gap-2"}>
      {multiline ? (
        <Textarea
          readOnly
          value={value}
          aria-label={label}
          rows={2}
          className={`min-h-0! resize-none break-all ${monospace ? "font-mono text-xs" : ""}`}
          onFocus={(e) => e.currentTarget.select()}
        />
      ) : (
        <Input
          readOnly
          value={value}
          aria-label={label}
          className={monospace ? "font-mono text-xs" : undefined}
          onFocus={(e) => e.currentTarget.select()}
        />
      )}
      <Button
        variant="outline"
        onClick={async () => {
          if (await copyText(value)) {
            setCopied(true);
            toast({ title: "Copied to clipboard" });
          } else {
            toast({ variant: "error", title: "Couldn't copy", description: "Select the text and copy it yourself." });
          }
        }}
        aria-label={`Copy ${label}`}
      >
        {copied ? <Check aria-hidden /> : <Copy aria-hidden />}
        <span>{copied ? "Copied" : "Copy"}</span>
      </Button>
    </div>
  );
}
