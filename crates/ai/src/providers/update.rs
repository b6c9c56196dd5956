use axum::Extension;
use axum::extract::{Path, State};
use chrono::Utc;
use nexus_identity::domain::parse_name;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState, secrets};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
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
pub struct UpdateProviderRequest {
    pub name: Option<String>,
    pub api: Option<ProviderApi>,
    pub base_url: Option<String>,
    /// A new key; an empty string removes the stored key.
    pub api_key: Option<String>,
    pub models: Option<Vec<String>>,
    pub priority: Option<i32>,
    pub enabled: Option<bool>,
    /// Anthropic only (see the provider's `prompt_caching`).
    pub prompt_caching: Option<bool>,
}

/// Change a provider (name, protocol, URL, key, models, priority, on/off, prompt caching).
#[utoipa::path(patch, path = "/workspaces/{workspace_id}/ai/providers/{provider_id}", tag = "ai",
    params(("workspace_id" = Uuid, Path), ("provider_id" = Uuid, Path)), request_body = UpdateProviderRequest,
    responses((status = 200, body = ProviderView), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_ai_provider(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdateProviderRequest>,
) -> ApiResult<axum::Json<ProviderView>> {
    let (_, id) = path;
    member.require(Permission::ManageAi)?;
    let name = body
        .name
        .as_deref()
        .map(|n| parse_name("name", n, 100))
        .transpose()?;
    let base_url = body.base_url.as_deref().map(parse_base_url).transpose()?;
    let models = body.models.as_deref().map(parse_models).transpose()?;
    let api_key = body
        .api_key
        .as_deref()
        .map(|k| {
            if k.is_empty() {
                Ok("")
            } else {
                parse_api_key(k)
            }
        })
        .transpose()?;
    let (ctx, tx) = member.write(&state).await?;
    // Locked until the commit (PostgreSQL; SQLite's writers take turns anyway): the key
    // check below reads `has_api_key`, and a concurrent change of the address, checked
    // against the row as it was, could end up with a key given meanwhile.
    let current = provider::Entity::find()
        .filter(provider::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(provider::Column::Id.eq(id))
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let api = body.api.unwrap_or(current.api());
    // A new protocol applies to the address in effect (a bare Anthropic one gets /v1).
    let base_url = base_url
        .or_else(|| body.api.map(|_| current.base_url.clone()))
        .map(|u| base_url_for(api, u))
        .filter(|u| *u != current.base_url);
    // A stored key is only sent to the address and protocol it was given for: an admin,
    // who may not read it, must not be able to point it at a server of their own (even a
    // path can be another account on a shared gateway).
    let api_changed = api != current.api();
    if current.has_api_key && api_key.is_none() && (base_url.is_some() || api_changed) {
        return Err(ApiError::field(
            "api_key",
            "enter the key again (or an empty one to remove it): a stored key is only sent to the address and protocol it was given for",
        ));
    }
    let mut row = current.into_active_model();
    let mut changed = Vec::new();
    if let Some(v) = name {
        row.name = Set(v);
        changed.push("name");
    }
    if api_changed {
        row.api = Set(api.as_str().to_owned());
        changed.push("api");
    }
    if let Some(v) = base_url {
        row.base_url = Set(v);
        changed.push("base_url");
    }
    if let Some(v) = models {
        row.models = Set(json!(v));
        changed.push("models");
    }
    if let Some(v) = body.priority {
        row.priority = Set(v);
        changed.push("priority");
    }
    if let Some(v) = body.enabled {
        row.enabled = Set(v);
        changed.push("enabled");
    }
    if let Some(v) = body.prompt_caching {
        row.prompt_caching = Set(v);
        changed.push("prompt_caching");
    }
    match api_key {
        Some("") => {
            secrets::delete(&tx, ctx.workspace_id, &key_secret_name(id)).await?;
            row.has_api_key = Set(false);
            changed.push("api_key");
        }
        Some(key) => {
            secrets::put(
                &tx,
                &state.keyring,
                ctx.workspace_id,
                &key_secret_name(id),
                key,
                ctx.actor.id().unwrap_or_default(),
            )
            .await?;
            row.has_api_key = Set(true);
            changed.push("api_key");
        }
        None => {}
    }
    row.updated_at = Set(Utc::now());
    let updated = row.update(&tx).await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("ai_provider.updated", "ai_provider", id)
            .summary(json!({ "name": updated.name, "fields": changed })),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(ProviderView::new(
        &updated,
        ai.resilience.breakers.state(id),
    )))
}
