import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import { meKey } from "@/api/session";

export function useAcceptInvitation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => unwrap(api.POST("/api/v1/invitations/accept", { body: { token } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: meKey }),
  });
}

/** The link an invitee opens; the token travels in the query string only to this page. */
export function invitationLink(token: string, origin: string = window.location.origin): string {
  return `${origin}/invite?token=${encodeURIComponent(token)}`;
}
