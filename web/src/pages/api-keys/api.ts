import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type ApiKeyView, type Role, unwrap } from "@/api/client";
import { useCursorList } from "@/api/lists";

export const apiKeysKey = (ws: string) => ["api-keys", ws] as const;

export function useApiKeys(ws: string, enabled: boolean) {
  return useCursorList<ApiKeyView>(
    apiKeysKey(ws),
    (cursor) =>
      unwrap(
        api.GET("/api/v1/workspaces/{workspace_id}/api-keys", {
          params: { path: { workspace_id: ws }, query: { limit: 100, cursor } },
        }),
      ),
    { enabled },
  );
}

export function useCreateApiKey(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; role: Role; expires_at: string | null }) =>
      unwrap(api.POST("/api/v1/workspaces/{workspace_id}/api-keys", { params: { path: { workspace_id: ws } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: apiKeysKey(ws) }),
  });
}

export function useRevokeApiKey(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (keyId: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/api-keys/{key_id}", {
          params: { path: { workspace_id: ws, key_id: keyId } },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: apiKeysKey(ws) }),
  });
}

export type KeyStatus = "active" | "revoked" | "expired";

export function keyStatus(key: ApiKeyView, now: number = Date.now()): KeyStatus {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && new Date(key.expires_at).getTime() <= now) return "expired";
  return "active";
}
