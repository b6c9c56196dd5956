use nexus_kernel::ApiResult;
use nexus_kernel::roles::Permission;

use super::WorkspaceView;
use crate::extract::Member;

/// One workspace.
#[utoipa::path(get, path = "/workspaces/{workspace_id}", tag = "workspaces",
    params(("workspace_id" = uuid::Uuid, Path)),
    responses((status = 200, body = WorkspaceView), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_workspace(member: Member) -> ApiResult<axum::Json<WorkspaceView>> {
    member.require(Permission::ReadWorkspace)?;
    Ok(axum::Json(WorkspaceView::new(
        &member.workspace,
        member.ctx.role,
    )))
}
