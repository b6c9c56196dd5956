import { Download, FileSearch, ScrollText, ShieldCheck } from "lucide-react";
import { useState } from "react";
import { useLocation, useSearch } from "wouter";
import type { AuditEvent, ChainReport } from "@/api/client";
import { AccessDenied } from "@/components/AccessDenied";
import { ErrorState } from "@/components/ErrorState";
import { LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { EmptyState } from "@/components/ui/empty-state";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { toast, toastError } from "@/components/ui/toast";
import { formatDateTime } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { useAuditActors, useAuditEvents, useVerifyChain } from "./api";
import { AuditFiltersBar } from "./AuditFiltersBar";
import { actionLabel, summaryText } from "./describe";
import {
  type AuditFilters,
  EMPTY_FILTERS,
  exportHref,
  filtersFromSearch,
  filtersToSearch,
  hasFilters,
  validateFilters,
} from "./filters";

export function AuditPage() {
  const ws = useWorkspace();
  const allowed = ws.can("read_audit_log");
  const [location, navigate] = useLocation();
  const filters = filtersFromSearch(useSearch());
  const valid = Object.keys(validateFilters(filters)).length === 0;
  const events = useAuditEvents(ws.id, filters, allowed && valid);
  const actors = useAuditActors(ws.id, allowed);
  const verify = useVerifyChain(ws.id);
  const [report, setReport] = useState<ChainReport | null>(null);
  const [open, setOpen] = useState<AuditEvent | null>(null);

  if (!allowed) {
    return (
      <>
        <PageHeader title="Audit log" />
        <AccessDenied what="the audit log" workspaceName={ws.name} />
      </>
    );
  }

  const setFilters = (next: AuditFilters) => {
    const qs = filtersToSearch(next);
    navigate(qs ? `${location}?${qs}` : location, { replace: true });
  };

  const onVerify = async () => {
    try {
      const r = await verify.mutateAsync();
      setReport(r);
      toast(
        r.ok
          ? { title: "Audit chain verified", description: `${r.events_checked} events checked; none altered.` }
          : { variant: "error", title: "Audit chain broken", description: `First mismatch at event #${r.first_broken_seq}.` },
      );
    } catch (err) {
      toastError(err, "Couldn't verify the chain");
    }
  };

  return (
    <>
      <PageHeader
        title="Audit log"
        description={`Every change in ${ws.name}, who made it and when. Events are hash-chained, so tampering shows.`}
        actions={
          <>
            <Button variant="outline" onClick={onVerify} loading={verify.isPending}>
              <ShieldCheck aria-hidden /> Verify chain
            </Button>
            <DropdownMenu>
              <DropdownMenuTrigger asChild>
                <Button variant="outline">
                  <Download aria-hidden /> Export
                </Button>
              </DropdownMenuTrigger>
              <DropdownMenuContent align="end">
                <DropdownMenuItem asChild>
                  <a href={exportHref(ws.id, "csv", filters)} download>
                    CSV (spreadsheets)
                  </a>
                </DropdownMenuItem>
                <DropdownMenuItem asChild>
                  <a href={exportHref(ws.id, "jsonl", filters)} download>
                    JSON Lines (tools)
                  </a>
                </DropdownMenuItem>
              </DropdownMenuContent>
            </DropdownMenu>
          </>
        }
      />

      {report && (
        <Alert
          className="mb-4"
          variant={report.ok ? "info" : "destructive"}
          title={report.ok ? "The chain is intact" : "The chain is broken"}
        >
          {report.ok
            ? `${report.events_checked} events checked: every hash and link matches.`
            : `Event #${report.first_broken_seq} does not match its hash or link. Events from there on may have been altered; contact your Nexus operator.`}
        </Alert>
      )}

      <AuditFiltersBar filters={filters} onChange={setFilters} actors={actors.data ?? []} />

      {!valid ? null : events.isError ? (
        <ErrorState error={events.error} onRetry={() => events.refetch()} />
      ) : !events.isPending && events.items.length === 0 ? (
        hasFilters(filters) ? (
          <EmptyState
            icon={FileSearch}
            title="No events match these filters"
            description="Widen the time range or choose another actor or action."
            action={
              <Button variant="outline" size="sm" onClick={() => setFilters(EMPTY_FILTERS)}>
                Clear filters
              </Button>
            }
          />
        ) : (
          <EmptyState
            icon={ScrollText}
            title="Nothing recorded yet"
            description="Changes to members, keys, secrets and settings show up here as they happen."
          />
        )
      ) : (
        <Table aria-label="Audit events" aria-busy={events.isFetching || undefined}>
          <THead>
            <TR className="hover:bg-transparent">
              <TH className="w-16">#</TH>
              <TH>When</TH>
              <TH>Actor</TH>
              <TH>Action</TH>
              <TH className="hidden lg:table-cell">Details</TH>
              <TH className="w-16">
                <span className="sr-only">Open</span>
              </TH>
            </TR>
          </THead>
          <TBody>
            {events.isPending ? (
              <TableSkeletonRows columns={6} rows={6} />
            ) : (
              events.items.map((e) => (
                <TR key={e.id} data-action={e.action}>
                  <TD className="font-mono text-xs text-muted-foreground tabular-nums">{e.seq}</TD>
                  <TD className="whitespace-nowrap text-muted-foreground">{formatDateTime(e.created_at)}</TD>
                  <TD className="max-w-48">
                    <span className="block truncate" title={e.actor.label}>
                      {e.actor.label}
                    </span>
                    {e.actor.type !== "user" && (
                      <span className="text-xs text-muted-foreground">{e.actor.type === "api_key" ? "API key" : e.actor.type}</span>
                    )}
                  </TD>
                  <TD>
                    <div className="grid gap-1">
                      <span className="font-medium whitespace-nowrap">{actionLabel(e.action)}</span>
                      <code className="font-mono text-xs text-muted-foreground">{e.action}</code>
                    </div>
                  </TD>
                  <TD className="hidden max-w-80 lg:table-cell">
                    <span className="line-clamp-2 text-muted-foreground">{summaryText(e.summary) || "—"}</span>
                  </TD>
                  <TD className="text-right">
                    <Button variant="ghost" size="sm" onClick={() => setOpen(e)} aria-label={`Details of event ${e.seq}`}>
                      View
                    </Button>
                  </TD>
                </TR>
              ))
            )}
          </TBody>
        </Table>
      )}
      <LoadMore
        auto
        hasNextPage={events.hasNextPage}
        isFetchingNextPage={events.isFetchingNextPage}
        fetchNextPage={events.fetchNextPage}
      />
      <EventDialog event={open} onClose={() => setOpen(null)} />
    </>
  );
}

function EventDialog({ event, onClose }: { event: AuditEvent | null; onClose: () => void }) {
  return (
    <Dialog open={event !== null} onOpenChange={(o) => !o && onClose()}>
      <DialogContent className="max-w-2xl">
        {event && (
          <>
            <DialogHeader>
              <DialogTitle className="flex flex-wrap items-center gap-2">
                {actionLabel(event.action)} <Badge variant="outline">#{event.seq}</Badge>
              </DialogTitle>
              <DialogDescription>
                {formatDateTime(event.created_at)} by {event.actor.label}
              </DialogDescription>
            </DialogHeader>
            <dl className="grid grid-cols-[8rem_1fr] gap-x-4 gap-y-2 text-sm">
              <Row label="Action" mono value={event.action} />
              <Row label="Actor" value={`${event.actor.label} (${event.actor.type}${event.actor.id ? ` ${event.actor.id}` : ""})`} />
              <Row label="Target" value={`${event.target.type}${event.target.id ? ` ${event.target.id}` : ""}`} />
              <Row label="IP address" value={event.ip ?? "—"} />
              <Row label="User agent" value={event.user_agent ?? "—"} />
              <Row label="Request id" mono value={event.request_id} />
              <Row label="Hash" mono value={event.hash} />
              <Row label="Previous hash" mono value={event.prev_hash} />
            </dl>
            <div className="grid gap-1.5">
              <p className="text-sm font-medium">What changed</p>
              <pre className="max-h-64 overflow-auto rounded-lg bg-muted p-3 font-mono text-xs">
                {JSON.stringify(event.summary ?? {}, null, 2)}
              </pre>
            </div>
          </>
        )}
      </DialogContent>
    </Dialog>
  );
}

function Row({ label, value, mono }: { label: string; value: string; mono?: boolean }) {
  return (
    <>
      <dt className="text-muted-foreground">{label}</dt>
      <dd className={mono ? "font-mono text-xs break-all" : "break-words"}>{value}</dd>
    </>
  );
}
