import { ChartColumn } from "lucide-react";
import { useMemo, useState } from "react";
import type { UsageRow } from "@/api/client";
import { AccessDenied } from "@/components/AccessDenied";
import { BarChart, type BarSeries } from "@/components/BarChart";
import { ErrorState } from "@/components/ErrorState";
import { PageHeader } from "@/components/PageHeader";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { Progress } from "@/components/ui/progress";
import { Select } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { formatDateTime, formatNumber } from "@/lib/format";
import { useFeedbackReport, useUsage } from "@/pages/ai/api";
import { useWorkspace } from "@/pages/workspaces/context";
import { FeedbackCard } from "./FeedbackCard";
import { daysIn, formatDay, RANGE_LABELS, type RangeChoice, rangeFor } from "./range";

const SERIES: BarSeries[] = [
  { name: "Prompt", className: "fill-primary/35", swatch: "bg-primary/35" },
  { name: "Completion", className: "fill-primary", swatch: "bg-primary" },
];

const split = (r: UsageRow) => [r.prompt_tokens, r.completion_tokens];

export function UsagePage() {
  const ws = useWorkspace();
  const allowed = ws.can("read_ai_usage");
  const [choice, setChoice] = useState<RangeChoice>("month");
  const range = useMemo(() => rangeFor(choice), [choice]);
  const byDay = useUsage(ws.id, range, "day", allowed);
  const byMember = useUsage(ws.id, range, "member", allowed);
  const byModel = useUsage(ws.id, range, "model", allowed);
  const feedback = useFeedbackReport(ws.id, range, allowed);

  const header = (
    <PageHeader
      title="AI usage"
      description={`Tokens used by every AI feature in ${ws.name}, by day, by member and by model, and how members rated the answers.`}
      actions={
        allowed && (
          <Select
            aria-label="Period"
            value={choice}
            onValueChange={setChoice}
            options={(Object.keys(RANGE_LABELS) as RangeChoice[]).map((k) => ({ value: k, label: RANGE_LABELS[k] }))}
            className="w-40"
          />
        )
      }
    />
  );
  if (!allowed) {
    return (
      <>
        {header}
        <AccessDenied what="AI usage" workspaceName={ws.name} />
      </>
    );
  }
  const failed = byDay.error ?? byMember.error ?? byModel.error;
  if (failed) {
    return (
      <>
        {header}
        <ErrorState error={failed} onRetry={() => Promise.all([byDay.refetch(), byMember.refetch(), byModel.refetch()])} />
      </>
    );
  }

  // While another period loads, its figures show as loading, never the last period's under
  // the new one's name. The quota is the same whatever the period: it stays.
  const fresh = <T,>(q: { data: T | undefined; isPlaceholderData: boolean }) => (q.isPlaceholderData ? undefined : q.data);
  const report = fresh(byDay);
  const memberReport = fresh(byMember);
  const modelReport = fresh(byModel);
  const feedbackReport = fresh(feedback);
  const days = report
    ? daysIn(range.from, range.to).map((key) => {
        const row = report.items.find((r) => r.key === key);
        return { key, label: formatDay(key), values: row ? split(row) : [0, 0] };
      })
    : [];
  const members = [...(memberReport?.items ?? [])]
    .sort((a, b) => b.total_tokens - a.total_tokens)
    .map((r) => ({ key: r.key, label: r.label || "Unknown", values: split(r) }));
  const models = [...(modelReport?.items ?? [])].sort((a, b) => b.total_tokens - a.total_tokens);
  const totals = report?.totals;
  const nothing = report && report.items.length === 0;

  return (
    <>
      {header}
      <div className="grid gap-6">
        <QuotaCard report={byDay.data} />
        {nothing ? (
          <EmptyState
            icon={ChartColumn}
            title={`No AI use in ${RANGE_LABELS[choice].toLowerCase()}`}
            description="Chats with the assistant and other AI features show up here as they use tokens."
          />
        ) : (
          <>
            <div className="grid gap-4 sm:grid-cols-3">
              <Stat
                label="Tokens"
                value={totals ? formatNumber(totals.total_tokens) : null}
                note={totals && totals.cached_prompt_tokens > 0 ? `${formatNumber(totals.cached_prompt_tokens)} prompt tokens read from providers' prompt caches` : undefined}
              />
              <Stat label="Requests" value={totals ? formatNumber(totals.requests) : null} />
              <Stat
                label="Answered from cache"
                value={totals ? `${formatNumber(totals.cached_requests)}${totals.requests ? ` (${Math.round((totals.cached_requests / totals.requests) * 100)}%)` : ""}` : null}
                note="Identical requests at temperature 0, answered without calling a provider"
              />
            </div>
            <Card>
              <CardHeader>
                <CardTitle>Tokens per day</CardTitle>
                <CardDescription>{RANGE_LABELS[choice]}, in UTC days.</CardDescription>
              </CardHeader>
              <CardContent>
                {report ? <BarChart title="Tokens per day" data={days} series={SERIES} /> : <Skeleton className="h-[220px]" />}
              </CardContent>
            </Card>
            <div className="grid gap-6 lg:grid-cols-2">
              <Card>
                <CardHeader>
                  <CardTitle>Tokens per member</CardTitle>
                  <CardDescription>People, and API keys used by programs.</CardDescription>
                </CardHeader>
                <CardContent>
                  {memberReport ? (
                    members.length > 0 ? (
                      <BarChart title="Tokens per member" data={members} series={SERIES} orientation="horizontal" />
                    ) : (
                      <p className="text-sm text-muted-foreground">No one has used AI in this period.</p>
                    )
                  ) : (
                    <Skeleton className="h-24" />
                  )}
                </CardContent>
              </Card>
              <div className="grid content-start gap-3">
                <h2 className="text-base font-semibold tracking-tight">By model</h2>
                <Table aria-label="Usage by model">
                  <THead>
                    <TR className="hover:bg-transparent">
                      <TH>Model</TH>
                      <TH className="text-right">Requests</TH>
                      <TH className="hidden text-right sm:table-cell">Prompt</TH>
                      <TH className="hidden text-right sm:table-cell">Completion</TH>
                      <TH className="text-right">Total</TH>
                    </TR>
                  </THead>
                  <TBody>
                    {!modelReport ? (
                      <TableSkeletonRows columns={5} rows={2} />
                    ) : (
                      models.map((m) => (
                        <TR key={m.key}>
                          <TD className="font-mono text-xs whitespace-nowrap">{m.label || m.key}</TD>
                          <TD className="text-right tabular-nums">
                            {formatNumber(m.requests)}
                            {m.cached_requests > 0 && <span className="block text-xs text-muted-foreground">{formatNumber(m.cached_requests)} cached</span>}
                          </TD>
                          <TD className="hidden text-right tabular-nums sm:table-cell">
                            {formatNumber(m.prompt_tokens)}
                            {m.cached_prompt_tokens > 0 && (
                              <span className="block text-xs text-muted-foreground" title="Read from the provider's prompt cache, billed at a fraction of the input price">
                                {formatNumber(m.cached_prompt_tokens)} from prompt cache
                              </span>
                            )}
                          </TD>
                          <TD className="hidden text-right tabular-nums sm:table-cell">{formatNumber(m.completion_tokens)}</TD>
                          <TD className="text-right font-medium tabular-nums">{formatNumber(m.total_tokens)}</TD>
                        </TR>
                      ))
                    )}
                  </TBody>
                </Table>
              </div>
            </div>
          </>
        )}
        <FeedbackCard workspaceId={ws.id} report={feedbackReport} period={RANGE_LABELS[choice]} error={feedback.error} onRetry={() => feedback.refetch()} />
      </div>
    </>
  );
}

