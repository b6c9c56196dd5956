import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/api/client";
import { endSession, startSession } from "@/api/session";

export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: { email: string; password: string }) => {
      const res = await unwrap(api.POST("/api/v1/auth/login", { body }));
      return startSession(qc, res.csrf_token);
    },
  });
}

export function useSignup() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (body: { email: string; password: string; name: string }) => {
      const res = await unwrap(api.POST("/api/v1/auth/signup", { body }));
      return startSession(qc, res.csrf_token);
    },
  });
}

export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (everywhere: boolean) => {
      await unwrap(api.POST(everywhere ? "/api/v1/auth/logout-all" : "/api/v1/auth/logout"));
    },
    // Whatever the server said, this page forgets the session.
    onSettled: () => endSession(qc, true),
  });
}

export function useChangePassword() {
  return useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      unwrap(api.POST("/api/v1/auth/password", { body })),
  });
}
