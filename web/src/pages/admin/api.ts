import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type AdminWorkspace, api, type Plan, unwrap } from "@/api/client";
import { useCursorList } from "@/api/lists";

export const adminWorkspacesKey = ["admin-workspaces"] as const;

export function useAllWorkspaces(enabled: boolean) {
  return useCursorList<AdminWorkspace>(
    adminWorkspacesKey,
    (cursor) => unwrap(api.GET("/api/v1/admin/workspaces", { params: { query: { limit: 100, cursor } } })),
    { enabled },
  );
}

export function useUpdateWorkspaceAsAdmin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: { id: string; suspended?: boolean; plan?: Plan }) =>
      unwrap(api.PATCH("/api/v1/admin/workspaces/{workspace_id}", { params: { path: { workspace_id: id } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: adminWorkspacesKey }),
  });
}

export type WorkspaceState = "active" | "suspended" | "deleted";

export function workspaceState(w: AdminWorkspace): WorkspaceState {
  if (w.deleted) return "deleted";
  if (w.suspended) return "suspended";
  return "active";
}
