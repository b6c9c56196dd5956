import { ThumbsDown, ThumbsUp } from "lucide-react";
import { Link } from "wouter";
import type { FeedbackReport } from "@/api/client";
import { ErrorState } from "@/components/ErrorState";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { formatDateTime, formatNumber } from "@/lib/format";
import { matchHref } from "@/pages/assistant/jump";

/** The share of ratings that were good, as a whole percentage. */
export function goodShare(up: number, down: number): string {
  return up + down === 0 ? "–" : `${Math.round((up / (up + down)) * 100)}%`;
}

/**
 * How members rated the answers of each model in the period, and what they wrote: what an
 * admin weighs when choosing the workspace's models. `report` is undefined while it loads;
 * if it fails, the card says so and offers to try again, and the rest of the page stays.
 */
export function FeedbackCard({
  workspaceId,
  report,
  period,
  error,
  onRetry,
}: {
  workspaceId: string;
  report: FeedbackReport | undefined;
  period: string;
  error: unknown;
  onRetry: () => unknown;
}) {
  const models = [...(report?.models ?? [])].sort((a, b) => b.up + b.down - (a.up + a.down));
  return (
    <Card role="region" aria-labelledby="answer-feedback">
      <CardHeader>
        <CardTitle id="answer-feedback">Answer feedback</CardTitle>
        <CardDescription>{period}: how members rated the assistant's answers, by the model that wrote them.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        {error ? (
          <ErrorState error={error} onRetry={onRetry} />
        ) : !report ? (
          <Skeleton className="h-24" />
        ) : models.length === 0 ? (
          <p className="text-sm text-muted-foreground">No answers were rated in this period. Members rate an answer with the thumbs under it.</p>
        ) : (
          <>
            <Table aria-label="Feedback by model">
              <THead>
                <TR className="hover:bg-transparent">
                  <TH>Model</TH>
                  <TH className="text-right">Good</TH>
                  <TH className="text-right">Bad</TH>
                  <TH className="text-right">Rated good</TH>
                </TR>
              </THead>
              <TBody>
                {models.map((m) => (
                  <TR key={m.model ?? ""}>
                    <TD className="font-mono text-xs whitespace-nowrap">{m.model ?? "Unknown"}</TD>
                    <TD className="text-right tabular-nums">{formatNumber(m.up)}</TD>
                    <TD className="text-right tabular-nums">{formatNumber(m.down)}</TD>
                    <TD className="text-right font-medium tabular-nums">{goodShare(m.up, m.down)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
            {report.comments.length > 0 && (
              <section className="grid gap-3" aria-labelledby="feedback-comments">
                <h3 id="feedback-comments" className="text-sm font-semibold">
                  Comments
                </h3>
                <ul className="grid gap-2">
                  {report.comments.map((c) => (
                    <li key={`${c.message_id}:${c.rated_by}`} className="flex gap-3 rounded-lg border px-3 py-2.5" data-feedback-comment>
                      {c.rating === "up" ? (
                        <ThumbsUp className="mt-0.5 size-4 shrink-0 text-success" aria-label="Good" role="img" />
                      ) : (
                        <ThumbsDown className="mt-0.5 size-4 shrink-0 text-destructive" aria-label="Bad" role="img" />
                      )}
                      <div className="grid min-w-0 gap-1">
                        <p className="text-sm whitespace-pre-wrap" style={{ overflowWrap: "anywhere" }}>
                          {c.comment}
                        </p>
                        <p className="flex flex-wrap gap-x-2 text-xs text-muted-foreground">
                          <span className="font-mono">{c.model ?? "Unknown model"}</span>
                          <span>{c.rated_by_label}</span>
                          <span>{formatDateTime(c.updated_at)}</span>
                          {c.conversation_id && (
                            <Link className="text-primary underline-offset-4 hover:underline" href={matchHref(`/w/${workspaceId}/assistant/${c.conversation_id}`, c.message_id, "")}>
                              Open the answer
                            </Link>
                          )}
                        </p>
                      </div>
                    </li>
                  ))}
                </ul>
              </section>
            )}
          </>
        )}
      </CardContent>
    </Card>
  );
}
