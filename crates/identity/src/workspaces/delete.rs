use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::entities::workspace;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::extract::Member;

/// Delete a workspace (owners only).
///
/// The workspace disappears for everyone at once; its audit log is kept, because an
/// append-only log that a deletion could erase would not be one.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}", tag = "workspaces",
    params(("workspace_id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_workspace(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<StatusCode> {
    member.require(Permission::DeleteWorkspace)?;
    let (ctx, tx) = member.write(&state).await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("workspace.deleted", "workspace", ctx.workspace_id),
    )
    .await?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::DeletedAt, Expr::value(Utc::now()))
        .filter(workspace::Column::Id.eq(ctx.workspace_id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
