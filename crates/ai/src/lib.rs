//! The platform's AI service and the assistant module.
//!
//! One provider layer serves every module: OpenAI-compatible endpoints
//! ([`provider`]), retries, failover and circuit breakers ([`resilience`]), a usage
//! ledger with plan quotas reserved before each call ([`usage`]), and a response cache
//! ([`cache`]). The assistant ([`conversations`], [`messages`], saved [`prompts`]) is its
//! first user; tools ([`tools`]) let the model act on the workspace's own data with the
//! member's rights.

pub mod attachments;
pub mod cache;
pub mod catalog;
pub mod conversations;
pub mod entities;
pub mod messages;
pub mod migrations;
pub mod prompts;
pub mod provider;
pub mod providers;
pub mod resilience;
pub mod shared;
mod sql;
pub mod tools;
pub mod usage;
pub mod workspace_ai;
pub mod ws;

use axum::Extension;
use nexus_kernel::AppState;
use nexus_kernel::config::Settings;
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;

use crate::messages::{Checkpoints, FinalSaves};
use crate::provider::ProviderClient;
use crate::resilience::{Breakers, Resilience};
use crate::tools::ToolRegistry;

/// Process-wide AI state: the HTTP client, circuit breakers and tools.
pub struct AiService {
    pub resilience: Resilience,
    pub tools: ToolRegistry,
    /// Streaming answers' partial texts, written together.
    pub checkpoints: Arc<Checkpoints>,
    /// Answers' final saves, written together on PostgreSQL.
    pub final_saves: Arc<FinalSaves>,
    /// Answers a crash left streaming, finished before a workspace's next turn.
    pub recovery: messages::recovery::Recovery,
    /// The answers this process is writing, for `…/messages/{mid}/stop`.
    pub running: Arc<messages::stop::Running>,
    /// Quota reserved for many messages at once, in busy moments (PostgreSQL).
    pub leases: usage::leases::Leases,
}

impl AiService {
    pub fn new(settings: &Settings) -> Arc<Self> {
        // Loading the tokenizer's vocabulary takes tens of milliseconds: do it now, off
        // the executor, rather than in the first request that needs it.
        std::thread::spawn(|| usage::tokens::count("warm up"));
        Arc::new(Self {
            resilience: Resilience {
                client: ProviderClient::new(),
                breakers: Breakers::new(Duration::from_secs(settings.ai_breaker_open_secs)),
                first_token_timeout: Duration::from_secs(
                    settings.ai_first_token_timeout_secs.max(1),
                ),
                retry_base: Duration::from_millis(settings.ai_retry_base_ms),
                max_attempts: 3,
            },
            tools: ToolRegistry::with_defaults(),
            checkpoints: Arc::default(),
            final_saves: Arc::default(),
            recovery: Default::default(),
            running: Arc::default(),
            leases: Default::default(),
        })
    }
}

/// Every AI route, relative to `/api/v1`, with the service they share.
pub fn router(ai: Arc<AiService>) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(providers::router())
        .merge(workspace_ai::router())
        .merge(conversations::router())
        .merge(messages::router())
        .merge(attachments::router())
        .merge(prompts::router())
        .merge(shared::router())
        .merge(ws::router())
        .layer(Extension(ai))
}
