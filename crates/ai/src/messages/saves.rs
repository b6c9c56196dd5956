//! Saving an answer: the final save with the usage ledger, the cache and the quota's
//! settlement, on PostgreSQL written together with other answers' ([`queue`];
//! checkpoints while it streams are [`super::checkpoints`]).

mod queue;

pub use queue::FinalSaves;

use chrono::{SubsecRound, Utc};
use nexus_kernel::AppState;
use nexus_kernel::db::{Db, Scope, Write};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, PostgresQueryBuilder, UpdateStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

use super::MessageView;
use super::engine::{Outcome, Turn};
use crate::AiService;
use crate::entities::{conversation, message};
use crate::usage::UsageRecord;
use crate::usage::quota;

/// Save the answer, the conversation's counters, the usage ledger and the cache, and
/// settle the quota for `charged` tokens; the saved answer's view.
///
/// The save is a durable transaction. On PostgreSQL the settlement commits first, in a
/// transaction of settlements (relaxed, like the reservation: see [`quota::reserve`]),
/// and both go out as one query, one round trip (`Db::commit_groups`), shared with the
/// other answers that end meanwhile (see [`FinalSaves`]); on SQLite the settlement is
/// one more statement of the save (see [`quota::folds_into_writes`]). Whatever happens to
/// the save, the quota is settled. The view is built from what was
/// written rather than read back. A message deleted meanwhile (its conversation was)
/// changes no row: the rest still commits, so the ledger keeps what the answer cost, and
/// the answer is an error.
pub(super) async fn finish(
    state: &AppState,
    ai: &Arc<AiService>,
    turn: &Turn,
    out: &Outcome,
    latency: Duration,
    charged: u64,
) -> Result<MessageView, anyhow::Error> {
    // Microseconds, as the database keeps them: the view must equal a later read.
    let now = Utc::now().trunc_subsecs(6);
    let answer = message::Model {
        content: out.content.clone(),
        reasoning: (!out.reasoning.is_empty()).then(|| out.reasoning.clone()),
        status: out.status.to_owned(),
        model: out.candidate.as_ref().map(|c| c.model.clone()),
        provider_id: out.candidate.as_ref().map(|c| c.provider.id),
        prompt_tokens: out.usage.prompt_tokens as i64,
        completion_tokens: out.usage.completion_tokens as i64,
        cached_prompt_tokens: out.usage.cached_prompt_tokens as i64,
        latency_ms: Some(latency.as_millis() as i64),
        ttft_ms: out.ttft.map(|t| t.as_millis() as i64),
        cached: out.cached,
        tool_calls: (!out.tool_calls.is_empty()).then(|| Value::Array(out.tool_calls.clone())),
        error: out
            .error
            .as_ref()
            .map(|(code, message)| json!({ "code": code, "message": message })),
        updated_at: now,
        reserved_tokens: 0,
        ..turn.answer.clone()
    };
    let save_answer = message::Entity::update_many()
        .col_expr(
            message::Column::Content,
            Expr::value(answer.content.clone()),
        )
        .col_expr(
            message::Column::Reasoning,
            Expr::value(answer.reasoning.clone()),
        )
        .col_expr(message::Column::Status, Expr::value(answer.status.clone()))
        .col_expr(message::Column::Model, Expr::value(answer.model.clone()))
        .col_expr(message::Column::ProviderId, Expr::value(answer.provider_id))
        .col_expr(
            message::Column::PromptTokens,
            Expr::value(answer.prompt_tokens),
        )
        .col_expr(
            message::Column::CompletionTokens,
            Expr::value(answer.completion_tokens),
        )
        .col_expr(
            message::Column::CachedPromptTokens,
            Expr::value(answer.cached_prompt_tokens),
        )
        .col_expr(message::Column::LatencyMs, Expr::value(answer.latency_ms))
        .col_expr(message::Column::TtftMs, Expr::value(answer.ttft_ms))
        .col_expr(message::Column::Cached, Expr::value(answer.cached))
        .col_expr(
            message::Column::ToolCalls,
            Expr::value(answer.tool_calls.clone()),
        )
        .col_expr(message::Column::Error, Expr::value(answer.error.clone()))
        // Settled in the same round trip (see `FinalSave::settlement`).
        .col_expr(message::Column::ReservedTokens, Expr::value(0i64))
        .col_expr(message::Column::UpdatedAt, Expr::value(now))
        .filter(message::Column::WorkspaceId.eq(answer.workspace_id))
        .filter(message::Column::Id.eq(answer.id))
        .into_query();
    let total = (out.usage.prompt_tokens + out.usage.completion_tokens) as i64;
    let count_tokens = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::TokensUsed,
            Expr::col(conversation::Column::TokensUsed).add(if out.cached { 0 } else { total }),
        )
        .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
        .filter(conversation::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(conversation::Column::Id.eq(turn.conversation_id))
        .into_query();
    let ledger = out.candidate.as_ref().map(|c| {
        crate::usage::record_insert(UsageRecord {
            workspace_id: turn.ctx.workspace_id,
            user_id: turn.ctx.actor.user_id(),
            api_key_id: turn.ctx.actor.api_key_id(),
            conversation_id: Some(turn.conversation_id),
            message_id: Some(answer.id),
            provider_id: Some(c.provider.id),
            provider_name: c.provider.name.clone(),
            model: c.model.clone(),
            prompt_tokens: out.usage.prompt_tokens,
            completion_tokens: out.usage.completion_tokens,
            cached_prompt_tokens: out.usage.cached_prompt_tokens,
            cached: out.cached,
            latency_ms: latency.as_millis() as u64,
            status: match out.status {
                "complete" => "ok",
                "interrupted" => "interrupted",
                _ => "error",
            },
        })
    });
    // Kept only as the model asked for: the key names that one, and a hit is labelled
    // with it, so a fallback model's answer must not be served as its.
    let asked_for = turn.candidates.first().map(|c| c.model.as_str());
    let cache = match (&turn.cache_key, &answer.model) {
        (Some(key), Some(model))
            if out.status == "complete"
                && !out.cached
                && out.tool_calls.is_empty()
                && asked_for == Some(model.as_str()) =>
        {
            Some(crate::cache::put(
                turn.ctx.workspace_id,
                key,
                model,
                &out.content,
                out.usage,
                state.settings.ai_cache_ttl_secs,
            ))
        }
        _ => None,
    };
    let save = FinalSave {
        scope: turn.ctx.scope(),
        conversation_id: turn.conversation_id,
        answer_id: answer.id,
        answer: save_answer,
        counters: count_tokens,
        ledger,
        cache,
        reservation: out.reservation.clone(),
        charged,
    };
    match ai.final_saves.write(&state.db, save).await? {
        1 => {
            let versions = turn.earlier_answers.iter().copied().chain([answer.id]);
            Ok(MessageView::new(&answer, versions.collect()))
        }
        _ => Err(AnswerGone.into()),
    }
}

