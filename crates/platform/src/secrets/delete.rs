use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState, secrets};
use serde_json::json;
use uuid::Uuid;

use super::parse_secret_name;

/// Delete a secret.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/secrets/{name}", tag = "secrets",
    params(("workspace_id" = Uuid, Path), ("name" = String, Path)),
    responses((status = 204), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_secret(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, String)>,
) -> ApiResult<StatusCode> {
    let (_, name) = path;
    member.require(Permission::ManageSecrets)?;
    let name = parse_secret_name(&name)
        .map_err(|_| ApiError::NotFound)?
        .to_owned();
    let (ctx, tx) = member.write(&state).await?;
    if !secrets::delete(&tx, ctx.workspace_id, &name).await? {
        return Err(ApiError::NotFound);
    }
    audit::record(
        &tx,
        &ctx,
        Event::new("secret.deleted", "secret", &name).summary(json!({ "name": name })),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
