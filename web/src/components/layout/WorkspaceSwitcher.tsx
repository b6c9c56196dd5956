import { Check, ChevronsUpDown, Plus } from "lucide-react";
import { useRef, useState } from "react";
import { useLocation } from "wouter";
import { useSession } from "@/api/session";
import { Avatar } from "@/components/ui/avatar";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { ROLE_LABELS } from "@/lib/permissions";
import { CreateWorkspaceDialog } from "@/pages/workspaces/CreateWorkspaceDialog";
import { wsPath } from "@/pages/workspaces/context";

/** The current workspace; opens a list of the person's workspaces and "Create workspace". */
export function WorkspaceSwitcher({ currentId, onNavigate }: { currentId: string | null; onNavigate?: () => void }) {
  const { workspaces } = useSession();
  const [, navigate] = useLocation();
  const [creating, setCreating] = useState(false);
  const current = workspaces.find((w) => w.id === currentId) ?? null;
  const leaving = useRef(false);

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger
          aria-label={current ? `Workspace: ${current.name}. Switch workspace` : "Choose a workspace"}
          className="flex w-full items-center gap-3 rounded-lg border bg-card p-2 text-left shadow-xs transition-colors hover:bg-accent focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none data-[state=open]:bg-accent"
        >
          {current ? (
            <>
              <Avatar name={current.name} square />
              <span className="grid min-w-0 flex-1 leading-tight">
                <span className="truncate text-sm font-semibold">{current.name}</span>
                <span className="truncate text-xs text-muted-foreground">{ROLE_LABELS[current.role]}</span>
              </span>
            </>
          ) : (
            <span className="flex-1 px-1 text-sm text-muted-foreground">Choose a workspace</span>
          )}
          <ChevronsUpDown className="size-4 shrink-0 text-muted-foreground" aria-hidden />
        </DropdownMenuTrigger>
        <DropdownMenuContent
          align="start"
          className="w-[var(--radix-dropdown-menu-trigger-width)] min-w-60"
          onCloseAutoFocus={(e) => {
            // Switching workspace moves focus to the new page's heading.
            if (leaving.current) e.preventDefault();
            leaving.current = false;
          }}
        >
          <DropdownMenuLabel>Workspaces</DropdownMenuLabel>
          {workspaces.map((w) => (
            <DropdownMenuItem
              key={w.id}
              onSelect={() => {
                leaving.current = true;
                onNavigate?.();
                navigate(wsPath(w.id, "members"));
              }}
            >
              <Avatar name={w.name} square className="size-6 text-[10px]" />
              <span className="min-w-0 flex-1 truncate">{w.name}</span>
              {w.id === currentId && <Check className="!text-foreground" aria-label="Current workspace" />}
            </DropdownMenuItem>
          ))}
          {workspaces.length > 0 && <DropdownMenuSeparator />}
          <DropdownMenuItem onSelect={() => setCreating(true)}>
            <Plus aria-hidden /> Create workspace
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <CreateWorkspaceDialog
        open={creating}
        onOpenChange={(o) => {
          setCreating(o);
          if (!o) onNavigate?.();
        }}
      />
    </>
  );
}
