//! Usage: every call's tokens in a ledger, monthly quotas reserved before a call and
//! settled after, and the usage and feedback reports.

pub mod feedback;
pub mod leases;
pub mod quota;
pub mod report;
pub mod tokens;

use chrono::Utc;
use sea_orm::sea_query::InsertStatement;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryTrait};
use uuid::Uuid;

use crate::entities::usage;

pub struct UsageRecord {
    pub workspace_id: Uuid,
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub provider_name: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those read from the provider's prompt cache.
    pub cached_prompt_tokens: u64,
    /// Answered from our response cache, without calling a provider.
    pub cached: bool,
    pub latency_ms: u64,
    /// `ok`, `interrupted` or `error`.
    pub status: &'static str,
}

pub async fn record(db: &impl ConnectionTrait, r: UsageRecord) -> Result<(), sea_orm::DbErr> {
    let insert = record_insert(r);
    db.execute_raw(db.get_database_backend().build(&insert))
        .await?;
    Ok(())
}

/// [`record`] as a statement, for a caller that sends it with others; counts the tokens
/// in the metrics as it is made.
pub fn record_insert(r: UsageRecord) -> InsertStatement {
    metrics::counter!("ai_tokens_total", "kind" => "prompt", "model" => r.model.clone())
        .increment(r.prompt_tokens);
    metrics::counter!("ai_tokens_total", "kind" => "completion", "model" => r.model.clone())
        .increment(r.completion_tokens);
    metrics::counter!("ai_tokens_total", "kind" => "cached_prompt", "model" => r.model.clone())
        .increment(r.cached_prompt_tokens);
    usage::Entity::insert(usage::ActiveModel {
        workspace_id: Set(r.workspace_id),
        id: Set(Uuid::now_v7()),
        user_id: Set(r.user_id),
        api_key_id: Set(r.api_key_id),
        conversation_id: Set(r.conversation_id),
        message_id: Set(r.message_id),
        provider_id: Set(r.provider_id),
        provider_name: Set(r.provider_name),
        model: Set(r.model),
        prompt_tokens: Set(r.prompt_tokens as i64),
        completion_tokens: Set(r.completion_tokens as i64),
        cached_prompt_tokens: Set(r.cached_prompt_tokens as i64),
        cached: Set(r.cached),
        latency_ms: Set(r.latency_ms as i64),
        status: Set(r.status.to_owned()),
        created_at: Set(Utc::now()),
    })
    .into_query()
}
