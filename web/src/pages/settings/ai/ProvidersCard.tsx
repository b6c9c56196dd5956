import { ArrowDown, ArrowUp, Bot, CheckCircle2, KeyRound, MoreHorizontal, Pencil, Plus, Trash2, TriangleAlert, XCircle } from "lucide-react";
import { useState } from "react";
import type { ProviderTestResult, ProviderView } from "@/api/client";
import { ErrorState } from "@/components/ErrorState";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardDescription, CardTitle } from "@/components/ui/card";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuSeparator, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { EmptyState } from "@/components/ui/empty-state";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { toast, toastError } from "@/components/ui/toast";
import { Tooltip } from "@/components/ui/tooltip";
import { formatNumber } from "@/lib/format";
import { useDeleteProvider, useProviders, useReorderProviders, useTestProvider, useUpdateProvider } from "@/pages/ai/api";
import { useWorkspace } from "@/pages/workspaces/context";
import { ProviderDialog } from "./ProviderDialog";
import { PROVIDER_APIS } from "./schemas";

const CIRCUIT = {
  closed: { label: "Healthy", variant: "success", help: "Calls go through normally." },
  half_open: { label: "Recovering", variant: "warning", help: "After failures, one trial call is allowed to see if it's back." },
  open: { label: "Circuit open", variant: "destructive", help: "Skipped for now after repeated failures; the next provider answers instead." },
} as const;

/** Move one item of a list by `delta` places. */
export function moved<T>(list: readonly T[], index: number, delta: number): T[] {
  const to = index + delta;
  if (to < 0 || to >= list.length) return [...list];
  const out = [...list];
  const [item] = out.splice(index, 1);
  out.splice(to, 0, item!);
  return out;
}

/** How many of the endpoint's other models are offered to add, at most. */
const MAX_OFFERED = 24;

/** The endpoint's models the provider does not serve yet, each one click from being added. */
function OtherModels({ provider, available }: { provider: ProviderView; available: string[] }) {
  const ws = useWorkspace();
  const update = useUpdateProvider(ws.id);
  const others = available.filter((m) => !provider.models.includes(m));
  if (others.length === 0) return null;
  const add = async (model: string) => {
    try {
      await update.mutateAsync({ id: provider.id, models: [...provider.models, model] });
      toast({ title: `${model} added`, description: `${provider.name} now serves it.` });
    } catch (err) {
      toastError(err, "Couldn't add the model");
    }
  };
  return (
    <div className="grid gap-1.5 pt-1" data-other-models>
      <p className="text-xs text-muted-foreground">Also available at this endpoint:</p>
      <ul className="flex flex-wrap gap-1" aria-label={`Other models of ${provider.name}`}>
        {others.slice(0, MAX_OFFERED).map((m) => (
          <li key={m}>
            <Button variant="outline" size="sm" className="h-7 px-2 font-mono" aria-label={`Add ${m} to ${provider.name}`} disabled={update.isPending} onClick={() => add(m)}>
              <Plus aria-hidden /> {m}
            </Button>
          </li>
        ))}
        {others.length > MAX_OFFERED && (
          <li className="self-center text-xs text-muted-foreground">and {formatNumber(others.length - MAX_OFFERED)} more (add them with Edit)</li>
        )}
      </ul>
    </div>
  );
}

