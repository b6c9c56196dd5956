/**
 * Saved prompts: texts members keep to send again, their own or the workspace's. The
 * composer offers them when the message starts with "/" (the rest filters them).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap, type Visibility } from "@/api/client";

export type Prompt = Schemas["PromptView"];

/** The server's limits, in characters. */
export const MAX_PROMPT_TITLE = 120;
export const MAX_PROMPT_TEXT = 20_000;

const promptsKey = (ws: string) => ["assistant", ws, "prompts"] as const;

export function usePrompts(ws: string, enabled = true) {
  return useQuery({
    queryKey: promptsKey(ws),
    enabled,
    queryFn: async () =>
      (await unwrap(api.GET("/api/v1/workspaces/{workspace_id}/ai/prompts", { params: { path: { workspace_id: ws } } }))).items,
    staleTime: 30_000,
  });
}

export interface PromptDraft {
  title: string;
  content: string;
  visibility?: Visibility;
}

/** Save a new prompt, or (with `id`) change one. */
export function useSavePrompt(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: PromptDraft & { id?: string }) =>
      id
        ? unwrap(
            api.PATCH("/api/v1/workspaces/{workspace_id}/ai/prompts/{prompt_id}", {
              params: { path: { workspace_id: ws, prompt_id: id } },
              body,
            }),
          )
        : unwrap(api.POST("/api/v1/workspaces/{workspace_id}/ai/prompts", { params: { path: { workspace_id: ws } }, body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: promptsKey(ws) }),
  });
}

export function useDeletePrompt(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/ai/prompts/{prompt_id}", {
          params: { path: { workspace_id: ws, prompt_id: id } },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: promptsKey(ws) }),
  });
}

/**
 * What the message asks of the prompt list: the words after a leading "/" while nothing
 * else has been typed (no space, no line), else null (no list).
 */
export function promptQuery(text: string): string | null {
  const m = /^\/(\S*)$/.exec(text);
  return m ? m[1]! : null;
}

/** The prompts whose title has the words, ignoring case; titles that start with them first. */
export function filterPrompts(prompts: readonly Prompt[], query: string): Prompt[] {
  const q = query.toLowerCase();
  if (!q) return [...prompts];
  const hits = prompts.filter((p) => p.title.toLowerCase().includes(q));
  const starts = (p: Prompt) => (p.title.toLowerCase().startsWith(q) ? 0 : 1);
  return hits.sort((a, b) => starts(a) - starts(b));
}
