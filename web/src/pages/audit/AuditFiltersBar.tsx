import { X } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select, type SelectOption } from "@/components/ui/select";
import {
  ACTION_FAMILIES,
  type AuditFilters,
  EMPTY_FILTERS,
  hasFilters,
  localInputToRfc3339,
  rfc3339ToLocalInput,
  validateFilters,
} from "./filters";

const ANY = "__any__";

export function AuditFiltersBar({
  filters,
  onChange,
  actors,
}: {
  filters: AuditFilters;
  onChange: (next: AuditFilters) => void;
  actors: Array<{ id: string; label: string }>;
}) {
  const errors = validateFilters(filters);
  const set = (patch: Partial<AuditFilters>) => onChange({ ...filters, ...patch });

  const actorOptions: SelectOption[] = [{ value: ANY, label: "Anyone" }, ...actors.map((a) => ({ value: a.id, label: a.label }))];
  if (filters.actor_id && !actors.some((a) => a.id === filters.actor_id)) {
    actorOptions.push({ value: filters.actor_id, label: `Actor ${filters.actor_id.slice(0, 8)}…` });
  }

  const actionOptions: SelectOption[] = [{ value: ANY, label: "All actions" }];
  for (const fam of ACTION_FAMILIES) {
    actionOptions.push({ value: fam.prefix, label: `${fam.label}: all (${fam.prefix}*)` });
    for (const a of fam.actions) actionOptions.push({ value: a, label: a });
  }
  if (filters.action && !actionOptions.some((o) => o.value === filters.action)) {
    actionOptions.push({ value: filters.action, label: filters.action });
  }

  return (
    <div role="search" aria-label="Filter the audit log" className="mb-4 rounded-xl border bg-card p-4 shadow-xs">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-[repeat(4,minmax(0,1fr))_auto] lg:items-start">
        <Field label="Actor">
          <Select
            value={filters.actor_id || ANY}
            onValueChange={(v) => set({ actor_id: v === ANY ? "" : v })}
            options={actorOptions}
          />
        </Field>
        <Field label="Action" error={errors.action}>
          <Select value={filters.action || ANY} onValueChange={(v) => set({ action: v === ANY ? "" : v })} options={actionOptions} />
        </Field>
        <Field label="From" error={errors.from}>
          <Input
            type="datetime-local"
            value={rfc3339ToLocalInput(filters.from)}
            onChange={(e) => set({ from: localInputToRfc3339(e.target.value) })}
          />
        </Field>
        <Field label="To" error={errors.to}>
          <Input
            type="datetime-local"
            value={rfc3339ToLocalInput(filters.to)}
            onChange={(e) => set({ to: localInputToRfc3339(e.target.value) })}
          />
        </Field>
        <div className="flex items-end lg:h-full lg:pb-0">
          <Button
            variant="ghost"
            className="lg:mt-[1.375rem]"
            disabled={!hasFilters(filters)}
            onClick={() => onChange(EMPTY_FILTERS)}
          >
            <X aria-hidden /> Clear
          </Button>
        </div>
      </div>
    </div>
  );
}
