use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use nexus_identity::domain::parse_name;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, AppState, secrets};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ProviderView, base_url_for, parse_api_key, parse_base_url, parse_models};
use crate::AiService;
use crate::catalog::key_secret_name;
use crate::entities::provider;
use crate::provider::ProviderApi;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProviderRequest {
    pub name: String,
    /// The wire protocol it speaks; default `openai` (any OpenAI-compatible endpoint).
    pub api: Option<ProviderApi>,
    /// The API's base URL, e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1` or
    /// (`anthropic`) `https://api.anthropic.com/v1`.
    pub base_url: String,
    /// Stored encrypted; never returned. Optional for local servers.
    pub api_key: Option<String>,
    pub models: Vec<String>,
    /// Lower is tried first; default: after the existing ones.
    pub priority: Option<i32>,
    pub enabled: Option<bool>,
    /// Anthropic only; default on (see the provider's `prompt_caching`).
    pub prompt_caching: Option<bool>,
}

/// Add an AI provider.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/ai/providers", tag = "ai",
    params(("workspace_id" = Uuid, Path)), request_body = CreateProviderRequest,
    responses((status = 201, body = ProviderView), (status = 422, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn create_ai_provider(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
    ApiJson(body): ApiJson<CreateProviderRequest>,
) -> ApiResult<(StatusCode, axum::Json<ProviderView>)> {
    member.require(Permission::ManageAi)?;
    let name = parse_name("name", &body.name, 100)?;
    let api = body.api.unwrap_or_default();
    let base_url = base_url_for(api, parse_base_url(&body.base_url)?);
    let models = parse_models(&body.models)?;
    let api_key = body
        .api_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(parse_api_key)
        .transpose()?;
    let (ctx, tx) = member.write(&state).await?;
    let count = provider::Entity::find()
        .filter(provider::Column::WorkspaceId.eq(ctx.workspace_id))
        .count(&tx)
        .await?;
    let now = Utc::now();
    let row = provider::Model {
        workspace_id: ctx.workspace_id,
        id: Uuid::now_v7(),
        name,
        api: api.as_str().to_owned(),
        base_url,
        models: json!(models),
        priority: body.priority.unwrap_or(count as i32 * 10 + 10),
        enabled: body.enabled.unwrap_or(true),
        has_api_key: api_key.is_some(),
        prompt_caching: body.prompt_caching.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    provider::Entity::insert(provider::ActiveModel {
        workspace_id: Set(row.workspace_id),
        id: Set(row.id),
        name: Set(row.name.clone()),
        api: Set(row.api.clone()),
        base_url: Set(row.base_url.clone()),
        models: Set(row.models.clone()),
        priority: Set(row.priority),
        enabled: Set(row.enabled),
        has_api_key: Set(row.has_api_key),
        prompt_caching: Set(row.prompt_caching),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    if let Some(key) = api_key {
        secrets::put(
            &tx,
            &state.keyring,
            ctx.workspace_id,
            &key_secret_name(row.id),
            key,
            ctx.actor.id().unwrap_or_default(),
        )
        .await?;
    }
    audit::record(
        &tx,
        &ctx,
        Event::new("ai_provider.created", "ai_provider", row.id)
            .summary(json!({ "name": row.name, "api": row.api, "base_url": row.base_url, "models": models, "has_api_key": row.has_api_key, "prompt_caching": row.prompt_caching })),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ProviderView::new(
            &row,
            ai.resilience.breakers.state(row.id),
        )),
    ))
}
