import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Route, Switch } from "wouter";
import { onSessionEnded } from "@/api/client";
import { isApiError } from "@/api/errors";
import { endSession, meKey } from "@/api/session";
import { AppShell } from "@/components/layout/AppShell";
import { Toaster, toast } from "@/components/ui/toast";
import { TooltipProvider } from "@/components/ui/tooltip";
import { AdminPage } from "@/pages/admin/AdminPage";
import { AcceptInvitePage } from "@/pages/auth/AcceptInvitePage";
import { AccountPage } from "@/pages/auth/AccountPage";
import { LoginPage } from "@/pages/auth/LoginPage";
import { RequireAuth } from "@/pages/auth/RequireAuth";
import { SignupPage } from "@/pages/auth/SignupPage";
import { NotFoundPage } from "@/pages/NotFoundPage";
import { SharedConversationPage } from "@/pages/shared/SharedConversationPage";
import { HomeRedirect } from "@/pages/workspaces/HomeRedirect";
import { WelcomePage } from "@/pages/workspaces/WelcomePage";
import { WorkspaceRoutes } from "@/pages/workspaces/WorkspaceRoutes";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        // Retry only what retrying can fix: the network and the server's own trouble.
        retry: (count, err) => count < 2 && (!isApiError(err) || err.isNetwork || err.status >= 500),
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}

function SessionWatcher({ client }: { client: QueryClient }) {
  useEffect(() => {
    onSessionEnded(() => {
      if (!client.getQueryData(meKey)) return;
      endSession(client);
      toast({ variant: "info", title: "Your session has ended", description: "Sign in again to pick up where you left off." });
    });
    return () => onSessionEnded(null);
  }, [client]);
  return null;
}

export function App({ client: given }: { client?: QueryClient }) {
  const [client] = useState(() => given ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <TooltipProvider delayDuration={300}>
        <SessionWatcher client={client} />
        <Switch>
          <Route path="/login" component={LoginPage} />
          <Route path="/signup" component={SignupPage} />
          <Route path="/invite" component={AcceptInvitePage} />
          <Route path="/shared/:token" component={SharedConversationPage} />
          <Route>
            <RequireAuth>
              <Switch>
                <Route path="/welcome" component={WelcomePage} />
                <Route>
                  <AppShell>
                    <Switch>
                      <Route path="/" component={HomeRedirect} />
                      <Route path="/account" component={AccountPage} />
                      <Route path="/admin" component={AdminPage} />
                      <Route path="/w/:workspaceId/*?" component={WorkspaceRoutes} />
                      <Route component={NotFoundPage} />
                    </Switch>
                  </AppShell>
                </Route>
              </Switch>
            </RequireAuth>
          </Route>
        </Switch>
        <Toaster />
      </TooltipProvider>
    </QueryClientProvider>
  );
}
