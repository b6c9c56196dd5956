import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import { meKey } from "@/api/session";

export const workspaceKey = (id: string) => ["workspace", id] as const;

export function useWorkspaceView(id: string) {
  return useQuery({
    queryKey: workspaceKey(id),
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}", { params: { path: { workspace_id: id } } })),
    retry: false,
  });
}

export function useCreateWorkspace() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => unwrap(api.POST("/api/v1/workspaces", { body: { name } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: meKey }),
  });
}

export function useRenameWorkspace(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(api.PATCH("/api/v1/workspaces/{workspace_id}", { params: { path: { workspace_id: id } }, body: { name } })),
    onSuccess: (ws) => {
      qc.setQueryData(workspaceKey(id), ws);
      return qc.invalidateQueries({ queryKey: meKey });
    },
  });
}

export function useDeleteWorkspace(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/workspaces/{workspace_id}", { params: { path: { workspace_id: id } } })),
    onSuccess: () => {
      qc.removeQueries({ predicate: (q) => q.queryKey.includes(id) });
      return qc.invalidateQueries({ queryKey: meKey });
    },
  });
}
