import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type InvitationView, type MemberView, type Role, unwrap } from "@/api/client";
import { useCursorList } from "@/api/lists";
import { meKey } from "@/api/session";

export const membersKey = (ws: string) => ["members", ws] as const;
export const invitationsKey = (ws: string) => ["invitations", ws] as const;

const path = (workspace_id: string) => ({ path: { workspace_id } });

export function useMembers(ws: string) {
  return useCursorList<MemberView>(membersKey(ws), (cursor) =>
    unwrap(
      api.GET("/api/v1/workspaces/{workspace_id}/members", {
        params: { ...path(ws), query: { limit: 100, cursor } },
      }),
    ),
  );
}

export function useInvitations(ws: string, enabled: boolean) {
  return useCursorList<InvitationView>(
    invitationsKey(ws),
    (cursor) =>
      unwrap(
        api.GET("/api/v1/workspaces/{workspace_id}/invitations", {
          params: { ...path(ws), query: { limit: 100, cursor } },
        }),
      ),
    { enabled },
  );
}

export function useInvite(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; role: Role }) =>
      unwrap(api.POST("/api/v1/workspaces/{workspace_id}/invitations", { params: path(ws), body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: invitationsKey(ws) }),
  });
}

export function useRevokeInvitation(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (invitationId: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/invitations/{invitation_id}", {
          params: { path: { workspace_id: ws, invitation_id: invitationId } },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: invitationsKey(ws) }),
  });
}

export function useChangeRole(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: Role }) =>
      unwrap(
        api.PATCH("/api/v1/workspaces/{workspace_id}/members/{user_id}", {
          params: { path: { workspace_id: ws, user_id: userId } },
          body: { role },
        }),
      ),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: membersKey(ws) }), qc.invalidateQueries({ queryKey: meKey })]),
  });
}

export function useRemoveMember(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (userId: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/members/{user_id}", {
          params: { path: { workspace_id: ws, user_id: userId } },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: membersKey(ws) }),
  });
}