function TestResult({ result, provider }: { result: ProviderTestResult; provider: ProviderView }) {
  const api = provider.api;
  if (!result.ok) {
    return (
      <div role="status" className="flex items-start gap-2 rounded-lg border border-destructive/30 bg-destructive-soft px-3 py-2 text-sm text-destructive-soft-foreground" data-test-result="error">
        <XCircle className="mt-0.5 size-4 shrink-0" aria-hidden />
        <div className="grid gap-0.5">
          <p className="font-medium">Couldn't reach it</p>
          <p className="break-words opacity-90">{result.error ?? `The endpoint did not answer as ${api === "anthropic" ? "Anthropic's API" : "an OpenAI-compatible API"}.`}</p>
        </div>
      </div>
    );
  }
  const missing = result.missing_models;
  return (
    <div
      role="status"
      className={
        missing.length > 0
          ? "flex items-start gap-2 rounded-lg border border-warning-soft-foreground/25 bg-warning-soft px-3 py-2 text-sm text-warning-soft-foreground"
          : "flex items-start gap-2 rounded-lg border border-success/30 bg-success-soft px-3 py-2 text-sm text-success-soft-foreground"
      }
      data-test-result={missing.length > 0 ? "missing" : "ok"}
    >
      {missing.length > 0 ? <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden /> : <CheckCircle2 className="mt-0.5 size-4 shrink-0" aria-hidden />}
      <div className="grid gap-0.5">
        <p className="font-medium">Connected in {formatNumber(result.latency_ms)} ms</p>
        <p className="opacity-90">
          {missing.length > 0
            ? `The endpoint doesn't list ${missing.join(", ")}. Check the names, or calls to ${missing.length === 1 ? "it" : "them"} will fail.`
            : `Every configured model is available (${formatNumber(result.available_models.length)} listed in all).`}
        </p>
        <OtherModels provider={provider} available={result.available_models} />
      </div>
    </div>
  );
}

