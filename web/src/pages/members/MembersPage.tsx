import { LogOut, MailPlus, MoreHorizontal, UserMinus, Users } from "lucide-react";
import { useState } from "react";
import { useLocation } from "wouter";
import type { MemberView, Role } from "@/api/client";
import { useRefreshMe, useSession } from "@/api/session";
import { ErrorState } from "@/components/ErrorState";
import { LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { RoleBadge } from "@/components/RoleBadge";
import { ConfirmDialog } from "@/components/ui/alert-dialog";
import { Avatar } from "@/components/ui/avatar";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { EmptyState } from "@/components/ui/empty-state";
import { Select } from "@/components/ui/select";
import { Table, TableSkeletonRows, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { toast, toastError } from "@/components/ui/toast";
import { formatDate } from "@/lib/format";
import { ROLE_LABELS, canManageMember, grantableRoles } from "@/lib/permissions";
import { useWorkspace } from "@/pages/workspaces/context";
import { useChangeRole, useMembers, useRemoveMember } from "./api";
import { InvitationsSection } from "./InvitationsSection";
import { InviteDialog } from "./InviteDialog";

export function MembersPage() {
  const ws = useWorkspace();
  const { user } = useSession();
  const [, navigate] = useLocation();
  const refreshMe = useRefreshMe();
  const members = useMembers(ws.id);
  const changeRole = useChangeRole(ws.id);
  const remove = useRemoveMember(ws.id);
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<MemberView | null>(null);
  const canInvite = ws.can("invite_members");
  const leaving = removing?.user_id === user.id;

  const onRoleChange = async (m: MemberView, role: Role) => {
    if (role === m.role) return;
    try {
      await changeRole.mutateAsync({ userId: m.user_id, role });
      toast({ title: "Role changed", description: `${m.name} is now ${ROLE_LABELS[role].toLowerCase()}.` });
    } catch (err) {
      toastError(err, "Couldn't change the role");
    }
  };

  const onRemove = async () => {
    if (!removing) return;
    try {
      await remove.mutateAsync(removing.user_id);
    } catch (err) {
      toastError(err, leaving ? "Couldn't leave the workspace" : "Couldn't remove the member");
      throw err;
    }
    if (leaving) {
      toast({ title: `You left ${ws.name}` });
      await refreshMe();
      navigate("/", { replace: true });
    } else {
      toast({ title: "Member removed", description: `${removing.name} no longer has access to ${ws.name}.` });
    }
  };

  return (
    <>
      <PageHeader
        title="Members"
        description={
          canInvite
            ? `People in ${ws.name} and what they may do. Invite your team and set their roles.`
            : `People in ${ws.name} and their roles.`
        }
        actions={
          canInvite && (
            <Button onClick={() => setInviting(true)}>
              <MailPlus aria-hidden /> Invite people
            </Button>
          )
        }
      />

      {members.isError ? (
        <ErrorState error={members.error} onRetry={() => members.refetch()} />
      ) : (
        <section aria-labelledby="members-heading" className="grid gap-3">
          <h2 id="members-heading" className="sr-only">
            Members
          </h2>
          {!members.isPending && members.items.length === 0 ? (
            <EmptyState icon={Users} title="No members" description="Invite people to start working together." />
          ) : (
            <Table aria-label={`Members of ${ws.name}`}>
              <THead>
                <TR className="hover:bg-transparent">
                  <TH>Name</TH>
                  <TH>Role</TH>
                  <TH className="hidden sm:table-cell">Joined</TH>
                  <TH className="w-12">
                    <span className="sr-only">Actions</span>
                  </TH>
                </TR>
              </THead>
              <TBody>
                {members.isPending ? (
                  <TableSkeletonRows columns={4} rows={3} />
                ) : (
                  members.items.map((m) => {
                    const isMe = m.user_id === user.id;
                    const manageable = !isMe && canManageMember(ws.role, m.role);
                    return (
                      <TR key={m.user_id}>
                        <TD>
                          <div className="flex min-w-0 items-center gap-3">
                            <Avatar name={m.name} />
                            <div className="grid min-w-0">
                              <span className="flex items-center gap-2 truncate font-medium">
                                {m.name}
                                {isMe && <Badge variant="outline">You</Badge>}
                              </span>
                              <span className="truncate text-xs text-muted-foreground">{m.email}</span>
                            </div>
                          </div>
                        </TD>
                        <TD>
                          {manageable ? (
                            <Select
                              size="sm"
                              className="w-32"
                              aria-label={`Role of ${m.name}`}
                              value={m.role}
                              onValueChange={(r) => void onRoleChange(m, r)}
                              disabled={changeRole.isPending}
                              options={grantableRoles(ws.role).map((r) => ({ value: r, label: ROLE_LABELS[r] }))}
                            />
                          ) : (
                            <RoleBadge role={m.role} />
                          )}
                        </TD>
                        <TD className="hidden text-muted-foreground sm:table-cell">{formatDate(m.joined_at)}</TD>
                        <TD className="text-right">
                          {(manageable || isMe) && (
                            <DropdownMenu>
                              <DropdownMenuTrigger asChild>
                                <Button variant="ghost" size="icon-sm" aria-label={`Actions for ${m.name}`}>
                                  <MoreHorizontal aria-hidden />
                                </Button>
                              </DropdownMenuTrigger>
                              <DropdownMenuContent align="end">
                                {isMe ? (
                                  <DropdownMenuItem destructive onSelect={() => setRemoving(m)}>
                                    <LogOut aria-hidden /> Leave workspace
                                  </DropdownMenuItem>
                                ) : (
                                  <DropdownMenuItem destructive onSelect={() => setRemoving(m)}>
                                    <UserMinus aria-hidden /> Remove from workspace
                                  </DropdownMenuItem>
                                )}
                              </DropdownMenuContent>
                            </DropdownMenu>
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
            hasNextPage={members.hasNextPage}
            isFetchingNextPage={members.isFetchingNextPage}
            fetchNextPage={members.fetchNextPage}
          />
        </section>
      )}

      {canInvite && <InvitationsSection onInvite={() => setInviting(true)} />}
      {canInvite && <InviteDialog open={inviting} onOpenChange={setInviting} />}

      <ConfirmDialog
        open={removing !== null}
        onOpenChange={(o) => !o && setRemoving(null)}
        title={leaving ? `Leave ${ws.name}?` : `Remove ${removing?.name ?? ""}?`}
        description={
          leaving
            ? "You'll lose access to this workspace until someone invites you again."
            : `${removing?.name ?? "They"} will lose access to ${ws.name} right away. You can invite them again later.`
        }
        confirmLabel={leaving ? "Leave workspace" : "Remove member"}
        destructive
        onConfirm={onRemove}
      />
    </>
  );
}
