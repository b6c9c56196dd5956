import { AccessDenied } from "@/components/AccessDenied";
import { useWorkspace } from "@/pages/workspaces/context";
import { AiDefaultsCard } from "./AiDefaultsCard";
import { ProvidersCard } from "./ProvidersCard";

/** Settings → AI: the providers every AI feature calls, and the workspace's defaults. */
export function AiSection() {
  const ws = useWorkspace();
  if (!ws.can("manage_ai")) return <AccessDenied what="AI providers" workspaceName={ws.name} />;
  return (
    <div className="grid gap-6">
      <ProvidersCard />
      <AiDefaultsCard />
    </div>
  );
}
