//! What a workspace may use (`GET …/ai/models`) and its AI defaults (`…/ai/settings`):
//! the default model for new conversations, the small model (titles, small-model-first)
//! and the large model (escalation), fallback models, and an optional per-member quota.

use axum::extract::State;
use chrono::Utc;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::pagination::List;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::catalog::Catalog;
use crate::entities::ai_settings;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ai_models))
        .routes(routes!(get_ai_settings, update_ai_settings))
        .routes(routes!(crate::usage::report::get_ai_usage))
        .routes(routes!(crate::usage::feedback::get_ai_feedback))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelView {
    pub id: String,
    pub provider_id: Uuid,
    pub provider_name: String,
    pub is_default: bool,
    pub is_small: bool,
    pub is_large: bool,
}

/// The models this workspace may use, in provider order.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/models", tag = "ai",
    params(("workspace_id" = Uuid, Path)),
    responses((status = 200, body = List<ModelView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_ai_models(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<axum::Json<List<ModelView>>> {
    member.require(Permission::ReadWorkspace)?;
    let catalog = Catalog::load(member.tx(), &state, member.workspace_id()).await?;
    let (default, small, large) = (
        catalog.default_model(),
        catalog.small_model(),
        catalog.large_model(),
    );
    let items = catalog
        .models()
        .into_iter()
        .map(|(id, p)| ModelView {
            is_default: default.as_deref() == Some(id.as_str()),
            is_small: small.as_deref() == Some(id.as_str()),
            is_large: large.as_deref() == Some(id.as_str()),
            id,
            provider_id: p.id,
            provider_name: p.name.clone(),
        })
        .collect();
    Ok(axum::Json(List {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiSettingsView {
    pub default_model: Option<String>,
    pub small_model: Option<String>,
    pub large_model: Option<String>,
    /// Tried, in order, when every provider of the requested model fails.
    #[serde(default)]
    pub fallback_models: Vec<String>,
    /// Monthly AI tokens per member; none means only the workspace's plan limit applies.
    pub member_monthly_tokens: Option<i64>,
    /// Whether conversations may be shared by public link (allowed until an admin says
    /// otherwise; always given in answers). Omitted when saving: unchanged, unlike the
    /// other fields, so that a client that does not know it never switches links back on.
    /// Switching it off takes down every link the workspace has.
    pub public_links: Option<bool>,
}

impl Default for AiSettingsView {
    fn default() -> Self {
        Self {
            default_model: None,
            small_model: None,
            large_model: None,
            fallback_models: Vec::new(),
            member_monthly_tokens: None,
            public_links: Some(true),
        }
    }
}

/// The workspace's AI defaults.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/settings", tag = "ai",
    params(("workspace_id" = Uuid, Path)),
    responses((status = 200, body = AiSettingsView)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_ai_settings(member: Member) -> ApiResult<axum::Json<AiSettingsView>> {
    member.require(Permission::ReadWorkspace)?;
    let row = ai_settings::Entity::find_by_id(member.workspace_id())
        .one(member.tx())
        .await?;
    Ok(axum::Json(row.map(view).unwrap_or_default()))
}

fn view(s: ai_settings::Model) -> AiSettingsView {
    AiSettingsView {
        default_model: s.default_model,
        small_model: s.small_model,
        large_model: s.large_model,
        fallback_models: serde_json::from_value(s.fallback_models).unwrap_or_default(),
        member_monthly_tokens: s.member_monthly_tokens,
        public_links: Some(s.public_links),
    }
}

/// Set the workspace's AI defaults (the whole set; omitted fields are cleared).
#[utoipa::path(put, path = "/workspaces/{workspace_id}/ai/settings", tag = "ai",
    params(("workspace_id" = Uuid, Path)), request_body = AiSettingsView,
    responses((status = 200, body = AiSettingsView), (status = 422, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_ai_settings(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<AiSettingsView>,
) -> ApiResult<axum::Json<AiSettingsView>> {
    member.require(Permission::ManageAi)?;
    let catalog = Catalog::load(member.tx(), &state, member.workspace_id()).await?;
    for (field, model) in [
        ("default_model", &body.default_model),
        ("small_model", &body.small_model),
        ("large_model", &body.large_model),
    ] {
        if let Some(m) = model
            && !catalog.offers(m)
        {
            return Err(ApiError::field(
                field,
                "is not offered by this workspace's AI providers",
            ));
        }
    }
    if body.fallback_models.len() > 10 || body.fallback_models.iter().any(|m| !catalog.offers(m)) {
        return Err(ApiError::field(
            "fallback_models",
            "up to 10 models this workspace's providers offer",
        ));
    }
    if body.member_monthly_tokens.is_some_and(|t| t < 0) {
        return Err(ApiError::field(
            "member_monthly_tokens",
            "must not be negative",
        ));
    }
    let (ctx, tx) = member.write(&state).await?;
    let mut body = body;
    let public_links = match body.public_links {
        Some(on) => on,
        None => crate::conversations::links::allowed(&tx, ctx.workspace_id).await?,
    };
    body.public_links = Some(public_links);
    ai_settings::Entity::insert(ai_settings::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        default_model: Set(body.default_model.clone()),
        small_model: Set(body.small_model.clone()),
        large_model: Set(body.large_model.clone()),
        fallback_models: Set(json!(body.fallback_models)),
        member_monthly_tokens: Set(body.member_monthly_tokens),
        public_links: Set(public_links),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(ai_settings::Column::WorkspaceId)
            .update_columns([
                ai_settings::Column::DefaultModel,
                ai_settings::Column::SmallModel,
                ai_settings::Column::LargeModel,
                ai_settings::Column::FallbackModels,
                ai_settings::Column::MemberMonthlyTokens,
                ai_settings::Column::PublicLinks,
                ai_settings::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&tx)
    .await?;
    let links_removed = if public_links {
        0
    } else {
        crate::conversations::links::remove_all(&tx, &ctx).await?
    };
    let mut summary = json!(body);
    summary["links_removed"] = json!(links_removed);
    audit::record(
        &tx,
        &ctx,
        Event::new("ai_settings.updated", "workspace", ctx.workspace_id).summary(summary),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(body))
}
