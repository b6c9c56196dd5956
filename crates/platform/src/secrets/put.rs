use axum::extract::{Path, State};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState, secrets};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{SecretView, parse_secret_name};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSecretRequest {
    /// Up to 64 KiB. Stored encrypted; never returned.
    pub value: String,
}

const MAX_VALUE: usize = 64 * 1024;

/// Create or replace a secret.
#[utoipa::path(put, path = "/workspaces/{workspace_id}/secrets/{name}", tag = "secrets",
    params(("workspace_id" = Uuid, Path), ("name" = String, Path)), request_body = PutSecretRequest,
    responses((status = 200, body = SecretView), (status = 422, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn put_secret(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, String)>,
    ApiJson(body): ApiJson<PutSecretRequest>,
) -> ApiResult<axum::Json<SecretView>> {
    let (_, name) = path;
    member.require(Permission::ManageSecrets)?;
    let name = parse_secret_name(&name)?.to_owned();
    if body.value.is_empty() || body.value.len() > MAX_VALUE {
        return Err(ApiError::field("value", "must be 1 byte to 64 KiB"));
    }
    let (ctx, tx) = member.write(&state).await?;
    let actor = ctx.actor.id().unwrap_or_default();
    let existed = secrets::put(
        &tx,
        &state.keyring,
        ctx.workspace_id,
        &name,
        &body.value,
        actor,
    )
    .await?;
    let action = if existed {
        "secret.updated"
    } else {
        "secret.created"
    };
    audit::record(
        &tx,
        &ctx,
        Event::new(action, "secret", &name).summary(json!({ "name": name })),
    )
    .await?;
    let row = secrets::find(&tx, ctx.workspace_id, &name)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(SecretView::from(row)))
}
