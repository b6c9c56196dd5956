import { useQuery } from "@tanstack/react-query";
import { Bot, ChartColumn, KeyRound, type LucideIcon, ScrollText, Settings, ShieldAlert, Users } from "lucide-react";
import { Link, useLocation } from "wouter";
import { api, type Module, unwrap } from "@/api/client";
import { useSession } from "@/api/session";
import { Logo } from "@/components/Logo";
import { cn } from "@/lib/cn";
import { type Permission, can } from "@/lib/permissions";
import { modulesKey } from "@/pages/settings/api";
import { wsPath } from "@/pages/workspaces/context";
import { UserMenu } from "./UserMenu";
import { WorkspaceSwitcher } from "./WorkspaceSwitcher";

interface NavItem {
  page: string;
  label: string;
  icon: LucideIcon;
  permission: Permission;
  /** Shown only while this module is switched on. */
  module?: Module;
}

/**
 * The workspace's pages. Modules (assistant, help desk, CRM, apps) add their own section here
 * when they ship, shown only when switched on.
 */
export const WORKSPACE_NAV: NavItem[] = [
  { page: "assistant", label: "Assistant", icon: Bot, permission: "read_workspace", module: "assistant" },
  { page: "members", label: "Members", icon: Users, permission: "read_members" },
  { page: "api-keys", label: "API keys", icon: KeyRound, permission: "read_api_keys" },
  { page: "audit", label: "Audit log", icon: ScrollText, permission: "read_audit_log" },
  { page: "usage", label: "AI usage", icon: ChartColumn, permission: "read_ai_usage" },
  { page: "settings", label: "Settings", icon: Settings, permission: "read_workspace" },
];

/** Which modules are on (same query as Settings → Modules, so a switch shows here at once). */
function useModulesOn(workspaceId: string | null): Set<Module> {
  const { data } = useQuery({
    queryKey: modulesKey(workspaceId ?? ""),
    enabled: workspaceId !== null,
    retry: false,
    queryFn: () => unwrap(api.GET("/api/v1/workspaces/{workspace_id}/modules", { params: { path: { workspace_id: workspaceId! } } })),
  });
  return new Set((data?.items ?? []).filter((m) => m.enabled).map((m) => m.module));
}

function NavLink({
  href,
  label,
  icon: Icon,
  active,
  onNavigate,
}: {
  href: string;
  label: string;
  icon: LucideIcon;
  active: boolean;
  onNavigate?: () => void;
}) {
  return (
    <Link
      href={href}
      onClick={onNavigate}
      aria-current={active ? "page" : undefined}
      className={cn(
        "flex items-center gap-3 rounded-md px-3 py-2 text-sm font-medium transition-colors focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none",
        active
          ? "bg-primary-soft text-primary-soft-foreground"
          : "text-muted-foreground hover:bg-accent hover:text-foreground",
      )}
    >
      <Icon className="size-4 shrink-0" aria-hidden />
      {label}
    </Link>
  );
}

export function SidebarContent({ workspaceId, onNavigate }: { workspaceId: string | null; onNavigate?: () => void }) {
  const { user, workspaces } = useSession();
  const [location] = useLocation();
  const ws = workspaces.find((w) => w.id === workspaceId) ?? null;
  const modulesOn = useModulesOn(ws?.id ?? null);

  return (
    <div className="flex h-full flex-col gap-4 p-3">
      <div className="flex h-10 items-center px-2">
        <Link href="/" onClick={onNavigate} className="rounded-md focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none" aria-label="Nexus home">
          <Logo />
        </Link>
      </div>
      <WorkspaceSwitcher currentId={workspaceId} onNavigate={onNavigate} />
      <nav aria-label="Workspace" className="grid gap-0.5">
        {ws &&
          WORKSPACE_NAV.filter((item) => can(ws.role, item.permission) && (!item.module || modulesOn.has(item.module))).map((item) => {
            const href = wsPath(ws.id, item.page);
            return (
              <NavLink
                key={item.page}
                href={href}
                label={item.label}
                icon={item.icon}
                active={location === href || location.startsWith(`${href}/`)}
                onNavigate={onNavigate}
              />
            );
          })}
      </nav>
      <div className="mt-auto grid gap-2">
        {user.is_system_admin && (
          <nav aria-label="Installation" className="grid gap-0.5">
            <p className="px-3 pb-1 text-xs font-medium text-muted-foreground">Installation</p>
            <NavLink href="/admin" label="Operator console" icon={ShieldAlert} active={location === "/admin"} onNavigate={onNavigate} />
          </nav>
        )}
        <div className="border-t pt-2">
          <UserMenu onNavigate={onNavigate} />
        </div>
      </div>
    </div>
  );
}
