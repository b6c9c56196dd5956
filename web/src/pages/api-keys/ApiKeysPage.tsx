import { KeyRound, Plus, Trash2 } from "lucide-react";
import { useState } from "react";
import type { ApiKeyView } from "@/api/client";
import { AccessDenied } from "@/components/AccessDenied";
import { ErrorState } from "@/components/ErrorState";
import { LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { RoleBadge } from "@/components/RoleBadge";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { toast, toastError } from "@/components/ui/toast";
import { cn } from "@/lib/cn";
import { formatDate, formatRelative } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { keyStatus, useApiKeys, useRevokeApiKey } from "./api";
import { CreateKeyDialog } from "./CreateKeyDialog";

export function ApiKeysPage() {
  const ws = useWorkspace();
  const allowed = ws.can("read_api_keys");
  const canManage = ws.can("manage_api_keys");
  const keys = useApiKeys(ws.id, allowed);
  const revoke = useRevokeApiKey(ws.id);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKeyView | null>(null);

  if (!allowed) {
    return (
      <>
        <PageHeader title="API keys" />
        <AccessDenied what="API keys" workspaceName={ws.name} />
      </>
    );
  }

  const createButton = canManage && (
    <Button onClick={() => setCreating(true)}>
      <Plus aria-hidden /> Create API key
    </Button>
  );

  return (
    <>
      <PageHeader
        title="API keys"
        description={
          <>
            Keys let programs use the Nexus API as this workspace. Each key has a role no higher than yours. Send it as{" "}
            <code className="rounded bg-muted px-1 py-0.5 font-mono text-xs">Authorization: Bearer nxk_…</code>
          </>
        }
        documentTitle="API keys"
        actions={createButton}
      />
      {keys.isError ? (
        <ErrorState error={keys.error} onRetry={() => keys.refetch()} />
      ) : !keys.isPending && keys.items.length === 0 ? (
        <EmptyState
          icon={KeyRound}
          title="No API keys yet"
          description="Create a key for each program or integration, so you can revoke one without breaking the others."
          action={createButton}
        />
      ) : (
        <Table aria-label="API keys">
          <THead>
            <TR className="hover:bg-transparent">
              <TH>Name</TH>
              <TH>Role</TH>
              <TH className="hidden md:table-cell">Created</TH>
              <TH className="hidden lg:table-cell">Last used</TH>
              <TH className="hidden sm:table-cell">Expires</TH>
              <TH className="w-12">
                <span className="sr-only">Actions</span>
              </TH>
            </TR>
          </THead>
          <TBody>
            {keys.isPending ? (
              <TableSkeletonRows columns={6} rows={3} />
            ) : (
              keys.items.map((k) => {
                const status = keyStatus(k);
                return (
                  <TR key={k.id} className={cn(status !== "active" && "text-muted-foreground")}>
                    <TD>
                      <div className="grid min-w-0 gap-0.5">
                        <span className="flex items-center gap-2 font-medium">
                          <span className="truncate">{k.name}</span>
                          {status === "revoked" && <Badge variant="destructive">Revoked</Badge>}
                          {status === "expired" && <Badge variant="neutral">Expired</Badge>}
                        </span>
                        <span className="font-mono text-xs text-muted-foreground">{k.prefix}…</span>
                      </div>
                    </TD>
                    <TD>
                      <RoleBadge role={k.role} />
                    </TD>
                    <TD className="hidden text-muted-foreground md:table-cell">{formatDate(k.created_at)}</TD>
                    <TD className="hidden text-muted-foreground lg:table-cell">
                      {k.last_used_at ? formatRelative(k.last_used_at) : "Never"}
                    </TD>
                    <TD className="hidden text-muted-foreground sm:table-cell">
                      {k.expires_at ? formatDate(k.expires_at) : "Never"}
                    </TD>
                    <TD className="text-right">
                      {canManage && status === "active" && (
                        <Button
                          variant="ghost"
                          size="icon-sm"
                          aria-label={`Revoke ${k.name}`}
                          onClick={() => setRevoking(k)}
                        >
                          <Trash2 aria-hidden />
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
      <LoadMore hasNextPage={keys.hasNextPage} isFetchingNextPage={keys.isFetchingNextPage} fetchNextPage={keys.fetchNextPage} />
      {canManage && <CreateKeyDialog open={creating} onOpenChange={setCreating} />}
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke “${revoking?.name ?? ""}”?`}
        description="Programs using this key get 401 from now on. This can't be undone."
        confirmLabel="Revoke key"
        destructive
        onConfirm={async () => {
          if (!revoking) return;
          try {
            await revoke.mutateAsync(revoking.id);
            toast({ title: "API key revoked", description: `${revoking.name} no longer works.` });
          } catch (err) {
            toastError(err, "Couldn't revoke the key");
            throw err;
          }
        }}
      />
    </>
  );
}
