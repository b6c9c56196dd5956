import { AlertTriangle, CreditCard, LockKeyhole, Puzzle, SlidersHorizontal } from "lucide-react";
import { useLocation, useParams } from "wouter";
import { PageHeader } from "@/components/PageHeader";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { useWorkspace, wsPath } from "@/pages/workspaces/context";
import { DangerSection } from "./DangerSection";
import { GeneralSection } from "./GeneralSection";
import { ModulesSection } from "./ModulesSection";
import { PlanSection } from "./PlanSection";
import { SecretsSection } from "./SecretsSection";

export const SETTINGS_SECTIONS = ["general", "modules", "plan", "secrets", "danger"] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

export function SettingsPage() {
  const ws = useWorkspace();
  const params = useParams<{ section?: string }>();
  const [, navigate] = useLocation();
  const showSecrets = ws.can("read_secrets");
  const requested = (params.section ?? "general") as SettingsSection;
  const section: SettingsSection =
    SETTINGS_SECTIONS.includes(requested) && (requested !== "secrets" || showSecrets) ? requested : "general";

  return (
    <>
      <PageHeader title="Settings" description={`How ${ws.name} is set up: its name, modules, plan and secrets.`} />
      <Tabs value={section} onValueChange={(v) => navigate(wsPath(ws.id, `settings/${v}`), { replace: true })}>
        <TabsList aria-label="Settings sections" className="mb-6">
          <TabsTrigger value="general">
            <SlidersHorizontal aria-hidden /> General
          </TabsTrigger>
          <TabsTrigger value="modules">
            <Puzzle aria-hidden /> Modules
          </TabsTrigger>
          <TabsTrigger value="plan">
            <CreditCard aria-hidden /> Plan &amp; usage
          </TabsTrigger>
          {showSecrets && (
            <TabsTrigger value="secrets">
              <LockKeyhole aria-hidden /> Secrets
            </TabsTrigger>
          )}
          <TabsTrigger value="danger">
            <AlertTriangle aria-hidden /> Danger zone
          </TabsTrigger>
        </TabsList>
        <TabsContent value="general" className="outline-none">
          <GeneralSection />
        </TabsContent>
        <TabsContent value="modules" className="outline-none">
          <ModulesSection />
        </TabsContent>
        <TabsContent value="plan" className="outline-none">
          <PlanSection />
        </TabsContent>
        {showSecrets && (
          <TabsContent value="secrets" className="outline-none">
            <SecretsSection />
          </TabsContent>
        )}
        <TabsContent value="danger" className="outline-none">
          <DangerSection />
        </TabsContent>
      </Tabs>
    </>
  );
}
