import { LockKeyhole, MoreHorizontal, Pencil, Plus, Trash2 } from "lucide-react";
import { useState } from "react";
import type { SecretView } from "@/api/client";
import { AccessDenied } from "@/components/AccessDenied";
import { ErrorState } from "@/components/ErrorState";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { EmptyState } from "@/components/ui/empty-state";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { toast, toastError } from "@/components/ui/toast";
import { formatRelative } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { useDeleteSecret, useSecrets } from "./api";
import { SecretDialog } from "./SecretDialog";

export function SecretsSection() {
  const ws = useWorkspace();
  const allowed = ws.can("read_secrets");
  const canManage = ws.can("manage_secrets");
  const secrets = useSecrets(ws.id, allowed);
  const del = useDeleteSecret(ws.id);
  const [editing, setEditing] = useState<{ name?: string } | null>(null);
  const [deleting, setDeleting] = useState<SecretView | null>(null);

  if (!allowed) return <AccessDenied what="secrets" workspaceName={ws.name} />;
  if (secrets.isError) return <ErrorState error={secrets.error} onRetry={() => secrets.refetch()} />;

  const addButton = canManage && (
    <Button onClick={() => setEditing({})}>
      <Plus aria-hidden /> Add secret
    </Button>
  );
  const items = secrets.data?.items ?? [];

  return (
    <div className="grid gap-3">
      <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
        <p className="text-sm text-muted-foreground">
          Provider keys and connector credentials. Values are write-only: you can replace or delete a secret, never read it.
        </p>
        {items.length > 0 && addButton}
      </div>
      {!secrets.isPending && items.length === 0 ? (
        <EmptyState
          icon={LockKeyhole}
          title="No secrets yet"
          description="Add the API keys your modules need, such as an AI provider key. They're encrypted with this workspace's own key."
          action={addButton}
        />
      ) : (
        <Table aria-label="Secrets">
          <THead>
            <TR className="hover:bg-transparent">
              <TH>Name</TH>
              <TH>Value</TH>
              <TH className="hidden sm:table-cell">Updated</TH>
              <TH className="w-12">
                <span className="sr-only">Actions</span>
              </TH>
            </TR>
          </THead>
          <TBody>
            {secrets.isPending ? (
              <TableSkeletonRows columns={4} rows={2} />
            ) : (
              items.map((s) => (
                <TR key={s.name}>
                  <TD className="font-mono text-xs font-medium">{s.name}</TD>
                  <TD aria-label="Hidden value" className="font-mono text-xs tracking-widest text-muted-foreground">
                    ••••••••
                  </TD>
                  <TD className="hidden text-muted-foreground sm:table-cell">{formatRelative(s.updated_at)}</TD>
                  <TD className="text-right">
                    {canManage && (
                      <DropdownMenu>
                        <DropdownMenuTrigger asChild>
                          <Button variant="ghost" size="icon-sm" aria-label={`Actions for ${s.name}`}>
                            <MoreHorizontal aria-hidden />
                          </Button>
                        </DropdownMenuTrigger>
                        <DropdownMenuContent align="end">
                          <DropdownMenuItem onSelect={() => setEditing({ name: s.name })}>
                            <Pencil aria-hidden /> Replace value
                          </DropdownMenuItem>
                          <DropdownMenuItem destructive onSelect={() => setDeleting(s)}>
                            <Trash2 aria-hidden /> Delete
                          </DropdownMenuItem>
                        </DropdownMenuContent>
                      </DropdownMenu>
                    )}
                  </TD>
                </TR>
              ))
            )}
          </TBody>
        </Table>
      )}
      {canManage && (
        <SecretDialog open={editing !== null} onOpenChange={(o) => !o && setEditing(null)} name={editing?.name} />
      )}
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Delete ${deleting?.name ?? ""}?`}
        description="Anything that uses this secret stops working until you add it again. The value can't be recovered."
        confirmLabel="Delete secret"
        destructive
        onConfirm={async () => {
          if (!deleting) return;
          try {
            await del.mutateAsync(deleting.name);
            toast({ title: "Secret deleted" });
          } catch (err) {
            toastError(err, "Couldn't delete the secret");
            throw err;
          }
        }}
      />
    </div>
  );
}