function ProviderRow({
  provider,
  index,
  count,
  moving,
  onMove,
  onEdit,
  onDelete,
}: {
  provider: ProviderView;
  index: number;
  count: number;
  /** An order is being saved: the next move waits for it, or the two would interleave. */
  moving: boolean;
  onMove: (delta: number) => void;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const ws = useWorkspace();
  const test = useTestProvider(ws.id);
  const update = useUpdateProvider(ws.id);
  const circuit = CIRCUIT[provider.circuit] ?? CIRCUIT.closed;
  const nameId = `provider-${provider.id}`;
  return (
    <li className="grid gap-3 p-4 sm:p-5" data-provider={provider.name} aria-labelledby={nameId}>
      <div className="flex flex-wrap items-start gap-3">
        <span className="mt-0.5 flex size-7 shrink-0 items-center justify-center rounded-full bg-muted text-xs font-semibold tabular-nums text-muted-foreground" title="Order in which providers are tried">
          {index + 1}
        </span>
        <div className="grid min-w-0 flex-1 gap-1">
          <p className="flex flex-wrap items-center gap-2">
            <span id={nameId} className="font-medium">
              {provider.name}
            </span>
            <Tooltip content={circuit.help}>
              <Badge variant={circuit.variant} tabIndex={0} data-circuit={provider.circuit}>
                {circuit.label}
              </Badge>
            </Tooltip>
            {!provider.enabled && <Badge>Disabled</Badge>}
            <Badge variant="outline" data-api={provider.api}>
              {PROVIDER_APIS[provider.api].label}
            </Badge>
            <Badge variant="outline">
              <KeyRound aria-hidden /> {provider.has_api_key ? "Key stored" : "No key"}
            </Badge>
          </p>
          <p className="truncate font-mono text-xs text-muted-foreground">{provider.base_url}</p>
          <ul className="flex flex-wrap gap-1 pt-1" aria-label={`Models of ${provider.name}`}>
            {provider.models.map((m) => (
              <li key={m}>
                <Badge variant="primary" className="font-mono">
                  {m}
                </Badge>
              </li>
            ))}
          </ul>
        </div>
        <div className="flex items-center gap-1">
          <Switch
            aria-label={`${provider.name} enabled`}
            checked={provider.enabled}
            disabled={update.isPending}
            onCheckedChange={async (enabled) => {
              try {
                await update.mutateAsync({ id: provider.id, enabled });
                toast({ title: `${provider.name} ${enabled ? "enabled" : "disabled"}` });
              } catch (err) {
                toastError(err);
              }
            }}
            className="mr-2"
          />
          <Button variant="ghost" size="icon-sm" aria-label={`Move ${provider.name} up`} disabled={moving || index === 0} onClick={() => onMove(-1)}>
            <ArrowUp aria-hidden />
          </Button>
          <Button variant="ghost" size="icon-sm" aria-label={`Move ${provider.name} down`} disabled={moving || index === count - 1} onClick={() => onMove(1)}>
            <ArrowDown aria-hidden />
          </Button>
          <Button
            variant="outline"
            size="sm"
            loading={test.isPending}
            onClick={() => test.mutate(provider.id, { onError: (err) => toastError(err, "Couldn't test the provider") })}
          >
            Test
          </Button>
          <DropdownMenu>
            <DropdownMenuTrigger asChild>
              <Button variant="ghost" size="icon-sm" aria-label={`Actions for ${provider.name}`}>
                <MoreHorizontal aria-hidden />
              </Button>
            </DropdownMenuTrigger>
            <DropdownMenuContent align="end">
              <DropdownMenuItem onSelect={onEdit}>
                <Pencil aria-hidden /> Edit
              </DropdownMenuItem>
              <DropdownMenuSeparator />
              <DropdownMenuItem destructive onSelect={onDelete}>
                <Trash2 aria-hidden /> Remove
              </DropdownMenuItem>
            </DropdownMenuContent>
          </DropdownMenu>
        </div>
      </div>
      {test.data && <TestResult result={test.data} provider={provider} />}
    </li>
  );
}

export function ProvidersCard() {
  const ws = useWorkspace();
  const providers = useProviders(ws.id);
  const reorder = useReorderProviders(ws.id);
  const del = useDeleteProvider(ws.id);
  const [editing, setEditing] = useState<ProviderView | null | undefined>(undefined);
  const [deleting, setDeleting] = useState<ProviderView | null>(null);
  const list = providers.data ?? [];

  const addButton = (
    <Button onClick={() => setEditing(null)}>
      <Plus aria-hidden /> Add provider
    </Button>
  );

  return (
    <Card>
      <div className="flex flex-col gap-3 p-5 sm:flex-row sm:items-start sm:justify-between sm:p-6">
        <div className="grid gap-1">
          <CardTitle>AI providers</CardTitle>
          <CardDescription>
            OpenAI-compatible or Anthropic endpoints, tried from the top: when one fails or its circuit is open, the next one
            that serves the model answers. Keys are stored encrypted and never shown.
          </CardDescription>
        </div>
        {list.length > 0 && addButton}
      </div>
      {providers.isError ? (
        <div className="p-5 pt-0">
          <ErrorState error={providers.error} onRetry={() => providers.refetch()} />
        </div>
      ) : providers.isPending ? (
        <div className="grid gap-3 border-t p-5">
          <Skeleton className="h-5 w-40" />
          <Skeleton className="h-4 w-2/3" />
        </div>
      ) : list.length === 0 ? (
        <div className="p-5 pt-0 sm:p-6 sm:pt-0">
          <EmptyState
            icon={Bot}
            title="No AI providers yet"
            description="Add one to switch on AI features: its base URL, a key if it needs one, and the models to use."
            action={addButton}
          />
        </div>
      ) : (
        <ol className="divide-y border-t" aria-label="AI providers">
          {list.map((prov, i) => (
            <ProviderRow
              key={prov.id}
              provider={prov}
              index={i}
              count={list.length}
              moving={reorder.isPending}
              onMove={(delta) =>
                reorder.mutate(moved(list, i, delta), {
                  onSuccess: () => toast({ title: "Order saved", description: `${prov.name} is now tried ${i + delta === 0 ? "first" : `#${i + delta + 1}`}.` }),
                  onError: (err) => toastError(err, "Couldn't change the order"),
                })
              }
              onEdit={() => setEditing(prov)}
              onDelete={() => setDeleting(prov)}
            />
          ))}
        </ol>
      )}
      <ProviderDialog open={editing !== undefined} onOpenChange={(o) => !o && setEditing(undefined)} provider={editing} />
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Remove ${deleting?.name ?? ""}?`}
        description="Its stored key is deleted. Conversations using only its models stop getting answers until another provider serves them."
        confirmLabel="Remove provider"
        destructive
        onConfirm={async () => {
          if (!deleting) return;
          try {
            await del.mutateAsync(deleting.id);
            toast({ title: "Provider removed" });
          } catch (err) {
            toastError(err, "Couldn't remove the provider");
            throw err;
          }
        }}
      />
    </Card>
  );
}
