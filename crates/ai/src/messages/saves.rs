//! Saving an answer: the final save with the usage ledger, the cache and the quota's
//! settlement, on PostgreSQL written together with other answers' (checkpoints while it
//! streams are [`super::checkpoints`]).

use chrono::{SubsecRound, Utc};
use nexus_kernel::AppState;
use nexus_kernel::db::{Db, Engine, Group, Scope, Write, committed_nothing};
use sea_orm::sea_query::{Expr, ExprTrait, InsertStatement, PostgresQueryBuilder, UpdateStatement};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryTrait};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;
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
    let cache = match (&turn.cache_key, &answer.model) {
        (Some(key), Some(model))
            if out.status == "complete" && !out.cached && out.tool_calls.is_empty() =>
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
        1 => Ok(MessageView::new(&answer, Vec::new())),
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

/// Answers' final saves, written together on PostgreSQL: whichever wait while one group
/// is being written go out as the next group, in one round trip and two transactions
/// (see [`Db::commit_groups`]). With 500 answers streaming, 800 of them end each second,
/// and one by one each final save cost PostgreSQL two transactions of its own. An
/// answer ending alone is written at once, as before. On SQLite each is written alone
/// (see [`grouped`]).
#[derive(Default)]
pub struct FinalSaves {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// The writer task is running; there is at most one.
    writing: bool,
}

/// A final save, and where its result goes.
struct Waiting {
    save: FinalSave,
    /// The bytes of SQL it adds to a group's query, at most ([`FinalSave::sql_size`]).
    size: usize,
    done: oneshot::Sender<Written>,
}

enum Written {
    /// Written, or failed: how many rows the answer's update changed.
    Done(Result<u64, DbErr>),
    /// The writer stopped before it took this save: nothing of it was sent.
    NotAttempted(Box<FinalSave>),
}

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

/// Final saves in one group at most on PostgreSQL: a group is one query.
const PER_GROUP: usize = 64;

/// A group's query stays under about this many bytes of SQL, unless one save alone is
/// larger. sqlx 0.9.0 leaves Nagle's algorithm on for its TCP connections (an upstream
/// regression, fixed there but not yet released), so a query larger than the socket's
/// send buffer (16 KiB to start with on Linux) goes out in two parts, the second held
/// back until PostgreSQL acknowledges the first, which it delays by 40 ms. Groups of
/// up to 64 measured 20 to 60 KiB and took 45 to 55 ms each, almost all of it that
/// wait, at PostgreSQL 500 held open. The margin below 16 KiB is for what
/// [`FinalSave::sql_size`] leaves out: the `PREPARE`s a connection sends with its first
/// use of each statement (about 2 KiB).
const GROUP_BYTES: usize = 12 * 1024;

/// A save's SQL besides its writes' own: the settings that bind it to its workspace,
/// twice, and its settlement.
const SAVE_OVERHEAD: usize = 512;

/// Whether final saves are grouped: on PostgreSQL, yes. On SQLite, no: its transactions
/// cost little, but its writers take turns, and a message's save (which the message's
/// first token waits for) would wait behind a whole group instead of one final save.
/// Grouped, SQLite at 500 held open added 150 to 170 ms to the first token (p95) where
/// it had added 26 to 46; so there each final save is written by its own answer's task,
/// as before.
fn grouped(db: &Db) -> bool {
    db.engine() == Engine::Postgres
}

impl FinalSave {
    /// The settlement's statement, committed ahead of the writes.
    fn settlement(&self) -> UpdateStatement {
        quota::settle_update(&self.reservation, self.charged)
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

    fn writes(&self) -> Vec<Write<'_>> {
        let mut writes = vec![Write::Update(&self.answer), Write::Update(&self.counters)];
        writes.extend(self.ledger.as_ref().map(Write::Insert));
        writes.extend(self.cache.as_ref().map(Write::Insert));
        writes
    }
}

impl FinalSaves {
    /// Write `save` with whichever others are waiting; the rows the answer's update
    /// changed. Whatever happens to the save, the quota is settled.
    async fn write(self: &Arc<Self>, db: &Db, save: FinalSave) -> Result<u64, DbErr> {
        if !grouped(db) {
            return write_alone(db, &save).await;
        }
        let (done, written) = oneshot::channel();
        let size = save.sql_size();
        let start = {
            let mut queue = self.lock();
            queue.waiting.push(Waiting { save, size, done });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start {
            // Made before the task, so that a task dropped before it first runs (the
            // runtime shutting down) still gives the writer's place up.
            let running = Running(Some(self.clone()));
            let db = db.clone();
            tokio::spawn(async move { write_until_none_left(running, db).await });
        }
        match written.await {
            Ok(Written::Done(result)) => result,
            Ok(Written::NotAttempted(save)) => write_alone(db, &save).await,
            // The writer stopped (a panic) while writing this save's group: whether it
            // committed is not known.
            Err(_) => Err(DbErr::Custom("the final save's writer stopped".into())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn write_until_none_left(mut running: Running, db: Db) {
    let Some(saves) = running.0.clone() else {
        return;
    };
    loop {
        let mut group = {
            let mut queue = saves.lock();
            if queue.waiting.is_empty() {
                queue.writing = false;
                running.0 = None;
                return;
            }
            let n = group_size(queue.waiting.iter().map(|w| w.size));
            queue.waiting.drain(..n).collect::<Vec<_>>()
        };
        // Every writer takes rows in the same order, so that no two transactions wait
        // on each other: workspaces' quota rows (another replica's group may hold some),
        // then conversations, then answers by id, the order a checkpoint's index scan
        // meets them in. Should a deadlock end the group's transaction nonetheless, or a
        // lock be held long (see `Db::commit_groups`), each save is written alone.
        group.sort_by_key(|w| {
            (
                w.save.scope.workspace_id,
                w.save.conversation_id,
                w.save.answer_id,
            )
        });
        let list: Vec<&FinalSave> = group.iter().map(|w| &w.save).collect();
        let results = write_group(&db, &list).await;
        for (waiting, result) in group.into_iter().zip(results) {
            let _ = waiting.done.send(Written::Done(result));
        }
    }
}

/// How many of the waiting saves (their sizes, in order) make the next group: at most
/// [`PER_GROUP`], within [`GROUP_BYTES`] of SQL, and at least one if any wait.
fn group_size(sizes: impl ExactSizeIterator<Item = usize>) -> usize {
    let waiting = sizes.len();
    let mut bytes = 0;
    let fits = sizes
        .take(PER_GROUP)
        .take_while(|size| {
            bytes += size;
            bytes <= GROUP_BYTES
        })
        .count();
    fits.max(1).min(waiting)
}

/// Marks the writer stopped if its task ends other than by finding nothing left (a
/// panic), and hands the saves still waiting back to their answers' tasks, which write
/// them alone.
struct Running(Option<Arc<FinalSaves>>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(saves) = self.0.take() {
            let waiting = {
                let mut queue = saves.lock();
                queue.writing = false;
                std::mem::take(&mut queue.waiting)
            };
            for w in waiting {
                let _ = w.done.send(Written::NotAttempted(Box::new(w.save)));
            }
        }
    }
}

/// Each save's result, in order: one query for all of them, the settlements of each
/// workspace's (and member's) counters summed into one statement
/// ([`quota::settle_together`]); if that fails having surely committed nothing of what
/// failed, each again on its own, so one save's failure is only its own.
async fn write_group(db: &Db, saves: &[&FinalSave]) -> Vec<Result<u64, DbErr>> {
    if let [save] = saves {
        return vec![write_alone(db, save).await];
    }
    let each: Vec<_> = saves.iter().map(|s| (&s.reservation, s.charged)).collect();
    let settlements = quota::settle_together(&each);
    let writes: Vec<Vec<Write<'_>>> = saves.iter().map(|save| save.writes()).collect();
    let groups: Vec<Group<'_>> = saves
        .iter()
        .zip(&settlements)
        .zip(&writes)
        .map(|((save, first), then)| Group {
            scope: save.scope,
            first: first.as_ref(),
            then,
        })
        .collect();
    let mut results = Vec::with_capacity(saves.len());
    match db.commit_groups(true, &groups).await {
        Ok((_, Ok(changed))) => {
            results.extend(changed.iter().map(|c| Ok(answer_changed(c))));
        }
        // Every settlement committed; the writes did not.
        Ok((_, Err(err))) if committed_nothing(&err) => {
            tracing::warn!(error = ?err, "a group of final saves failed; saving each alone");
            for group in &groups {
                let saved = db.write_and_commit(group.scope, group.then).await;
                results.push(saved.map(|c| answer_changed(&c)));
            }
        }
        // Nothing committed.
        Err(err) if committed_nothing(&err) => {
            tracing::warn!(error = ?err, "a group of final saves failed; saving each alone");
            for save in saves {
                results.push(write_alone(db, save).await);
            }
        }
        // The connection was lost on the way: the writes may have committed, so they
        // are not sent again (as for a save written alone, see `write_alone`).
        Ok((_, Err(err))) => {
            results.extend(saves.iter().map(|_| Err(unknown(&err))));
        }
        Err(err) => {
            for save in saves {
                quota::settle(db, &save.reservation, save.charged).await;
                results.push(Err(unknown(&err)));
            }
        }
    }
    results
}

/// A group's failure, for each of its saves.
fn unknown(err: &DbErr) -> DbErr {
    DbErr::Custom(format!("a group of final saves failed: {err}"))
}

/// One save as a group of its own. On PostgreSQL the settlement commits first, on its
/// own (relaxed, like the reservation: see [`quota::reserve`]); on SQLite it is one
/// more statement of the save (see [`quota::folds_into_writes`]). If it never commits,
/// it is made on its own.
async fn write_alone(db: &Db, save: &FinalSave) -> Result<u64, DbErr> {
    let (settlement, writes) = (save.settlement(), save.writes());
    let group = Group {
        scope: save.scope,
        first: Some(&settlement),
        then: &writes,
    };
    match db.commit_groups(true, &[group]).await {
        Ok((_, saved)) => saved.map(|mut each| answer_changed(&each.pop().unwrap_or_default())),
        Err(err) => {
            quota::settle(db, &save.reservation, save.charged).await;
            Err(err)
        }
    }
}

/// The rows the answer's own update (a save's first write) changed.
fn answer_changed(changed: &[u64]) -> u64 {
    changed.first().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group is as many saves as fit its bytes, 64 at most, and one however large.
    #[test]
    fn a_group_takes_what_fits_its_query() {
        let sizes = |list: &[usize]| group_size(list.iter().copied());
        assert_eq!(sizes(&[]), 0);
        assert_eq!(sizes(&[SAVE_OVERHEAD; 100]), GROUP_BYTES / SAVE_OVERHEAD);
        assert_eq!(sizes(&[1; 100]), PER_GROUP);
        assert_eq!(sizes(&[GROUP_BYTES * 3, 1, 1]), 1);
        assert_eq!(sizes(&[1, GROUP_BYTES, 1]), 1);
        assert_eq!(sizes(&[GROUP_BYTES / 2, GROUP_BYTES / 2, 1]), 2);
    }
}
