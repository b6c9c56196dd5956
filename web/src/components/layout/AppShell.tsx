import { Menu } from "lucide-react";
import { type ReactNode, useEffect, useRef, useState } from "react";
import { useLocation, useRoute } from "wouter";
import { cn } from "@/lib/cn";
import { useSession } from "@/api/session";
import { Logo } from "@/components/Logo";
import { Button } from "@/components/ui/button";
import { Dialog, SheetContent } from "@/components/ui/dialog";
import { LAST_WORKSPACE_KEY, readLocal, writeLocal } from "@/lib/storage";
import * as DialogPrimitive from "@radix-ui/react-dialog";
import { SidebarContent } from "./Sidebar";

/** The workspace in the URL, else the last one used, else the first. */
function useCurrentWorkspaceId(): string | null {
  const [inWorkspace, params] = useRoute<{ workspaceId: string }>("/w/:workspaceId/*?");
  const { workspaces } = useSession();
  const fromUrl = inWorkspace ? params.workspaceId : null;
  useEffect(() => {
    if (fromUrl && workspaces.some((w) => w.id === fromUrl)) writeLocal(LAST_WORKSPACE_KEY, fromUrl);
  }, [fromUrl, workspaces]);
  if (fromUrl) return fromUrl;
  const last = readLocal(LAST_WORKSPACE_KEY);
  return workspaces.find((w) => w.id === last)?.id ?? workspaces[0]?.id ?? null;
}

/** Sidebar on wide screens, a top bar with a menu sheet on phones; the page in <main>. */
export function AppShell({ children }: { children: ReactNode }) {
  const workspaceId = useCurrentWorkspaceId();
  const [menuOpen, setMenuOpen] = useState(false);
  // The assistant fills the window (its panels scroll on their own); other pages are a column.
  const [fullBleed] = useRoute("/w/:workspaceId/assistant/*?");
  const [location] = useLocation();
  const first = useRef(true);

  // After in-app navigation, move focus to the new page's heading so screen readers announce it.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const t = setTimeout(() => {
      const active = document.activeElement;
      // Keep focus where the person is working: in a dialog, or on tabs that change the URL.
      // Pages marked data-own-focus (the assistant) place focus themselves.
      if (active && active !== document.body && active.closest("[role=dialog],[role=alertdialog],[role=tablist],[data-own-focus]")) return;
      document.querySelector<HTMLElement>("#main h1")?.focus({ preventScroll: false });
    }, 0);
    return () => clearTimeout(t);
  }, [location]);

  return (
    <div className="flex min-h-dvh">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-primary px-3 py-2 text-primary-foreground focus:not-sr-only focus:fixed focus:top-3 focus:left-3"
      >
        Skip to content
      </a>
      <aside className="hidden w-64 shrink-0 border-r bg-sidebar md:block" aria-label="Sidebar">
        <div className="sticky top-0 h-dvh overflow-y-auto">
          <SidebarContent workspaceId={workspaceId} />
        </div>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <Dialog open={menuOpen} onOpenChange={setMenuOpen}>
          <header className="sticky top-0 z-20 flex h-14 items-center gap-3 border-b bg-background/85 px-4 backdrop-blur md:hidden">
            <DialogPrimitive.Trigger asChild>
              <Button variant="ghost" size="icon" aria-label="Open menu">
                <Menu aria-hidden />
              </Button>
            </DialogPrimitive.Trigger>
            <Logo />
          </header>
          <SheetContent aria-label="Menu">
            <DialogPrimitive.Title className="sr-only">Menu</DialogPrimitive.Title>
            <DialogPrimitive.Description className="sr-only">Workspace navigation and account</DialogPrimitive.Description>
            <SidebarContent workspaceId={workspaceId} onNavigate={() => setMenuOpen(false)} />
          </SheetContent>
        </Dialog>
        <main
          id="main"
          tabIndex={-1}
          className={cn(
            "outline-none",
            fullBleed
              ? "flex h-[calc(100dvh-3.5rem)] min-h-0 w-full flex-col md:h-dvh"
              : "mx-auto w-full max-w-6xl px-4 py-6 sm:px-6 lg:px-10 lg:py-10",
          )}
        >
          {children}
        </main>
      </div>
    </div>
  );
}
