import { Lock } from "lucide-react";
import { EmptyState } from "./ui/empty-state";

export function AccessDenied({ what, workspaceName }: { what: string; workspaceName: string }) {
  return (
    <EmptyState
      icon={Lock}
      title="Admins only"
      description={`Only admins and owners of ${workspaceName} can see ${what}. Ask one of them if you need access.`}
    />
  );
}
