import { ErrorState } from "@/components/ErrorState";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Progress } from "@/components/ui/progress";
import { Skeleton } from "@/components/ui/skeleton";
import { formatNumber } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { usePlan } from "./api";

const PLAN_NAMES = { free: "Free", pro: "Pro", enterprise: "Enterprise" } as const;

export function PlanSection() {
  const ws = useWorkspace();
  const plan = usePlan(ws.id);

  if (plan.isError) return <ErrorState error={plan.error} onRetry={() => plan.refetch()} />;
  if (plan.isPending) {
    return (
      <div className="grid gap-4 sm:grid-cols-3">
        {Array.from({ length: 3 }, (_, i) => (
          <Card key={i} className="grid gap-3 p-6">
            <Skeleton className="h-4 w-24" />
            <Skeleton className="h-7 w-16" />
            <Skeleton className="h-2 w-full" />
          </Card>
        ))}
      </div>
    );
  }
  const { limits, seats_used } = plan.data;
  const seatsLeft = Math.max(0, limits.seats - seats_used);
  return (
    <div className="grid gap-6">
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            Plan <Badge variant="primary">{PLAN_NAMES[plan.data.plan]}</Badge>
          </CardTitle>
          <CardDescription>
            Plans are set by the operator of this Nexus installation. Ask them to change yours.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4 sm:grid-cols-3">
          <Stat label="Seats used" value={`${formatNumber(seats_used)} of ${formatNumber(limits.seats)}`}>
            <Progress value={seats_used} max={limits.seats} label="Seats used" />
            <p className="text-xs text-muted-foreground">
              Members plus pending invitations. {seatsLeft === 0 ? "No seats left." : `${formatNumber(seatsLeft)} left.`}
            </p>
          </Stat>
          <Stat label="AI tokens per month" value={formatNumber(limits.monthly_ai_tokens)}>
            <p className="text-xs text-muted-foreground">Shared by every AI feature in the workspace.</p>
          </Stat>
          <Stat label="API rate limit" value={`${formatNumber(limits.api_requests_per_minute)} / min`}>
            <p className="text-xs text-muted-foreground">Per API key or person; over it, requests get 429.</p>
          </Stat>
        </CardContent>
      </Card>
    </div>
  );
}

function Stat({ label, value, children }: { label: string; value: string; children?: React.ReactNode }) {
  return (
    <div className="grid content-start gap-2 rounded-lg border bg-muted/30 p-4">
      <p className="text-sm text-muted-foreground">{label}</p>
      <p className="text-2xl font-semibold tracking-tight tabular-nums">{value}</p>
      {children}
    </div>
  );
}
