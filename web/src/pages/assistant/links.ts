/** A conversation's public link (`…/share-link`), for those who may change the conversation. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "@/api/client";

export type ShareLink = Schemas["ShareLinkView"];
export type ShareLinkState = Schemas["ShareLinkState"];

/** Every conversation's link in a workspace, and one's. */
export const shareLinksKey = (ws: string) => ["assistant", ws, "share-link"] as const;
export const shareLinkKey = (ws: string, cid: string) => [...shareLinksKey(ws), cid] as const;

const path = "/api/v1/workspaces/{workspace_id}/conversations/{conversation_id}/share-link" as const;

/** The link's address in the web app: anyone with it reads the conversation. */
export function sharedUrl(token: string): string {
  return `${window.location.origin}/shared/${encodeURIComponent(token)}`;
}

const publicListKey = (ws: string) => [...shareLinksKey(ws), "list"] as const;

/** The ids of the conversations the person has made public (and manages the links of). */
export function usePublicConversations(ws: string, enabled: boolean) {
  return useQuery({
    queryKey: publicListKey(ws),
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/ai/share-links", { params: { path: { workspace_id: ws } } })),
    select: (list) => new Set(list.items.map((c) => c.conversation_id)),
    enabled,
  });
}

/** The conversation's link, if any, and whether the workspace allows one; read only where it may be managed. */
export function useShareLink(ws: string, cid: string, enabled: boolean) {
  return useQuery({
    queryKey: shareLinkKey(ws, cid),
    queryFn: () => unwrap(api.GET(path, { params: { path: { workspace_id: ws, conversation_id: cid } } })),
    enabled,
  });
}

/** Make the link, or move it on to the latest message (same address); take it down. */
export function useShareLinkChanges(ws: string, cid: string) {
  const qc = useQueryClient();
  const params = { params: { path: { workspace_id: ws, conversation_id: cid } } };
  const share = useMutation({
    mutationFn: () => unwrap(api.PUT(path, params)),
    onSuccess: (link) => {
      qc.setQueryData<ShareLinkState>(shareLinkKey(ws, cid), { link, allowed: true });
      return qc.invalidateQueries({ queryKey: publicListKey(ws) });
    },
    // Refused because the admins switched links off meanwhile: say so in the panel too.
    onError: () => qc.invalidateQueries({ queryKey: shareLinkKey(ws, cid) }),
  });
  const unshare = useMutation({
    mutationFn: () => unwrap(api.DELETE(path, params)),
    onSuccess: () => {
      qc.setQueryData<ShareLinkState>(shareLinkKey(ws, cid), (s) => ({ link: null, allowed: s?.allowed ?? true }));
      return qc.invalidateQueries({ queryKey: publicListKey(ws) });
    },
  });
  return { share, unshare };
}