/// The answer's row was gone at its final save: its conversation was deleted while it
/// streamed.
#[derive(Debug)]
pub(super) struct AnswerGone;

impl std::fmt::Display for AnswerGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the conversation was deleted while its answer streamed")
    }
}

impl std::error::Error for AnswerGone {}

/// One answer's final save: its quota settlement, then its writes (see [`finish`]).
struct FinalSave {
    scope: Scope,
    conversation_id: Uuid,
    answer_id: Uuid,
    /// The answer's own update, first: what it changed says whether the answer was
    /// still there.
    answer: UpdateStatement,
    counters: UpdateStatement,
    ledger: Option<InsertStatement>,
    cache: Option<InsertStatement>,
    /// What the answer's quota reservation is settled with: the tokens it used.
    reservation: quota::Reservation,
    charged: u64,
}

/// A save's SQL besides its writes' own: the settings that bind it to its workspace,
/// twice, and its settlement, with its quota lease's when it has one (about 100 bytes
/// more).
const SAVE_OVERHEAD: usize = 640;

impl FinalSave {
    /// The settlement's statements, committed ahead of the writes.
    fn settlement(&self) -> Vec<UpdateStatement> {
        quota::settle_updates(&self.reservation, self.charged)
    }

    /// The bytes of SQL this save adds to a group's query, at most: its writes with their
    /// values written in, escaped as in the query (which sends them as the arguments of
    /// prepared statements, without the column names), and [`SAVE_OVERHEAD`]. A text
    /// full of quotes or newlines, or a long answer, counts for what it costs.
    fn sql_size(&self) -> usize {
        let updates = [&self.answer, &self.counters]
            .into_iter()
            .map(|u| u.to_string(PostgresQueryBuilder).len());
        let inserts = self
            .ledger
            .iter()
            .chain(&self.cache)
            .map(|i| i.to_string(PostgresQueryBuilder).len());
        SAVE_OVERHEAD + updates.chain(inserts).sum::<usize>()
    }

    /// The save failed, its settlement with it: settle on its own, and take the
    /// reservation off the answer's row in the same transaction (see
    /// [`FinalSave::release_row`]). Best effort, as [`quota::settle`].
    async fn settle_alone(&self, db: &Db) {
        let mut updates = self.settlement();
        updates.push(self.row_released());
        if let Err(err) = db.updates_at_once(self.scope, true, &updates).await {
            tracing::error!(error = ?err, "could not settle an AI quota reservation");
        }
    }

    /// The settlement committed and the answer's save did not (or not surely): the row
    /// still holds the reservation, which the recovery of answers left `streaming` would
    /// give back a second time, letting the workspace spend it twice. Best effort.
    async fn release_row(&self, db: &Db) {
        if let Err(err) = db
            .updates_at_once(self.scope, true, &[self.row_released()])
            .await
        {
            tracing::error!(error = ?err, "could not take a settled reservation off its answer");
        }
    }

    fn row_released(&self) -> UpdateStatement {
        message::Entity::update_many()
            .col_expr(message::Column::ReservedTokens, Expr::value(0i64))
            .filter(message::Column::WorkspaceId.eq(self.scope.workspace_id))
            .filter(message::Column::Id.eq(self.answer_id))
            .into_query()
    }

    fn writes(&self) -> Vec<Write<'_>> {
        let mut writes = vec![Write::Update(&self.answer), Write::Update(&self.counters)];
        writes.extend(self.ledger.as_ref().map(Write::Insert));
        writes.extend(self.cache.as_ref().map(Write::Insert));
        writes
    }
}
