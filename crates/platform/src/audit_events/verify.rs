use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::audit::{ChainReport, verify_chain};
use nexus_kernel::roles::Permission;

/// Check the workspace's audit hash chain from the first event to the last.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/audit-events/verify", tag = "audit",
    params(("workspace_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ChainReport)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn verify_audit_events(member: Member) -> ApiResult<axum::Json<ChainReport>> {
    member.require(Permission::ReadAuditLog)?;
    Ok(axum::Json(
        verify_chain(member.tx(), member.workspace_id()).await?,
    ))
}
