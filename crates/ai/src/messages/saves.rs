//! Saving an answer: checkpoints of the partial answer while it streams, and the final
//! save with the usage ledger, the cache and (on SQLite) the quota's settlement.

use chrono::Utc;
use nexus_kernel::AppState;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::task::JoinHandle;

use super::MessageView;
use super::engine::{Outcome, Turn};
use crate::entities::{conversation, message};
use crate::usage::UsageRecord;
use crate::usage::quota;

/// Save the partial answer, so that a crash keeps what had arrived. It runs beside the
/// stream instead of holding up the next token (many streams started together checkpoint
/// together, and queue on the database), and its commit does not wait for the disk: a
/// crash of Nexus loses none of it, a crash of PostgreSQL at most the last fraction of a
/// second (see [`nexus_kernel::db::Tx::relax_durability`]). The final save is durable.
/// It only touches an answer still streaming, so a late checkpoint never overwrites it.
pub(super) fn checkpoint(state: &AppState, turn: &Turn, content: &str) -> JoinHandle<()> {
    let db = state.db.clone();
    let scope = turn.ctx.scope();
    let update = message::Entity::update_many()
        .col_expr(message::Column::Content, Expr::value(content))
        .col_expr(message::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(message::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(message::Column::Id.eq(turn.assistant_id))
        .filter(message::Column::Status.eq("streaming"))
        .into_query();
    tokio::spawn(async move {
        if let Err(err) = db.single_update(scope, true, &update).await {
            tracing::warn!(error = ?err, "could not checkpoint a streaming answer");
        }
    })
}

/// Save the answer, the conversation's counters, the usage ledger and the cache, in one
/// transaction; with `settle`, also the quota's settlement for that many tokens (see
/// `quota::folds_into_writes`).
pub(super) async fn finish(
    state: &AppState,
    turn: &Turn,
    out: &Outcome,
    latency: Duration,
    settle: Option<u64>,
) -> Result<MessageView, anyhow::Error> {
    let db = state.db.tenant(turn.ctx.scope(), true).await?;
    let model = out.candidate.as_ref().map(|c| c.model.clone());
    let provider_id = out.candidate.as_ref().map(|c| c.provider.id);
    let now = Utc::now();
    let total = (out.usage.prompt_tokens + out.usage.completion_tokens) as i64;
    let error = out
        .error
        .as_ref()
        .map(|(code, message)| json!({ "code": code, "message": message }));
    let tool_calls = (!out.tool_calls.is_empty()).then(|| Value::Array(out.tool_calls.clone()));
    message::Entity::update_many()
        .col_expr(message::Column::Content, Expr::value(out.content.clone()))
        .col_expr(message::Column::Status, Expr::value(out.status))
        .col_expr(message::Column::Model, Expr::value(model.clone()))
        .col_expr(message::Column::ProviderId, Expr::value(provider_id))
        .col_expr(
            message::Column::PromptTokens,
            Expr::value(out.usage.prompt_tokens as i64),
        )
        .col_expr(
            message::Column::CompletionTokens,
            Expr::value(out.usage.completion_tokens as i64),
        )
        .col_expr(
            message::Column::LatencyMs,
            Expr::value(latency.as_millis() as i64),
        )
        .col_expr(
            message::Column::TtftMs,
            Expr::value(out.ttft.map(|t| t.as_millis() as i64)),
        )
        .col_expr(message::Column::Cached, Expr::value(out.cached))
        .col_expr(message::Column::ToolCalls, Expr::value(tool_calls))
        .col_expr(message::Column::Error, Expr::value(error))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .filter(message::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(message::Column::Id.eq(turn.assistant_id))
        .exec(&db)
        .await?;
    conversation::Entity::update_many()
        .col_expr(
            conversation::Column::TokensUsed,
            Expr::col(conversation::Column::TokensUsed).add(if out.cached { 0 } else { total }),
        )
        .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
        .filter(conversation::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(conversation::Column::Id.eq(turn.conversation_id))
        .exec(&db)
        .await?;
    if let Some(c) = &out.candidate {
        crate::usage::record(
            &db,
            UsageRecord {
                workspace_id: turn.ctx.workspace_id,
                user_id: turn.ctx.actor.user_id(),
                api_key_id: match &turn.ctx.actor {
                    nexus_kernel::tenancy::Actor::ApiKey { id, .. } => Some(*id),
                    _ => None,
                },
                conversation_id: Some(turn.conversation_id),
                message_id: Some(turn.assistant_id),
                provider_id: Some(c.provider.id),
                provider_name: c.provider.name.clone(),
                model: c.model.clone(),
                prompt_tokens: out.usage.prompt_tokens,
                completion_tokens: out.usage.completion_tokens,
                cached: out.cached,
                latency_ms: latency.as_millis() as u64,
                status: match out.status {
                    "complete" => "ok",
                    "interrupted" => "interrupted",
                    _ => "error",
                },
            },
        )
        .await?;
    }
    if let (Some(key), "complete", false, true) = (
        &turn.cache_key,
        out.status,
        out.cached,
        out.tool_calls.is_empty(),
    ) && let Some(m) = &model
    {
        crate::cache::put(
            &db,
            turn.ctx.workspace_id,
            key,
            m,
            &out.content,
            out.usage,
            state.settings.ai_cache_ttl_secs,
        )
        .await?;
    }
    let row = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(message::Column::Id.eq(turn.assistant_id))
        .one(&db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the assistant message disappeared"))?;
    if let Some(tokens) = settle {
        quota::settle_in(&db, &turn.reservation, tokens).await?;
    }
    db.commit().await?;
    Ok(MessageView::new(&row, Vec::new()))
}
