//! One assistant turn, from the first token to the saved answer. It runs as its own task
//! and reports through a channel, so the HTTP response (SSE, JSON or WebSocket) is only a
//! reader: if the client goes away the task notices, cancels the upstream request (or
//! finishes in the background when configured so) and saves what arrived.
//!
//! The provider is called while the user message's save commits (see [`start`]): a
//! durable commit is a disk flush, and waiting for it first would add its time (1 to 1.5
//! ms on PostgreSQL, more in its tail) to every answer's first token.

use nexus_identity::extract::Member;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, AppState};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryTrait};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::MessageView;
use super::saves::{AnswerGone, finish};
use super::turn::{Options, Prepared, TurnKind};
use crate::AiService;
use crate::entities::message;
use crate::provider::{ChatRequest, Usage};
use crate::resilience::Candidate;
use crate::usage::quota::{Budget, Reservation};

/// What a turn reports, in order: `Message`, then `Delta`/`ToolCall`/`ToolResult`, then
/// exactly one of `Done` or `Error`.
#[derive(Debug, Clone)]
pub enum TurnEvent {
    /// The saved user message, and the id the answer will have.
    Message(Box<MessageView>, Uuid),
    Delta(String),
    /// A piece of a reasoning model's thoughts, before (or between) pieces of its answer.
    Reasoning(String),
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    ToolResult {
        id: String,
        name: String,
        result: Value,
    },
    Done(Box<MessageView>),
    Error {
        code: &'static str,
        message: String,
        assistant: Option<Box<MessageView>>,
    },
}

pub struct Turn {
    pub ctx: TenantCtx,
    pub conversation_id: Uuid,
    pub user_message: MessageView,
    /// The answer's row as first saved (empty, streaming); the final save's view is this
    /// with what the turn produced.
    pub answer: message::Model,
    pub request: ChatRequest,
    pub candidates: Vec<Candidate>,
    pub reservation: Reservation,
    /// The limits the reservation was made against, for the reservations of further
    /// rounds when the model calls tools.
    pub budget: Budget,
    pub cache_key: Option<String>,
    /// Generate a title when this turn completes.
    pub needs_title: bool,
    /// The conversation is readable by the workspace, not only its creator.
    pub shared: bool,
    /// Cancelled to stop the answer on the client's request (the WebSocket's `cancel`,
    /// `…/messages/{mid}/stop`), which stops it even when answers whose client left
    /// finish in the background.
    pub stop: CancellationToken,
    pub small_model_candidates: Vec<Candidate>,
    /// The answers this one is another version of (a regeneration's), oldest first: its
    /// `sibling_ids` in the `done` event, before the new one.
    pub earlier_answers: Vec<Uuid>,
}

/// What a turn produced, for its final save (see [`super::saves`]).
pub(super) struct Outcome {
    pub(super) content: String,
    /// What a reasoning model thought, across tool rounds.
    pub(super) reasoning: String,
    pub(super) tool_calls: Vec<Value>,
    pub(super) usage: Usage,
    pub(super) status: &'static str,
    pub(super) error: Option<(&'static str, String)>,
    pub(super) candidate: Option<Candidate>,
    pub(super) ttft: Option<Duration>,
    pub(super) cached: bool,
    /// The turn's reservation, grown by each further round's (what the final save
    /// settles).
    pub(super) reservation: Reservation,
}

/// [`super::prepare`] a turn and [`start`] it in a task of its own, which runs to the end
/// even if the request goes away meanwhile. A request dropped between its quota
/// reservation and its save's commit (its client disconnecting at that moment) left the
/// reservation held for the rest of the month, or gave back one that the commit it did
/// not see had already handed to the answer, to be given back again by the recovery.
/// Started, a turn whose events nobody reads ends as when its client leaves. The turn's
/// events, and its stop token.
pub async fn prepare_and_start(
    state: AppState,
    ai: Arc<AiService>,
    member: Member,
    conversation_id: Uuid,
    kind: TurnKind,
    opts: Options,
) -> Result<(mpsc::Receiver<TurnEvent>, CancellationToken), ApiError> {
    let tasks = state.tasks.clone();
    let task = tasks.spawn(
        async move {
            let prepared = super::prepare(&state, &ai, member, conversation_id, kind, opts).await?;
            let stop = prepared.turn.stop.clone();
            let events = start(state, ai, prepared).await?;
            Ok((events, stop))
        }
        .in_current_span(),
    );
    task.await
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("a turn's start failed: {err}")))?
}

