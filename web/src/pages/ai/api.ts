/** The AI service every module shares: models, providers, defaults and usage. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type AiSettingsView, type ProviderView, unwrap } from "@/api/client";
import { shareLinksKey } from "@/pages/assistant/links";

const p = (workspace_id: string) => ({ params: { path: { workspace_id } } });

export const aiKeys = {
  all: (ws: string) => ["ai", ws] as const,
  models: (ws: string) => ["ai", ws, "models"] as const,
  providers: (ws: string) => ["ai", ws, "providers"] as const,
  settings: (ws: string) => ["ai", ws, "settings"] as const,
  usage: (ws: string, range: UsageRange, groupBy: UsageGroup) => ["ai", ws, "usage", range.from, range.to, groupBy] as const,
  feedback: (ws: string, range: UsageRange) => ["ai", ws, "feedback", range.from, range.to] as const,
};

export function useModels(ws: string, enabled = true) {
  return useQuery({
    queryKey: aiKeys.models(ws),
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/ai/models", p(ws))),
    select: (d) => d.items,
  });
}

export function useProviders(ws: string, enabled = true) {
  return useQuery({
    queryKey: aiKeys.providers(ws),
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/ai/providers", p(ws))),
    // Lower priority is tried first; the list shows that order.
    select: (d) => [...d.items].sort((a, b) => a.priority - b.priority || a.created_at.localeCompare(b.created_at)),
  });
}

export function useAiSettings(ws: string, enabled = true) {
  return useQuery({
    queryKey: aiKeys.settings(ws),
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/ai/settings", p(ws))),
  });
}

/** After a provider changes, the models on offer (and so the defaults) may change too. */
function useInvalidateAi(ws: string) {
  const qc = useQueryClient();
  return () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: aiKeys.providers(ws) }),
      qc.invalidateQueries({ queryKey: aiKeys.models(ws) }),
      qc.invalidateQueries({ queryKey: aiKeys.settings(ws) }),
    ]);
}

export interface ProviderInput {
  name: string;
  api?: "openai" | "anthropic";
  base_url: string;
  api_key?: string | null;
  models: string[];
  enabled?: boolean;
  priority?: number;
  prompt_caching?: boolean;
}

export function useCreateProvider(ws: string) {
  const invalidate = useInvalidateAi(ws);
  return useMutation({
    mutationFn: (body: ProviderInput) =>
      unwrap(api.POST("/api/v1/workspaces/{workspace_id}/ai/providers", { ...p(ws), body })),
    onSuccess: invalidate,
  });
}

export function useUpdateProvider(ws: string) {
  const invalidate = useInvalidateAi(ws);
  return useMutation({
    mutationFn: ({ id, ...body }: Partial<ProviderInput> & { id: string }) =>
      unwrap(
        api.PATCH("/api/v1/workspaces/{workspace_id}/ai/providers/{provider_id}", {
          params: { path: { workspace_id: ws, provider_id: id } },
          body,
        }),
      ),
    onSuccess: invalidate,
  });
}

/** Put providers in this order: only those whose priority changes are patched. */
export function useReorderProviders(ws: string) {
  const qc = useQueryClient();
  const invalidate = useInvalidateAi(ws);
  return useMutation({
    mutationFn: async (ordered: ProviderView[]) => {
      for (const [i, provider] of ordered.entries()) {
        const priority = (i + 1) * 10;
        if (provider.priority === priority) continue;
        await unwrap(
          api.PATCH("/api/v1/workspaces/{workspace_id}/ai/providers/{provider_id}", {
            params: { path: { workspace_id: ws, provider_id: provider.id } },
            body: { priority },
          }),
        );
      }
    },
    // Show the new order at once; the server's answer replaces it.
    onMutate: async (ordered) => {
      await qc.cancelQueries({ queryKey: aiKeys.providers(ws) });
      const before = qc.getQueryData<{ items: ProviderView[] }>(aiKeys.providers(ws));
      qc.setQueryData(aiKeys.providers(ws), {
        ...(before ?? {}),
        items: ordered.map((prov, i) => ({ ...prov, priority: (i + 1) * 10 })),
      });
      return { before };
    },
    onError: (_e, _v, ctx) => {
      if (ctx?.before) qc.setQueryData(aiKeys.providers(ws), ctx.before);
    },
    onSettled: invalidate,
  });
}

export function useDeleteProvider(ws: string) {
  const invalidate = useInvalidateAi(ws);
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/ai/providers/{provider_id}", {
          params: { path: { workspace_id: ws, provider_id: id } },
        }),
      ),
    onSuccess: invalidate,
  });
}

export function useTestProvider(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.POST("/api/v1/workspaces/{workspace_id}/ai/providers/{provider_id}/test", {
          params: { path: { workspace_id: ws, provider_id: id } },
        }),
      ),
    // A test can close an open circuit: show the provider's state as it is now.
    onSettled: () => qc.invalidateQueries({ queryKey: aiKeys.providers(ws) }),
  });
}

export function useSaveAiSettings(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: AiSettingsView) =>
      unwrap(api.PUT("/api/v1/workspaces/{workspace_id}/ai/settings", { ...p(ws), body })),
    onSuccess: (saved) => {
      qc.setQueryData(aiKeys.settings(ws), saved);
      return Promise.all([
        qc.invalidateQueries({ queryKey: aiKeys.models(ws) }),
        // Public links switched off take every link down: the chats' panels say so.
        qc.invalidateQueries({ queryKey: shareLinksKey(ws) }),
      ]);
    },
  });
}

export type UsageGroup = "day" | "member" | "model";
export interface UsageRange {
  from: string;
  to: string;
}

export function useUsage(ws: string, range: UsageRange, groupBy: UsageGroup, enabled = true) {
  return useQuery({
    queryKey: aiKeys.usage(ws, range, groupBy),
    enabled,
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/workspaces/{workspace_id}/ai/usage", {
          params: { path: { workspace_id: ws }, query: { from: range.from, to: range.to, group_by: groupBy } },
        }),
      ),
  });
}

/** How members rated each model's answers over a period, with their comments. */
export function useFeedbackReport(ws: string, range: UsageRange, enabled = true) {
  return useQuery({
    queryKey: aiKeys.feedback(ws, range),
    enabled,
    placeholderData: keepPreviousData,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/workspaces/{workspace_id}/ai/feedback", {
          params: { path: { workspace_id: ws }, query: { from: range.from, to: range.to } },
        }),
      ),
  });
}
