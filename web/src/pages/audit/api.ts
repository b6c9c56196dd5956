import { useMutation, useQuery } from "@tanstack/react-query";
import { api, type AuditEvent, unwrap } from "@/api/client";
import { useCursorList } from "@/api/lists";
import { type AuditFilters, toAuditQuery } from "./filters";

export const auditKey = (ws: string, f?: AuditFilters) => (f ? (["audit", ws, f] as const) : (["audit", ws] as const));

export function useAuditEvents(ws: string, filters: AuditFilters, enabled: boolean) {
  return useCursorList<AuditEvent>(
    auditKey(ws, filters),
    (cursor) =>
      unwrap(
        api.GET("/api/v1/workspaces/{workspace_id}/audit-events", {
          params: { path: { workspace_id: ws }, query: { limit: 50, cursor, ...toAuditQuery(filters) } },
        }),
      ),
    { enabled },
  );
}

export function useVerifyChain(ws: string) {
  return useMutation({
    mutationFn: () =>
      unwrap(api.GET("/api/v1/workspaces/{workspace_id}/audit-events/verify", { params: { path: { workspace_id: ws } } })),
  });
}

/** Warm the actor filter: members and keys, fetched only for admins. */
export function useAuditActors(ws: string, enabled: boolean) {
  return useQuery({
    queryKey: ["audit-actors", ws],
    enabled,
    staleTime: 60_000,
    queryFn: async () => {
      const [members, keys] = await Promise.all([
        unwrap(api.GET("/api/v1/workspaces/{workspace_id}/members", { params: { path: { workspace_id: ws }, query: { limit: 200 } } })),
        unwrap(api.GET("/api/v1/workspaces/{workspace_id}/api-keys", { params: { path: { workspace_id: ws }, query: { limit: 200 } } })),
      ]);
      return [
        ...members.items.map((m) => ({ id: m.user_id, label: m.name ? `${m.name} (${m.email})` : m.email, kind: "user" as const })),
        ...keys.items.map((k) => ({ id: k.id, label: `Key: ${k.name}`, kind: "api_key" as const })),
      ];
    },
  });
}
