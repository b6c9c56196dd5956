import { Sparkles } from "lucide-react";
import type { ModelView } from "@/api/client";
import { Select } from "@/components/ui/select";
import { cn } from "@/lib/cn";

function tags(m: ModelView): string {
  const t = [m.provider_name];
  if (m.is_default) t.push("default");
  if (m.is_small) t.push("small");
  if (m.is_large) t.push("large");
  return t.join(" · ");
}

/** Which model answers: the conversation's (changing it applies to the next messages). */
export function ModelPicker({
  models,
  value,
  onChange,
  disabled,
}: {
  models: ModelView[];
  value: string | undefined;
  onChange: (model: string) => void;
  disabled?: boolean;
}) {
  const options = models.map((m) => ({ value: m.id, label: m.id, description: tags(m) }));
  // A conversation may use a model no provider offers any more: keep it visible.
  if (value && !options.some((o) => o.value === value)) options.unshift({ value, label: value, description: "no longer offered" });
  return (
    <div className="w-40 min-w-0">
      <Select
      aria-label="Model"
      size="sm"
      value={value}
      onValueChange={onChange}
      options={options}
      disabled={disabled}
      placeholder="Model"
      className="h-7 rounded-full border-transparent bg-muted/60 px-2.5 shadow-none hover:bg-accent"
      />
    </div>
  );
}

/** "Use the large model" for the next message, where the workspace has one. */
export function EscalateToggle({
  large,
  pressed,
  onChange,
  disabled,
}: {
  large: string;
  pressed: boolean;
  onChange: (on: boolean) => void;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      aria-pressed={pressed}
      disabled={disabled}
      onClick={() => onChange(!pressed)}
      title={`Answer with the large model (${large})`}
      className={cn(
        "inline-flex h-7 cursor-pointer items-center gap-1.5 rounded-full border px-2.5 text-xs font-medium transition-colors focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none disabled:cursor-not-allowed disabled:opacity-50",
        pressed
          ? "border-primary/40 bg-primary-soft text-primary-soft-foreground"
          : "border-transparent bg-muted/60 text-muted-foreground hover:bg-accent hover:text-foreground",
      )}
    >
      <Sparkles className="size-3.5" aria-hidden />
      Use large model
    </button>
  );
}
