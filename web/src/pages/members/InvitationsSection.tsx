import { MailPlus, XCircle } from "lucide-react";
import { useState } from "react";
import type { InvitationView } from "@/api/client";
import { ErrorState } from "@/components/ErrorState";
import { LoadMore } from "@/components/LoadMore";
import { RoleBadge } from "@/components/RoleBadge";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { toast, toastError } from "@/components/ui/toast";
import { formatDate, formatRelative } from "@/lib/format";
import { useWorkspace } from "@/pages/workspaces/context";
import { useInvitations, useRevokeInvitation } from "./api";

/** Pending invitations (admins and owners): who was invited, until when, and revoke. */
export function InvitationsSection({ onInvite }: { onInvite: () => void }) {
  const ws = useWorkspace();
  const invitations = useInvitations(ws.id, true);
  const revoke = useRevokeInvitation(ws.id);
  const [revoking, setRevoking] = useState<InvitationView | null>(null);
  const pending = invitations.items.filter((i) => i.status === "pending");

  return (
    <section aria-labelledby="invitations-heading" className="mt-10 grid gap-3">
      <div className="grid gap-1">
        <h2 id="invitations-heading" className="text-base font-semibold tracking-tight">
          Pending invitations
        </h2>
        <p className="text-sm text-muted-foreground">Invitations hold a seat until they are accepted, revoked or expire.</p>
      </div>
      {invitations.isError ? (
        <ErrorState error={invitations.error} onRetry={() => invitations.refetch()} />
      ) : !invitations.isPending && pending.length === 0 ? (
        <div className="flex flex-col items-start gap-3 rounded-xl border border-dashed bg-card/50 px-5 py-6 sm:flex-row sm:items-center sm:justify-between">
          <p className="text-sm text-muted-foreground">
            No pending invitations. Invite a teammate and send them the link you get.
          </p>
          <Button variant="outline" size="sm" onClick={onInvite}>
            <MailPlus aria-hidden /> Invite people
          </Button>
        </div>
      ) : (
        <Table aria-label="Pending invitations">
          <THead>
            <TR className="hover:bg-transparent">
              <TH>Email</TH>
              <TH>Role</TH>
              <TH className="hidden md:table-cell">Expires</TH>
              <TH className="w-12">
                <span className="sr-only">Actions</span>
              </TH>
            </TR>
          </THead>
          <TBody>
            {invitations.isPending ? (
              <TableSkeletonRows columns={4} rows={2} />
            ) : (
              pending.map((inv) => (
                <TR key={inv.id}>
                  <TD>
                    <div className="grid min-w-0">
                      <span className="truncate font-medium">{inv.email}</span>
                      <span className="text-xs text-muted-foreground">Invited {formatDate(inv.created_at)}</span>
                    </div>
                  </TD>
                  <TD>
                    <RoleBadge role={inv.role} />
                  </TD>
                  <TD className="hidden text-muted-foreground md:table-cell">{formatRelative(inv.expires_at)}</TD>
                  <TD className="text-right">
                    <Button
                      variant="ghost"
                      size="icon-sm"
                      aria-label={`Revoke invitation for ${inv.email}`}
                      onClick={() => setRevoking(inv)}
                    >
                      <XCircle aria-hidden />
                    </Button>
                  </TD>
                </TR>
              ))
            )}
          </TBody>
        </Table>
      )}
      <LoadMore
        hasNextPage={invitations.hasNextPage}
        isFetchingNextPage={invitations.isFetchingNextPage}
        fetchNextPage={invitations.fetchNextPage}
      />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(o) => !o && setRevoking(null)}
        title="Revoke this invitation?"
        description={`The link sent to ${revoking?.email ?? "them"} stops working and its seat is freed.`}
        confirmLabel="Revoke invitation"
        destructive
        onConfirm={async () => {
          if (!revoking) return;
          try {
            await revoke.mutateAsync(revoking.id);
            toast({ title: "Invitation revoked" });
          } catch (err) {
            toastError(err, "Couldn't revoke the invitation");
            throw err;
          }
        }}
      />
    </section>
  );
}
