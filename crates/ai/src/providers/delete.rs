use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState, secrets};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::catalog::key_secret_name;
use crate::entities::provider;

/// Remove a provider and its stored key.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/ai/providers/{provider_id}", tag = "ai",
    params(("workspace_id" = Uuid, Path), ("provider_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_ai_provider(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, id) = path;
    member.require(Permission::ManageAi)?;
    let (ctx, tx) = member.write(&state).await?;
    let row = provider::Entity::find()
        .filter(provider::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(provider::Column::Id.eq(id))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    provider::Entity::delete_many()
        .filter(provider::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(provider::Column::Id.eq(id))
        .exec(&tx)
        .await?;
    secrets::delete(&tx, ctx.workspace_id, &key_secret_name(id)).await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("ai_provider.deleted", "ai_provider", id).summary(json!({ "name": row.name })),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
