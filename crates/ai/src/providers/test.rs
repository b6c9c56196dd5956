use axum::Extension;
use axum::extract::{Path, State};
use nexus_identity::extract::Member;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState, secrets};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AiService;
use crate::catalog::key_secret_name;
use crate::entities::provider;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTestResult {
    pub ok: bool,
    pub latency_ms: u64,
    /// The models the endpoint lists.
    pub available_models: Vec<String>,
    /// Configured models the endpoint does not list.
    pub missing_models: Vec<String>,
    pub error: Option<String>,
}

/// Check a provider live: reach it with its key and list its models.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/ai/providers/{provider_id}/test", tag = "ai",
    params(("workspace_id" = Uuid, Path), ("provider_id" = Uuid, Path)),
    responses((status = 200, body = ProviderTestResult), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn test_ai_provider(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ProviderTestResult>> {
    let (_, id) = path;
    member.require(Permission::ManageAi)?;
    let row = provider::Entity::find()
        .filter(provider::Column::WorkspaceId.eq(member.workspace_id()))
        .filter(provider::Column::Id.eq(id))
        .one(member.tx())
        .await?
        .ok_or(ApiError::NotFound)?;
    let key = if row.has_api_key {
        secrets::read(
            member.tx(),
            &state.keyring,
            member.workspace_id(),
            &key_secret_name(id),
        )
        .await?
    } else {
        None
    };
    // Don't hold the transaction while waiting on the network.
    drop(member);
    let api = row.api();
    let configured: Vec<String> = serde_json::from_value(row.models).unwrap_or_default();
    let started = Instant::now();
    let result = ai
        .resilience
        .client
        .list_models(api, &row.base_url, key.as_ref())
        .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    Ok(axum::Json(match result {
        Ok(available) => ProviderTestResult {
            ok: true,
            latency_ms,
            missing_models: configured
                .iter()
                .filter(|m| !available.contains(m))
                .cloned()
                .collect(),
            available_models: available,
            error: None,
        },
        Err(e) => ProviderTestResult {
            ok: false,
            latency_ms,
            available_models: Vec::new(),
            missing_models: Vec::new(),
            error: Some(e.to_string()),
        },
    }))
}
