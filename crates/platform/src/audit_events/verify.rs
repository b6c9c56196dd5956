use axum::extract::State;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{ChainReport, verify_chain};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, AppState};

/// Check the workspace's audit hash chain from the first event to the last.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/audit-events/verify", tag = "audit",
    params(("workspace_id" = uuid::Uuid, Path)),
    responses((status = 200, body = ChainReport)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn verify_audit_events(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<axum::Json<ChainReport>> {
    member.require(Permission::ReadAuditLog)?;
    let ctx = member.into_ctx();
    // The events and the chain head must come from one snapshot.
    let tx = state.db.tenant_snapshot(ctx.scope()).await?;
    let report = verify_chain(&tx, ctx.workspace_id).await?;
    tx.rollback().await?;
    Ok(axum::Json(report))
}