/// Start a prepared turn and commit its save; events arrive on the returned channel.
///
/// The turn's task calls the provider at once, while the save commits here. Nothing of
/// the answer is sent or saved until the commit has succeeded (the task waits at its
/// [`Gate`]), and the channel is only handed out after it. If the commit fails (or this
/// future is dropped before it ends, which [`prepare_and_start`] rules out), the task is aborted (which cancels the upstream
/// request), the save is rolled back and the reservation given back: the client gets the
/// error and nothing is left behind, as if the provider had never been called.
pub async fn start(
    state: AppState,
    ai: Arc<AiService>,
    prepared: Prepared,
) -> Result<mpsc::Receiver<TurnEvent>, ApiError> {
    let Prepared { turn, save } = prepared;
    let (saved, gate) = oneshot::channel();
    let (tx, rx) = mpsc::channel(256);
    let tasks = state.tasks.clone();
    let task = tasks.spawn(async move {
        let _ = tx
            .send(TurnEvent::Message(
                Box::new(turn.user_message.clone()),
                turn.answer.id,
            ))
            .await;
        run(state, ai, turn, tx, Gate::Waiting(gate)).await;
    });
    let abort_unless_saved = AbortOnDrop(Some(task.abort_handle()));
    save.commit().await?;
    let _ = saved.send(());
    abort_unless_saved.disarm();
    Ok(rx)
}

/// Whether the turn's save has committed, as the task learns it: asked before anything
/// of the answer leaves the task, and once answered, answered for good.
pub(super) enum Gate {
    Waiting(oneshot::Receiver<()>),
    Passed,
    Closed,
}

impl Gate {
    pub(super) async fn passed(&mut self) -> bool {
        if let Gate::Waiting(rx) = self {
            *self = if rx.await.is_ok() {
                Gate::Passed
            } else {
                Gate::Closed
            };
        }
        matches!(self, Gate::Passed)
    }
}

/// Aborts a task when dropped, unless disarmed: the turn's, until its save has
/// committed; the watcher of its client, with the turn.
struct AbortOnDrop(Option<AbortHandle>);

