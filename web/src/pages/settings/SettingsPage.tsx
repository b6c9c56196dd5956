import { AlertTriangle, Bot, CreditCard, LockKeyhole, Puzzle, SlidersHorizontal } from "lucide-react";
import { useLocation, useParams } from "wouter";
import { PageHeader } from "@/components/PageHeader";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { useWorkspace, wsPath } from "@/pages/workspaces/context";
import { AiSection } from "./ai/AiSection";
import { DangerSection } from "./DangerSection";
import { GeneralSection } from "./GeneralSection";
import { ModulesSection } from "./ModulesSection";
import { PlanSection } from "./PlanSection";
import { SecretsSection } from "./SecretsSection";

export const SETTINGS_SECTIONS = ["general", "modules", "ai", "plan", "secrets", "danger"] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

export function SettingsPage() {
  const ws = useWorkspace();
  const params = useParams<{ section?: string }>();
  const [, navigate] = useLocation();
  const showSecrets = ws.can("read_secrets");
  const showAi = ws.can("manage_ai");
  const requested = (params.section ?? "general") as SettingsSection;
  const allowed = (s: SettingsSection) => (s !== "secrets" || showSecrets) && (s !== "ai" || showAi);
  const section: SettingsSection = SETTINGS_SECTIONS.includes(requested) && allowed(requested) ? requested : "general";

  return (
    <>
      <PageHeader title="Settings" description={`How ${ws.name} is set up: its name, modules, AI providers, plan and secrets.`} />
      <Tabs value={section} onValueChange={(v) => navigate(wsPath(ws.id, `settings/${v}`), { replace: true })}>
        <TabsList aria-label="Settings sections" className="mb-6">
          <TabsTrigger value="general">
            <SlidersHorizontal aria-hidden /> General
          </TabsTrigger>
          <TabsTrigger value="modules">
            <Puzzle aria-hidden /> Modules
          </TabsTrigger>
          {showAi && (
            <TabsTrigger value="ai">
              <Bot aria-hidden /> AI
            </TabsTrigger>
          )}
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
        {showAi && (
          <TabsContent value="ai" className="outline-none">
            <AiSection />
          </TabsContent>
        )}
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
