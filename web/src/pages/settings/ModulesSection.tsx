import { Bot, ChartNoAxesCombined, Headset, LayoutTemplate, type LucideIcon, Users2 } from "lucide-react";
import type { Module } from "@/api/client";
import { ErrorState } from "@/components/ErrorState";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { toast, toastError } from "@/components/ui/toast";
import { useWorkspace } from "@/pages/workspaces/context";
import { useModules, useToggleModule } from "./api";

export const MODULE_INFO: Record<Module, { name: string; description: string; icon: LucideIcon }> = {
  assistant: {
    name: "AI assistant",
    description: "Chat with AI models in conversations that belong to the workspace, with tools that act on its data. AI use counts toward the plan's monthly tokens.",
    icon: Bot,
  },
  support: {
    name: "Help desk",
    description: "Customers, tickets, threaded replies and internal notes, assignment, SLAs and a dashboard.",
    icon: Headset,
  },
  crm: {
    name: "CRM",
    description: "Leads and pipeline, calls with transcripts, calendar, WhatsApp and email threads, and an AI agent.",
    icon: Users2,
  },
  apps: {
    name: "App studio",
    description: "Build AI apps from industry templates and deploy them as hosted chat apps and APIs.",
    icon: LayoutTemplate,
  },
  analytics: {
    name: "Analytics",
    description: "Reports and dashboards across the workspace's modules.",
    icon: ChartNoAxesCombined,
  },
};

export function ModulesSection() {
  const ws = useWorkspace();
  const modules = useModules(ws.id);
  const toggle = useToggleModule(ws.id);
  const canManage = ws.can("manage_modules");

  if (modules.isError) return <ErrorState error={modules.error} onRetry={() => modules.refetch()} />;

  return (
    <div className="grid gap-3">
      <p className="text-sm text-muted-foreground">
        {canManage
          ? "Switch on what this workspace uses. Switching a module off hides it and makes its API answer 403 until it's back on; no data is deleted."
          : "The modules this workspace uses. Only admins and owners can switch them on or off."}
      </p>
      <Card className="divide-y">
        {modules.isPending
          ? Array.from({ length: 4 }, (_, i) => (
              <div key={i} className="flex items-center gap-4 p-4">
                <Skeleton className="size-9 rounded-lg" />
                <div className="grid flex-1 gap-2">
                  <Skeleton className="h-4 w-32" />
                  <Skeleton className="h-3 w-2/3" />
                </div>
              </div>
            ))
          : modules.data.items.map((m) => {
              const info = MODULE_INFO[m.module] ?? { name: m.module, description: "", icon: Bot };
              const Icon = info.icon;
              const labelId = `module-${m.module}`;
              return (
                <div key={m.module} className="flex items-start gap-4 p-4 sm:items-center">
                  <div className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-primary-soft text-primary-soft-foreground">
                    <Icon className="size-4" aria-hidden />
                  </div>
                  <div className="grid min-w-0 flex-1 gap-0.5">
                    <p id={labelId} className="flex items-center gap-2 text-sm font-medium">
                      {info.name}
                      <Badge variant={m.enabled ? "success" : "neutral"}>{m.enabled ? "On" : "Off"}</Badge>
                    </p>
                    <p className="text-sm text-muted-foreground">{info.description}</p>
                  </div>
                  <Switch
                    aria-labelledby={labelId}
                    checked={m.enabled}
                    disabled={!canManage}
                    onCheckedChange={async (enabled) => {
                      try {
                        await toggle.mutateAsync({ module: m.module, enabled });
                        toast({ title: `${info.name} switched ${enabled ? "on" : "off"}` });
                      } catch (err) {
                        toastError(err, `Couldn't switch ${info.name} ${enabled ? "on" : "off"}`);
                      }
                    }}
                  />
                </div>
              );
            })}
      </Card>
    </div>
  );
}
