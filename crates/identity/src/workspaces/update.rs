use axum::extract::State;
use chrono::Utc;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::entities::workspace;
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::WorkspaceView;
use crate::domain::parse_name;
use crate::extract::Member;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspaceRequest {
    pub name: String,
}

/// Rename a workspace.
#[utoipa::path(patch, path = "/workspaces/{workspace_id}", tag = "workspaces",
    params(("workspace_id" = uuid::Uuid, Path)), request_body = UpdateWorkspaceRequest,
    responses((status = 200, body = WorkspaceView), (status = 403, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_workspace(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<UpdateWorkspaceRequest>,
) -> ApiResult<axum::Json<WorkspaceView>> {
    member.require(Permission::RenameWorkspace)?;
    let name = parse_name("name", &body.name, 100)?;
    let mut ws = member.workspace.clone();
    let (ctx, tx) = member.write(&state).await?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::Name, Expr::value(name.clone()))
        .col_expr(workspace::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(workspace::Column::Id.eq(ctx.workspace_id))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("workspace.renamed", "workspace", ctx.workspace_id)
            .summary(json!({ "from": ws.name, "to": name })),
    )
    .await?;
    tx.commit().await?;
    ws.name = name;
    Ok(axum::Json(WorkspaceView::new(&ws, ctx.role)))
}
