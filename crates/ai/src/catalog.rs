//! What a workspace may use: its own providers (in priority order), then the platform's
//! default provider, and the workspace's AI defaults.

use nexus_kernel::db::Tx;
use nexus_kernel::{ApiError, AppState, secrets};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::sync::Arc;
use uuid::Uuid;

use crate::entities::{ai_settings, provider};
use crate::resilience::{Candidate, ProviderTarget};

pub const PLATFORM_PROVIDER_ID: Uuid = Uuid::nil();

pub struct Catalog {
    pub providers: Vec<(Arc<ProviderTarget>, Vec<String>)>,
    pub settings: Option<ai_settings::Model>,
    platform_small_model: Option<String>,
}

/// The secret that holds a workspace provider's API key.
pub fn key_secret_name(provider_id: Uuid) -> String {
    format!("ai_provider.{provider_id}")
}

pub fn platform_models(state: &AppState) -> Vec<String> {
    state
        .settings
        .ai_models
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Catalog {
    /// The workspace's catalog. Read on every message, and it decrypts provider keys, so it
    /// is cached; every change to providers, AI settings or secrets is audited, which
    /// invalidates it.
    pub async fn load(
        tx: &Tx,
        state: &AppState,
        workspace_id: Uuid,
    ) -> Result<Arc<Self>, ApiError> {
        tx.cache()
            .get_or_load_ahead(
                "ai_catalog",
                workspace_id.to_string(),
                vec![workspace_id],
                || Self::read(tx, state, workspace_id),
                || {
                    let (reader, state) = (tx.reader(), state.clone());
                    async move {
                        let tx = reader.begin().await.ok()?;
                        Self::read(&tx, &state, workspace_id).await.ok()
                    }
                },
            )
            .await
    }

    async fn read(
        db: &impl ConnectionTrait,
        state: &AppState,
        workspace_id: Uuid,
    ) -> Result<Self, ApiError> {
        let rows = provider::Entity::find()
            .filter(provider::Column::WorkspaceId.eq(workspace_id))
            .filter(provider::Column::Enabled.eq(true))
            .order_by_asc(provider::Column::Priority)
            .order_by_asc(provider::Column::Id)
            .all(db)
            .await?;
        let mut providers = Vec::new();
        for p in rows {
            let api_key = if p.has_api_key {
                secrets::read(db, &state.keyring, workspace_id, &key_secret_name(p.id)).await?
            } else {
                None
            };
            let api = p.api();
            let models = serde_json::from_value::<Vec<String>>(p.models).unwrap_or_default();
            providers.push((
                Arc::new(ProviderTarget {
                    id: p.id,
                    name: p.name,
                    api,
                    base_url: p.base_url,
                    api_key,
                    prompt_caching: p.prompt_caching,
                }),
                models,
            ));
        }
        if let Some(base_url) = state.settings.ai_base_url.clone().filter(|u| !u.is_empty()) {
            let models = platform_models(state);
            if !models.is_empty() {
                let target = ProviderTarget {
                    id: PLATFORM_PROVIDER_ID,
                    name: "platform".into(),
                    api: state.settings.ai_api,
                    base_url,
                    api_key: state.settings.ai_api_key.clone(),
                    prompt_caching: state.settings.ai_prompt_caching,
                };
                providers.push((Arc::new(target), models));
            }
        }
        let settings = ai_settings::Entity::find()
            .filter(ai_settings::Column::WorkspaceId.eq(workspace_id))
            .one(db)
            .await?;
        Ok(Self {
            providers,
            settings,
            platform_small_model: state.settings.ai_small_model.clone(),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.providers.iter().any(|(_, models)| !models.is_empty())
    }

    pub fn not_configured() -> ApiError {
        ApiError::conflict(
            "ai_not_configured",
            "No AI provider is configured for this workspace: an admin can add one under Settings → AI providers, or the operator can set NEXUS_AI_BASE_URL and NEXUS_AI_MODELS.",
        )
    }

    /// Every model offered, in provider order, without duplicates.
    pub fn models(&self) -> Vec<(String, Arc<ProviderTarget>)> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (p, models) in &self.providers {
            for m in models {
                if seen.insert(m.clone()) {
                    out.push((m.clone(), p.clone()));
                }
            }
        }
        out
    }

    pub fn offers(&self, model: &str) -> bool {
        self.providers
            .iter()
            .any(|(_, models)| models.iter().any(|m| m == model))
    }

    pub fn default_model(&self) -> Option<String> {
        self.settings
            .as_ref()
            .and_then(|s| s.default_model.clone())
            .filter(|m| self.offers(m))
            .or_else(|| self.models().first().map(|(m, _)| m.clone()))
    }

    pub fn small_model(&self) -> Option<String> {
        self.settings
            .as_ref()
            .and_then(|s| s.small_model.clone())
            .or_else(|| self.platform_small_model.clone())
            .filter(|m| self.offers(m))
            .or_else(|| self.default_model())
    }

    pub fn large_model(&self) -> Option<String> {
        self.settings
            .as_ref()
            .and_then(|s| s.large_model.clone())
            .filter(|m| self.offers(m))
            .or_else(|| self.default_model())
    }

    /// Where to send a request for `model`: every provider offering it in priority order,
    /// then the workspace's fallback models the same way.
    pub fn candidates(&self, model: &str) -> Vec<Candidate> {
        let fallbacks: Vec<String> = self
            .settings
            .as_ref()
            .and_then(|s| serde_json::from_value::<Vec<String>>(s.fallback_models.clone()).ok())
            .unwrap_or_default();
        let mut out = Vec::new();
        for wanted in
            std::iter::once(model.to_owned()).chain(fallbacks.into_iter().filter(|m| m != model))
        {
            for (p, models) in &self.providers {
                if models.contains(&wanted) {
                    out.push(Candidate {
                        provider: p.clone(),
                        model: wanted.clone(),
                    });
                }
            }
        }
        out
    }
}
