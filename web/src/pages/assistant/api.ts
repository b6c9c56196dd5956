/** The assistant's conversations and messages as TanStack queries. */
import { type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, apiUrl, type ConversationView, type Schemas, unwrap, type Visibility } from "@/api/client";
import { useCursorList } from "@/api/lists";
import { toastError } from "@/components/ui/toast";
import { shareLinksKey } from "./links";
import { type ChatMessage, type Feedback, toChatMessage } from "./types";

/** Where a conversation downloads as a file: Markdown (the branch shown) or JSON (every branch). */
export function exportHref(workspaceId: string, conversationId: string, format: "markdown" | "json"): string {
  return apiUrl(`/workspaces/${encodeURIComponent(workspaceId)}/conversations/${encodeURIComponent(conversationId)}/export`, { format });
}

export const assistantKeys = {
  all: (ws: string) => ["assistant", ws] as const,
  lists: (ws: string) => ["assistant", ws, "conversations"] as const,
  list: (ws: string, q: string, archived: boolean) => ["assistant", ws, "conversations", { q, archived }] as const,
  conversation: (ws: string, id: string) => ["assistant", ws, "conversation", id] as const,
  messages: (ws: string, id: string) => ["assistant", ws, "messages", id] as const,
};

/** Ask the server to stop writing an answer (it saves what arrived). */
export async function stopAnswer(ws: string, cid: string, answerId: string): Promise<void> {
  await unwrap(
    api.POST("/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/stop", {
      params: { path: { workspace_id: ws, conversation_id: cid, message_id: answerId } },
    }),
  );
}

/**
 * Delete a message with what followed it in its branch (an only answer takes its
 * question); then the conversation, its messages and the list (counts, order) are read
 * again.
 */
export function useDeleteMessage(ws: string, cid: string | null) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (messageId: string) =>
      unwrap(
        api.DELETE("/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}", {
          params: { path: { workspace_id: ws, conversation_id: cid ?? "", message_id: messageId } },
        }),
      ),
    onSuccess: () =>
      cid &&
      Promise.all([
        qc.invalidateQueries({ queryKey: assistantKeys.messages(ws, cid) }),
        qc.invalidateQueries({ queryKey: assistantKeys.conversation(ws, cid) }),
        qc.invalidateQueries({ queryKey: assistantKeys.lists(ws) }),
        // A public link showing what went is taken down with it.
        qc.invalidateQueries({ queryKey: shareLinksKey(ws) }),
      ]),
  });
}

/** Rate an answer (or change the rating), or with `null` take the rating back. */
export async function rateAnswer(ws: string, cid: string, answerId: string, feedback: Feedback | null): Promise<void> {
  const path = { workspace_id: ws, conversation_id: cid, message_id: answerId };
  const url = "/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/feedback" as const;
  if (feedback) await unwrap(api.PUT(url, { params: { path }, body: { rating: feedback.rating, comment: feedback.comment } }));
  else await unwrap(api.DELETE(url, { params: { path } }));
}

/** What rating one answer takes: the rating (null: take it back), and what to do if refused. */
export interface RatingChange {
  answerId: string;
  feedback: Feedback | null;
  onRefused?: () => void;
}

/**
 * Rate answers of the conversation shown. A rating shows at once; if the server refuses it,
 * that answer's rating before comes back, with a toast saying why, and its `onRefused` runs
 * (whichever answer was rated since). The conversation's ratings go to the server in the
 * order they were given, and the list is read again once none is on its way, so what shows
 * in the end is what the server kept.
 */
export function useRateAnswer(ws: string, cid: string | null) {
  const qc = useQueryClient();
  const key = assistantKeys.messages(ws, cid ?? "");
  const mutationKey = ["assistant", ws, "rate", cid ?? ""] as const;
  const setRating = (answerId: string, feedback: Feedback | null) =>
    qc.setQueryData<ChatMessage[]>(key, (list) => list?.map((m) => (m.id === answerId ? { ...m, feedback } : m)));
  return useMutation({
    mutationKey,
    mutationFn: ({ answerId, feedback }: RatingChange) => rateAnswer(ws, cid!, answerId, feedback),
    // One queue per conversation: a rating and its comment, or a rating and its taking back,
    // must not overtake each other on the way.
    scope: { id: `rate:${ws}:${cid ?? ""}` },
    onMutate: async ({ answerId, feedback }) => {
      // A read already on its way would bring back the list from before the rating.
      await qc.cancelQueries({ queryKey: key });
      const before = qc.getQueryData<ChatMessage[]>(key)?.find((m) => m.id === answerId)?.feedback ?? null;
      setRating(answerId, feedback && { rating: feedback.rating, comment: feedback.comment?.trim() || null });
      return { before };
    },
    // Here rather than in `mutate`'s options: those follow only the latest rating.
    onError: (err, { answerId, onRefused }, context) => {
      if (context) setRating(answerId, context.before);
      toastError(err, "Couldn't save your rating");
      onRefused?.();
    },
    onSettled: () => {
      // Read back only after the last of a burst (this one still counts as on its way):
      // a read between two would show the first rating over the second for a moment.
      if (qc.isMutating({ mutationKey }) <= 1) return qc.invalidateQueries({ queryKey: key });
    },
  });
}

