//! A workspace's own AI providers: any OpenAI-compatible endpoint or Anthropic's Messages
//! API, tried in `priority` order (lowest first) before the platform's default. Keys live
//! in the kernel's secrets (`ai_provider.<id>`) and are never returned.

mod create;
mod delete;
mod list;
mod test;
mod update;

use chrono::{DateTime, Utc};
use nexus_kernel::{ApiError, AppState};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::entities::provider;
use crate::provider::ProviderApi;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_ai_provider, list::list_ai_providers))
        .routes(routes!(
            update::update_ai_provider,
            delete::delete_ai_provider
        ))
        .routes(routes!(test::test_ai_provider))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderView {
    pub id: Uuid,
    pub name: String,
    /// The wire protocol it speaks.
    pub api: ProviderApi,
    pub base_url: String,
    pub models: Vec<String>,
    /// Lower first.
    pub priority: i32,
    pub enabled: bool,
    /// Whether a key is stored (the key itself is never shown).
    pub has_api_key: bool,
    /// Anthropic only: mark the system prompt (or tools) and the last two user turns for
    /// Anthropic's prompt cache. Cache writes cost 25% more than input tokens and reads
    /// 90% less, so a conversation is cheaper from its second turn on. OpenAI-compatible
    /// providers that cache do it on their own, so this changes nothing for them.
    pub prompt_caching: bool,
    /// The circuit breaker: `closed` (healthy), `open` (skipped after repeated failures)
    /// or `half_open` (one trial request allowed).
    pub circuit: crate::resilience::BreakerState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProviderView {
    pub fn new(p: &provider::Model, circuit: crate::resilience::BreakerState) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            api: p.api(),
            base_url: p.base_url.clone(),
            models: serde_json::from_value(p.models.clone()).unwrap_or_default(),
            priority: p.priority,
            enabled: p.enabled,
            has_api_key: p.has_api_key,
            prompt_caching: p.prompt_caching,
            circuit,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

pub fn parse_base_url(raw: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::field(
            "base_url",
            "must be an http(s) URL like https://api.openai.com/v1",
        )
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || raw.len() > 500 {
        return Err(bad());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::field(
            "base_url",
            "must not carry credentials; put the key in api_key",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Anthropic's own SDKs take the address without `/v1`: a bare host gets it, so a pasted
/// `https://api.anthropic.com` works. (OpenAI-compatible servers mount the API anywhere.)
pub fn base_url_for(api: ProviderApi, base_url: String) -> String {
    let bare = reqwest::Url::parse(&base_url).is_ok_and(|u| u.path() == "/");
    if api == ProviderApi::Anthropic && bare {
        format!("{base_url}/v1")
    } else {
        base_url
    }
}

pub fn parse_models(models: &[String]) -> Result<Vec<String>, ApiError> {
    if models.is_empty() || models.len() > 100 {
        return Err(ApiError::field("models", "must list 1 to 100 models"));
    }
    let mut out: Vec<String> = Vec::new();
    for m in models {
        let m = m.trim();
        if m.is_empty() || m.len() > 200 || m.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ApiError::field(
                "models",
                "each model is 1 to 200 characters without spaces",
            ));
        }
        if !out.iter().any(|o| o == m) {
            out.push(m.to_owned());
        }
    }
    Ok(out)
}

pub fn parse_api_key(key: &str) -> Result<&str, ApiError> {
    // It travels in a header: visible ASCII only, or it could not be sent at all.
    if key.is_empty() || key.len() > 4096 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::field(
            "api_key",
            "must be 1 to 4096 visible ASCII characters, without spaces",
        ));
    }
    Ok(key)
}
