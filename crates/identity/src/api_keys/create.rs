use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::{Permission, Role};
use nexus_kernel::{ApiError, ApiResult, AppState, token};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiKeyView;
use crate::domain::parse_name;
use crate::entities::api_key;
use crate::extract::{API_KEY_PREFIX, Member};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// At most your own role.
    pub role: Role,
    /// Optional; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub api_key: ApiKeyView,
    /// The secret, shown this once: `Authorization: Bearer <key>`.
    pub key: String,
}

/// Create an API key.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/api-keys", tag = "api_keys",
    params(("workspace_id" = Uuid, Path)), request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn create_api_key(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiKey>)> {
    member.require(Permission::ManageApiKeys)?;
    let name = parse_name("name", &body.name, 100)?;
    if body.role > member.ctx.role {
        return Err(ApiError::forbidden(
            "role_above_yours",
            "An API key's role can be at most your own.",
        ));
    }
    let now = Utc::now();
    if body.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::field("expires_at", "must be in the future"));
    }
    let (ctx, tx) = member.write(&state).await?;
    let key = format!("{API_KEY_PREFIX}{}", token::random_token());
    let model = api_key::Model {
        workspace_id: ctx.workspace_id,
        id: Uuid::now_v7(),
        name,
        prefix: key[..12].to_owned(),
        token_digest: token::digest(&key),
        role: body.role.as_str().into(),
        created_by: ctx.actor.id().unwrap_or_default(),
        expires_at: body.expires_at,
        last_used_at: None,
        revoked_at: None,
        created_at: now,
    };
    api_key::Entity::insert(api_key::ActiveModel {
        workspace_id: Set(model.workspace_id),
        id: Set(model.id),
        name: Set(model.name.clone()),
        prefix: Set(model.prefix.clone()),
        token_digest: Set(model.token_digest.clone()),
        role: Set(model.role.clone()),
        created_by: Set(model.created_by),
        expires_at: Set(model.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("api_key.created", "api_key", model.id)
            .summary(json!({ "name": model.name, "role": model.role, "prefix": model.prefix, "expires_at": model.expires_at })),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiKey {
            api_key: ApiKeyView::from(&model),
            key,
        }),
    ))
}
