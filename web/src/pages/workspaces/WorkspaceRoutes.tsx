import { Redirect, Route, Switch, useParams } from "wouter";
import { ApiError, isApiError } from "@/api/errors";
import { useSession } from "@/api/session";
import { ErrorState } from "@/components/ErrorState";
import { PageHeader } from "@/components/PageHeader";
import { buttonClasses } from "@/components/ui/button";
import { ApiKeysPage } from "@/pages/api-keys/ApiKeysPage";
import { AssistantPage } from "@/pages/assistant/AssistantPage";
import { AuditPage } from "@/pages/audit/AuditPage";
import { MembersPage } from "@/pages/members/MembersPage";
import { SettingsPage } from "@/pages/settings/SettingsPage";
import { UsagePage } from "@/pages/usage/UsagePage";
import { NotFoundPage } from "@/pages/NotFoundPage";
import { useWorkspaceView } from "./api";
import { WorkspaceProvider } from "./context";

/**
 * Everything under /w/:workspaceId. The summary from /me renders the page at once; the
 * workspace's own GET confirms access and catches suspension.
 */
export function WorkspaceRoutes() {
  const { workspaceId } = useParams<{ workspaceId: string }>();
  const { workspaces } = useSession();
  const summary = workspaces.find((w) => w.id === workspaceId);
  const view = useWorkspaceView(workspaceId);

  if (!summary) {
    return (
      <>
        <PageHeader title="Workspace not found" />
        <ErrorState
          error={view.error ?? new ApiError({ status: 404, code: "not_found", message: "Not found." })}
          action={
            <a href="/" className={buttonClasses("outline", "sm")}>
              Go to my workspaces
            </a>
          }
        />
      </>
    );
  }

  if (view.isError && isApiError(view.error) && view.error.status !== 0) {
    return (
      <>
        <PageHeader title={summary.name} />
        <ErrorState error={view.error} onRetry={() => view.refetch()} />
      </>
    );
  }

  const ctx = {
    id: summary.id,
    name: view.data?.name ?? summary.name,
    slug: view.data?.slug ?? summary.slug,
    role: view.data?.role ?? summary.role,
  };
  const base = `/w/${workspaceId}`;
  return (
    <WorkspaceProvider value={ctx}>
      <Switch>
        <Route path={`${base}/members`} component={MembersPage} />
        <Route path={`${base}/api-keys`} component={ApiKeysPage} />
        <Route path={`${base}/audit`} component={AuditPage} />
        <Route path={`${base}/usage`} component={UsagePage} />
        <Route path="/w/:workspaceId/assistant/:conversationId?" component={AssistantPage} />
        <Route path="/w/:workspaceId/settings/:section?" component={SettingsPage} />
        <Route path={base}>
          <Redirect to={`${base}/members`} replace />
        </Route>
        <Route component={NotFoundPage} />
      </Switch>
    </WorkspaceProvider>
  );
}