/** A headline number; `note` says what it holds, under it. */
function Stat({ label, value, note }: { label: string; value: string | null; note?: string }) {
  return (
    <Card className="grid content-start gap-1 p-5">
      <p className="text-sm text-muted-foreground">{label}</p>
      {value === null ? <Skeleton className="h-7 w-20" /> : <p className="text-2xl font-semibold tracking-tight tabular-nums">{value}</p>}
      {note && <p className="text-xs text-muted-foreground">{note}</p>}
    </Card>
  );
}

function QuotaCard({ report }: { report: { quota: { used_tokens: number; limit_tokens: number; resets_at: string; period: string } } | undefined }) {
  const q = report?.quota;
  const pct = q && q.limit_tokens > 0 ? Math.min(100, Math.round((q.used_tokens / q.limit_tokens) * 100)) : 0;
  return (
    <Card>
      <CardHeader>
        <CardTitle>This month's quota</CardTitle>
        <CardDescription>The plan's monthly AI tokens, shared by the whole workspace.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {!q ? (
          <>
            <Skeleton className="h-6 w-48" />
            <Skeleton className="h-2 w-full" />
          </>
        ) : (
          <>
            <p className="flex flex-wrap items-baseline gap-x-2">
              <span className="text-2xl font-semibold tracking-tight tabular-nums" data-quota-used>
                {formatNumber(q.used_tokens)}
              </span>
              <span className="text-sm text-muted-foreground">of {formatNumber(q.limit_tokens)} tokens used ({pct}%)</span>
            </p>
            <Progress value={q.used_tokens} max={q.limit_tokens} label="Monthly AI tokens used" />
            <p className="text-xs text-muted-foreground">
              {pct >= 100 ? "Used up: AI features answer again when it resets" : "Resets"} {formatDateTime(q.resets_at)}.
            </p>
          </>
        )}
      </CardContent>
    </Card>
  );
}
