import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Module, type ModuleView, unwrap } from "@/api/client";

const p = (workspace_id: string) => ({ params: { path: { workspace_id } } });

export const modulesKey = (ws: string) => ["modules", ws] as const;
export const planKey = (ws: string) => ["plan", ws] as const;
export const secretsKey = (ws: string) => ["secrets", ws] as const;

export function useModules(ws: string) {
  return useQuery({
    queryKey: modulesKey(ws),
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/modules", p(ws))),
  });
}

export function useToggleModule(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ module, enabled }: { module: Module; enabled: boolean }) =>
      unwrap(
        api.PUT("/api/v1/workspaces/{workspace_id}/modules/{module}", {
          params: { path: { workspace_id: ws, module } },
          body: { enabled },
        }),
      ),
    // Flip the switch at once; put it back if the server refuses.
    onMutate: async ({ module, enabled }) => {
      await qc.cancelQueries({ queryKey: modulesKey(ws) });
      const before = qc.getQueryData<{ items: ModuleView[] }>(modulesKey(ws));
      if (before) {
        qc.setQueryData(modulesKey(ws), {
          ...before,
          items: before.items.map((m) => (m.module === module ? { ...m, enabled } : m)),
        });
      }
      return { before };
    },
    onError: (_err, _vars, ctx) => {
      if (ctx?.before) qc.setQueryData(modulesKey(ws), ctx.before);
    },
    onSettled: () => qc.invalidateQueries({ queryKey: modulesKey(ws) }),
  });
}

export function usePlan(ws: string) {
  return useQuery({
    queryKey: planKey(ws),
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/plan", p(ws))),
  });
}

export function useSecrets(ws: string, enabled: boolean) {
  return useQuery({
    queryKey: secretsKey(ws),
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/secrets", p(ws))),
  });
}

export function usePutSecret(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ name, value }: { name: string; value: string }) =>
      unwrap(
        api.PUT("/api/v1/workspaces/{workspace_id}/secrets/{name}", {
          params: { path: { workspace_id: ws, name } },
          body: { value },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: secretsKey(ws) }),
  });
}

export function useDeleteSecret(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/secrets/{name}", {
          params: { path: { workspace_id: ws, name } },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: secretsKey(ws) }),
  });
}