export function useConversations(ws: string, q: string, archived: boolean) {
  return useCursorList(assistantKeys.list(ws, q, archived), (cursor) =>
    unwrap(
      api.GET("/api/v1/workspaces/{workspace_id}/conversations", {
        params: {
          path: { workspace_id: ws },
          query: { q: q || undefined, archived: archived || undefined, limit: 50, cursor },
        },
      }),
    ),
  );
}

export function fetchConversation(ws: string, id: string) {
  return unwrap(
    api.GET("/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}", {
      params: { path: { workspace_id: ws, conversation_id: id } },
    }),
  );
}

export function useConversation(ws: string, id: string | null) {
  return useQuery({
    queryKey: assistantKeys.conversation(ws, id ?? ""),
    enabled: id !== null,
    queryFn: () => fetchConversation(ws, id!),
    retry: false,
  });
}

export async function fetchMessages(ws: string, id: string) {
  const page = await unwrap(
    api.GET("/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}/messages", {
      params: { path: { workspace_id: ws, conversation_id: id } },
    }),
  );
  return page.items.map(toChatMessage);
}

/**
 * The branch being shown. `watch`: while a saved answer is still being written (by another
 * tab or person, or just stopped), look again every 1.5 s until it is done.
 */
export function useMessages(ws: string, id: string | null, watch = true) {
  return useQuery({
    queryKey: assistantKeys.messages(ws, id ?? ""),
    enabled: id !== null,
    queryFn: () => fetchMessages(ws, id!),
    retry: false,
    // The stream keeps what's on screen current; refetching on focus would only flicker.
    refetchOnWindowFocus: false,
    refetchInterval: (q) => (watch && q.state.data?.some((m) => m.status === "streaming") ? 1500 : false),
  });
}

export interface NewConversation {
  model?: string;
  visibility?: Visibility;
  title?: string;
  system_prompt?: string;
}

export function createConversation(ws: string, body: NewConversation) {
  return unwrap(api.POST("/api/v1/workspaces/{workspace_id}/conversations", { params: { path: { workspace_id: ws } }, body }));
}

export type ConversationPatch = {
  title?: string;
  pinned?: boolean;
  archived?: boolean;
  model?: string;
  visibility?: Visibility;
  system_prompt?: string;
  active_message_id?: string;
};

export function patchConversation(ws: string, id: string, body: ConversationPatch) {
  return unwrap(
    api.PATCH("/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}", {
      params: { path: { workspace_id: ws, conversation_id: id } },
      body,
    }),
  );
}

/** Put a changed conversation everywhere it shows, then let the lists re-sort. */
export function storeConversation(qc: QueryClient, ws: string, c: ConversationView) {
  qc.setQueryData(assistantKeys.conversation(ws, c.id), c);
  return qc.invalidateQueries({ queryKey: assistantKeys.lists(ws) });
}

export function useUpdateConversation(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...body }: ConversationPatch & { id: string }) => patchConversation(ws, id, body),
    onSuccess: async (c, vars) => {
      await storeConversation(qc, ws, c);
      if (vars.active_message_id) await qc.invalidateQueries({ queryKey: assistantKeys.messages(ws, c.id) });
      // Made private, an admin's public link on it goes down.
      if (vars.visibility) await qc.invalidateQueries({ queryKey: shareLinksKey(ws) });
    },
  });
}

export function deleteConversation(ws: string, id: string) {
  return unwrap(
    api.DELETE("/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}", {
      params: { path: { workspace_id: ws, conversation_id: id } },
    }),
  );
}

/**
 * Delete a conversation. Its cached reads go with `forget`, which the caller calls once it
 * has moved off the conversation: removed while its chat is still on screen, they would
 * be fetched again, and answered 404.
 */
export function useDeleteConversation(ws: string) {
  const qc = useQueryClient();
  const mutation = useMutation({
    mutationFn: (id: string) => deleteConversation(ws, id),
    onSuccess: () => qc.invalidateQueries({ queryKey: assistantKeys.lists(ws) }),
  });
  const forget = (id: string) => {
    qc.removeQueries({ queryKey: assistantKeys.conversation(ws, id) });
    qc.removeQueries({ queryKey: assistantKeys.messages(ws, id) });
  };
  return { ...mutation, forget };
}

/** What `…/conversations/import` takes: a conversation exported as JSON. */
export type ConversationImport = Schemas["ImportConversationRequest"];

/** Bring in a conversation exported as JSON (here or elsewhere), as a new one of the caller's. */
export function useImportConversation(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ConversationImport) =>
      unwrap(api.POST("/api/v1/workspaces/{workspace_id}/conversations/import", { params: { path: { workspace_id: ws } }, body })),
    onSuccess: (c) => storeConversation(qc, ws, c),
  });
}

/** Switch the assistant module on (admins, from the "switched off" state). */
export function useEnableAssistant(ws: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT("/api/v1/workspaces/{workspace_id}/modules/{module}", {
          params: { path: { workspace_id: ws, module: "assistant" } },
          body: { enabled: true },
        }),
      ),
    onSuccess: () =>
      Promise.all([
        qc.invalidateQueries({ queryKey: ["modules", ws] }),
        qc.invalidateQueries({ queryKey: assistantKeys.all(ws) }),
      ]),
  });
}
