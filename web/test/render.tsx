import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { Router } from "wouter";
import { memoryLocation } from "wouter/memory-location";
import type { Me } from "@/api/client";
import { meKey } from "@/api/session";
import { Toaster } from "@/components/ui/toast";
import { TooltipProvider } from "@/components/ui/tooltip";
import { WorkspaceProvider } from "@/pages/workspaces/context";

export function renderApp(
  ui: ReactElement,
  { me, path = "/", workspace = true }: { me?: Me | null; path?: string; workspace?: boolean } = {},
) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  if (me !== undefined) client.setQueryData(meKey, me);
  const [pathname, search = ""] = path.split("?");
  const location = memoryLocation({ path: pathname, searchPath: search, record: true });
  const ws = me?.workspaces[0];
  const tree =
    workspace && ws ? <WorkspaceProvider value={{ id: ws.id, name: ws.name, slug: ws.slug, role: ws.role }}>{ui}</WorkspaceProvider> : ui;
  const result = render(
    <QueryClientProvider client={client}>
      <TooltipProvider>
        <Router hook={location.hook} searchHook={location.searchHook}>
          {tree}
        </Router>
        <Toaster />
      </TooltipProvider>
    </QueryClientProvider>,
  );
  return { ...result, client, location };
}
