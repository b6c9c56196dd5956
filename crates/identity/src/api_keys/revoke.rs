use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::entities::api_key;
use crate::extract::Member;

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/api-keys/{key_id}", tag = "api_keys",
    params(("workspace_id" = Uuid, Path), ("key_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, key_id) = path;
    member.require(Permission::ManageApiKeys)?;
    let (ctx, tx) = member.write(&state).await?;
    let key = api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(api_key::Column::Id.eq(key_id))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    if key.revoked_at.is_some() {
        return Ok(StatusCode::NO_CONTENT);
    }
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(api_key::Column::Id.eq(key_id))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("api_key.revoked", "api_key", key_id)
            .summary(json!({ "name": key.name, "prefix": key.prefix })),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
