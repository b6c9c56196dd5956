import { Building2, PauseCircle, PlayCircle, Search } from "lucide-react";
import { useMemo, useState } from "react";
import type { AdminWorkspace, Plan } from "@/api/client";
import { useSession } from "@/api/session";
import { ErrorState } from "@/components/ErrorState";
import { LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { toast, toastError } from "@/components/ui/toast";
import { formatDate } from "@/lib/format";
import { type WorkspaceState, useAllWorkspaces, useUpdateWorkspaceAsAdmin, workspaceState } from "./api";

const PLAN_OPTIONS: Array<{ value: Plan; label: string }> = [
  { value: "free", label: "Free" },
  { value: "pro", label: "Pro" },
  { value: "enterprise", label: "Enterprise" },
];

const stateBadge: Record<WorkspaceState, { label: string; variant: BadgeVariant }> = {
  active: { label: "Active", variant: "success" },
  suspended: { label: "Suspended", variant: "warning" },
  deleted: { label: "Deleted", variant: "neutral" },
};

/** The operator console: every workspace of the installation, its plan and whether it's suspended. */
export function AdminPage() {
  const { user } = useSession();
  const workspaces = useAllWorkspaces(user.is_system_admin);
  const update = useUpdateWorkspaceAsAdmin();
  const [query, setQuery] = useState("");
  const [suspending, setSuspending] = useState<AdminWorkspace | null>(null);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? workspaces.items.filter((w) => w.name.toLowerCase().includes(q) || w.slug.includes(q)) : workspaces.items;
  }, [workspaces.items, query]);

  if (!user.is_system_admin) {
    return (
      <>
        <PageHeader title="Operator console" />
        <EmptyState
          icon={Building2}
          title="Operators only"
          description="This page is for the people who run this Nexus installation. Operators are set with NEXUS_ADMIN_EMAILS."
        />
      </>
    );
  }

  const setPlan = async (w: AdminWorkspace, plan: Plan) => {
    if (plan === w.plan) return;
    try {
      await update.mutateAsync({ id: w.id, plan });
      toast({ title: "Plan changed", description: `${w.name} is now on ${PLAN_OPTIONS.find((o) => o.value === plan)?.label ?? plan}.` });
    } catch (err) {
      toastError(err, "Couldn't change the plan");
    }
  };

  const restore = async (w: AdminWorkspace) => {
    try {
      await update.mutateAsync({ id: w.id, suspended: false });
      toast({ title: "Workspace restored", description: `${w.name}'s members and keys work again.` });
    } catch (err) {
      toastError(err, "Couldn't restore the workspace");
    }
  };

  return (
    <>
      <PageHeader
        title="Operator console"
        description="Every workspace on this installation. Operators manage plans and suspensions; they can't read workspace content."
      />
      <div className="mb-4 max-w-sm">
        <div className="relative">
          <Search className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-muted-foreground" aria-hidden />
          <Input
            type="search"
            aria-label="Filter workspaces by name"
            placeholder="Filter loaded workspaces"
            className="pl-9"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
      </div>
      {workspaces.isError ? (
        <ErrorState error={workspaces.error} onRetry={() => workspaces.refetch()} />
      ) : !workspaces.isPending && shown.length === 0 ? (
        <EmptyState
          icon={Building2}
          title={query ? "No workspace matches" : "No workspaces yet"}
          description={query ? "Try another name, or load more workspaces." : "Workspaces appear here as people create them."}
        />
      ) : (
        <Table aria-label="All workspaces">
          <THead>
            <TR className="hover:bg-transparent">
              <TH>Workspace</TH>
              <TH>Status</TH>
              <TH>Plan</TH>
              <TH className="hidden md:table-cell">Created</TH>
              <TH className="text-right">
                <span className="sr-only">Actions</span>
              </TH>
            </TR>
          </THead>
          <TBody>
            {workspaces.isPending ? (
              <TableSkeletonRows columns={5} rows={4} />
            ) : (
              shown.map((w) => {
                const state = workspaceState(w);
                return (
                  <TR key={w.id}>
                    <TD>
                      <div className="grid min-w-0">
                        <span className="truncate font-medium">{w.name}</span>
                        <span className="truncate font-mono text-xs text-muted-foreground">{w.slug}</span>
                      </div>
                    </TD>
                    <TD>
                      <Badge variant={stateBadge[state].variant}>{stateBadge[state].label}</Badge>
                    </TD>
                    <TD>
                      <Select
                        size="sm"
                        className="w-32"
                        aria-label={`Plan of ${w.name}`}
                        value={w.plan}
                        disabled={state === "deleted" || update.isPending}
                        onValueChange={(p) => void setPlan(w, p)}
                        options={PLAN_OPTIONS}
                      />
                    </TD>
                    <TD className="hidden text-muted-foreground md:table-cell">{formatDate(w.created_at)}</TD>
                    <TD className="text-right">
                      {state === "active" && (
                        <Button variant="ghost" size="sm" onClick={() => setSuspending(w)}>
                          <PauseCircle aria-hidden /> Suspend
                        </Button>
                      )}
                      {state === "suspended" && (
                        <Button variant="ghost" size="sm" onClick={() => void restore(w)}>
                          <PlayCircle aria-hidden /> Restore
                        </Button>
                      )}
                    </TD>
                  </TR>
                );
              })
            )}
          </TBody>
        </Table>
      )}
      <LoadMore
        hasNextPage={workspaces.hasNextPage}
        isFetchingNextPage={workspaces.isFetchingNextPage}
        fetchNextPage={workspaces.fetchNextPage}
      />
      <ConfirmDialog
        open={suspending !== null}
        onOpenChange={(o) => !o && setSuspending(null)}
        title={`Suspend ${suspending?.name ?? ""}?`}
        description="Its members and API keys get “workspace suspended” on every request until you restore it. Nothing is deleted."
        confirmLabel="Suspend workspace"
        destructive
        onConfirm={async () => {
          if (!suspending) return;
          try {
            await update.mutateAsync({ id: suspending.id, suspended: true });
            toast({ title: "Workspace suspended", description: `${suspending.name} is suspended.` });
          } catch (err) {
            toastError(err, "Couldn't suspend the workspace");
            throw err;
          }
        }}
      />
    </>
  );
}