impl AbortOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Take the reservation off the answer's row, if the recovery has not: whether the
/// turn's settlement is still the one to give it back. Unsure (the database failed), no:
/// the month's counters then stay conservative rather than give back twice.
async fn claim_reservation(state: &AppState, turn: &Turn) -> bool {
    let claim = message::Entity::update_many()
        .col_expr(message::Column::ReservedTokens, Expr::value(0i64))
        .filter(message::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(message::Column::Id.eq(turn.answer.id))
        .filter(message::Column::Status.eq("streaming"))
        .into_query();
    match state
        .db
        .single_update(turn.ctx.scope(), false, &claim)
        .await
    {
        Ok(1) => true,
        // Recovered, or gone with its conversation (whose delete gives nothing back).
        Ok(_) => matches!(answer_exists(state, turn).await, Ok(false)),
        Err(_) => false,
    }
}

async fn answer_exists(state: &AppState, turn: &Turn) -> Result<bool, sea_orm::DbErr> {
    let tx = state.db.tenant(turn.ctx.scope(), false).await?;
    let found = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(message::Column::Id.eq(turn.answer.id))
        .count(&tx)
        .await?;
    tx.rollback().await?;
    Ok(found > 0)
}

/// How long the final event waits for a reader that takes nothing (everything is saved
/// and settled by then): the turn does not stay behind it for as long as it is connected.
const LAST_EVENT_WAIT: Duration = Duration::from_secs(30);

async fn last_event(tx: &mpsc::Sender<TurnEvent>, event: TurnEvent) {
    let _ = tokio::time::timeout(LAST_EVENT_WAIT, tx.send(event)).await;
}

async fn run(
    state: AppState,
    ai: Arc<AiService>,
    turn: Turn,
    tx: mpsc::Sender<TurnEvent>,
    mut gate: Gate,
) {
    let started = Instant::now();
    // Until the turn ends (or its task is aborted), a stop request can reach it.
    let running = ai.running.register(turn.answer.id, turn.stop.clone());
    let background = state.settings.ai_finish_in_background;
    // Cancelled when the server shuts down, when the client asks to stop, or when the
    // client leaves (unless answers finish in the background).
    let cancel = state.shutdown.child_token();
    let watch_client = {
        let (tx, cancel, stop) = (tx.clone(), cancel.clone(), turn.stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = tx.closed(), if !background => {}
                () = stop.cancelled() => {}
            }
            cancel.cancel();
        })
    };
    // Gone with the turn, however it ends (its task aborted before its save committed,
    // say): a watcher left behind would keep a sender, and its reader waiting, for good.
    let _watcher = AbortOnDrop(Some(watch_client.abort_handle()));
    let mut out = Outcome {
        content: String::new(),
        reasoning: String::new(),
        tool_calls: Vec::new(),
        usage: Usage::default(),
        status: "complete",
        error: None,
        candidate: None,
        ttft: None,
        cached: false,
        reservation: turn.reservation.clone(),
    };

    // A cache hit counts itself: only once the save has committed.
    if turn.cache_key.is_some() && !gate.passed().await {
        watch_client.abort();
        return;
    }
    let cached = match &turn.cache_key {
        Some(key) => match state.db.tenant(turn.ctx.scope(), true).await {
            Ok(db) => {
                let hit = crate::cache::get(&db, turn.ctx.workspace_id, key)
                    .await
                    .ok()
                    .flatten();
                let _ = db.commit().await;
                hit
            }
            Err(_) => None,
        },
        None => None,
    };
    if let Some(hit) = cached {
        out.ttft = Some(started.elapsed());
        // A cached answer still streams, word by word.
        super::generate::replay(&state, &turn, &tx, &cancel, &hit.content, &mut out).await;
        // Answered by our own cache: no provider read a prompt this time.
        out.usage = Usage {
            prompt_tokens: hit.prompt_tokens,
            completion_tokens: hit.completion_tokens,
            cached_prompt_tokens: 0,
        };
        out.cached = true;
        out.candidate = turn.candidates.first().cloned();
    } else {
        super::generate::generate(
            &state, &ai, &turn, &tx, &cancel, started, &mut gate, &mut out,
        )
        .await;
    }
    watch_client.abort();
    // The provider may have failed before the save's commit was known.
    if !gate.passed().await {
        return;
    }
    ai.checkpoints.forget(turn.ctx.workspace_id, turn.answer.id);
    // A turn this late (a database that stalled, say) may meet the recovery of answers
    // left streaming, which would give its reservation back while its own settlement
    // does too: whichever takes the row's reservation first gives it back.
    if super::recovery::may_take(
        state.settings.ai_stream_timeout_secs,
        turn.answer.created_at,
    ) && !claim_reservation(&state, &turn).await
    {
        out.reservation = out.reservation.after_recovery();
    }

    let latency = started.elapsed();
    let charged = if out.cached {
        0
    } else {
        out.usage.prompt_tokens + out.usage.completion_tokens
    };
    let saved = finish(&state, &ai, &turn, &out, latency, charged).await;
    // A title only for an answer that was saved: not for one whose conversation was
    // deleted meanwhile (the title would cost tokens for nothing).
    let titled = turn.needs_title && out.status == "complete" && saved.is_ok();
    match (&out.error, saved) {
        (None, Ok(view)) => {
            last_event(&tx, TurnEvent::Done(Box::new(view))).await;
        }
        (Some((code, message)), saved) => {
            let event = TurnEvent::Error {
                code,
                message: message.clone(),
                assistant: saved.ok().map(Box::new),
            };
            last_event(&tx, event).await;
        }
        (None, Err(err)) => {
            let (code, message) = if err.is::<AnswerGone>() {
                (
                    "not_found",
                    "The conversation was deleted while the answer was written.",
                )
            } else {
                tracing::error!(error = ?err, "could not save an assistant answer");
                ("internal_error", "The answer could not be saved.")
            };
            let event = TurnEvent::Error {
                code,
                message: message.into(),
                assistant: None,
            };
            last_event(&tx, event).await;
        }
    }
    // End the client's stream now; the title is written afterwards.
    drop(tx);
    drop(running);
    if titled {
        crate::messages::title::generate(state, ai, &turn, &out.content).await;
    }
}
