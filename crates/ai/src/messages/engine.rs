//! One assistant turn, from the first token to the saved answer. It runs as its own task
//! and reports through a channel, so the HTTP response (SSE, JSON or WebSocket) is only a
//! reader: if the client goes away the task notices, cancels the upstream request (or
//! finishes in the background when configured so) and saves what arrived.
//!
//! The provider is called while the user message's save commits (see [`start`]): a
//! durable commit is a disk flush, and waiting for it first would add its time (1 to 1.5
//! ms on PostgreSQL, more in its tail) to every answer's first token.

use nexus_kernel::db::Write;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, AppState};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::MessageView;
use super::checkpoints::Partial;
use super::saves::{AnswerGone, finish};
use super::turn::Prepared;
use crate::AiService;
use crate::entities::message;
use crate::provider::{ChatMessage, ChatRequest, StreamEvent, ToolCall, Usage};
use crate::resilience::{Candidate, OpenError};
use crate::usage::quota::{self, Budget, Reservation};
use crate::usage::tokens;

/// Checkpoint the partial answer this often while it streams (see [`super::checkpoints`]).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Model ↔ tool round trips per answer.
const MAX_TOOL_ROUNDS: usize = 5;

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
    /// Cancelled to stop the answer on the client's request (the WebSocket's `cancel`),
    /// which stops it even when answers whose client left finish in the background.
    pub stop: CancellationToken,
    pub small_model_candidates: Vec<Candidate>,
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

/// Start a prepared turn and commit its save; events arrive on the returned channel.
///
/// The turn's task calls the provider at once, while the save commits here. Nothing of
/// the answer is sent or saved until the commit has succeeded (the task waits at its
/// [`Gate`]), and the channel is only handed out after it. If the commit fails, or this
/// future is dropped before it ends, the task is aborted (which cancels the upstream
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
enum Gate {
    Waiting(oneshot::Receiver<()>),
    Passed,
    Closed,
}

impl Gate {
    async fn passed(&mut self) -> bool {
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

/// Aborts the turn's task when dropped, unless disarmed once its save has committed.
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

async fn run(
    state: AppState,
    ai: Arc<AiService>,
    turn: Turn,
    tx: mpsc::Sender<TurnEvent>,
    mut gate: Gate,
) {
    let started = Instant::now();
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
        // A cached answer still streams, word by word.
        for piece in hit.content.split_inclusive(' ') {
            let _ = tx.send(TurnEvent::Delta(piece.to_owned())).await;
        }
        out.content = hit.content;
        // Answered by our own cache: no provider read a prompt this time.
        out.usage = Usage {
            prompt_tokens: hit.prompt_tokens,
            completion_tokens: hit.completion_tokens,
            cached_prompt_tokens: 0,
        };
        out.cached = true;
        out.candidate = turn.candidates.first().cloned();
        out.ttft = Some(started.elapsed());
    } else {
        generate(
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

    let latency = started.elapsed();
    let charged = if out.cached {
        0
    } else {
        out.usage.prompt_tokens + out.usage.completion_tokens
    };
    let saved = finish(&state, &turn, &out, latency, charged).await;
    // A title only for an answer that was saved: not for one whose conversation was
    // deleted meanwhile (the title would cost tokens for nothing).
    let titled = turn.needs_title && out.status == "complete" && saved.is_ok();
    match (&out.error, saved) {
        (None, Ok(view)) => {
            let _ = tx.send(TurnEvent::Done(Box::new(view))).await;
        }
        (Some((code, message)), saved) => {
            let _ = tx
                .send(TurnEvent::Error {
                    code,
                    message: message.clone(),
                    assistant: saved.ok().map(Box::new),
                })
                .await;
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
            let _ = tx
                .send(TurnEvent::Error {
                    code,
                    message: message.into(),
                    assistant: None,
                })
                .await;
        }
    }
    // End the client's stream now; the title is written afterwards.
    drop(tx);
    if titled {
        crate::messages::title::generate(state, ai, &turn, &out.content).await;
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, in `run`, which owns each of these"
)]
async fn generate(
    state: &AppState,
    ai: &AiService,
    turn: &Turn,
    tx: &mpsc::Sender<TurnEvent>,
    cancel: &CancellationToken,
    started: Instant,
    gate: &mut Gate,
    out: &mut Outcome,
) {
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(Ord::max(state.settings.ai_stream_timeout_secs, 1));
    let mut request = turn.request.clone();
    let mut candidates = turn.candidates.clone();
    let mut last_checkpoint = Instant::now();
    // Made once, not per token: each new sleep or cancellation wait is registered (and
    // later unregistered) under a lock, and the histogram is looked up by name.
    let timed_out = tokio::time::sleep_until(deadline);
    let cancelled = cancel.cancelled();
    tokio::pin!(timed_out, cancelled);
    let between_tokens = metrics::histogram!("ai_time_between_tokens_seconds");
    for _round in 0..MAX_TOOL_ROUNDS {
        // Bounded by the stream's deadline too: a later round (after tools) may have
        // little of it left.
        let opened = tokio::select! {
            opened = ai.resilience.open(&candidates, &request, cancel) => opened,
            () = &mut timed_out => {
                out.status = "interrupted";
                out.error = Some(("ai_timeout", "The answer took too long and was stopped.".into()));
                return;
            }
        };
        // After an earlier round, what arrived (text, tool calls and results) is kept:
        // the answer is interrupted rather than failed.
        let failed = if out.candidate.is_some() {
            "interrupted"
        } else {
            "error"
        };
        let opened = match opened {
            Ok(o) => o,
            Err(OpenError::Cancelled) => {
                out.status = "interrupted";
                out.error = Some(cancel_reason(state, turn));
                return;
            }
            Err(e) => {
                out.status = failed;
                out.error = Some((
                    "ai_provider_error",
                    format!("No AI provider could answer: {e}"),
                ));
                return;
            }
        };
        out.ttft.get_or_insert(started.elapsed());
        if !gate.passed().await {
            return;
        }
        // Later rounds go to the provider that answered.
        candidates.retain(|c| {
            c.provider.id != opened.candidate.provider.id || c.model != opened.candidate.model
        });
        candidates.insert(0, opened.candidate.clone());
        out.candidate = Some(opened.candidate.clone());
        let mut stream = opened.stream;
        let mut pending: std::collections::VecDeque<StreamEvent> = opened.first.into();
        let mut round_usage = None;
        let mut round_text = String::new();
        let mut round_reasoning = String::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        let mut hit_length_limit = false;
        let mut last_token = Instant::now();
        loop {
            let event = match pending.pop_front() {
                Some(ev) => Some(Ok(ev)),
                None => tokio::select! {
                    () = &mut cancelled => {
                        out.status = "interrupted";
                        out.error = Some(cancel_reason(state, turn));
                        break;
                    }
                    () = &mut timed_out => {
                        out.status = "interrupted";
                        out.error = Some(("ai_timeout", "The answer took too long and was stopped.".into()));
                        break;
                    }
                    ev = stream.next() => ev,
                },
            };
            let token = match event {
                Some(Ok(StreamEvent::Delta(text))) => {
                    round_text.push_str(&text);
                    out.content.push_str(&text);
                    TurnEvent::Delta(text)
                }
                Some(Ok(StreamEvent::Reasoning(text))) => {
                    round_reasoning.push_str(&text);
                    out.reasoning.push_str(&text);
                    TurnEvent::Reasoning(text)
                }
                Some(Ok(StreamEvent::ToolCalls(c))) => {
                    calls = c;
                    continue;
                }
                Some(Ok(StreamEvent::Usage(u))) => {
                    round_usage = Some(u);
                    continue;
                }
                Some(Ok(StreamEvent::Finished { reason })) => {
                    hit_length_limit = reason == "length";
                    continue;
                }
                Some(Err(e)) => {
                    out.status = "interrupted";
                    out.error = Some((
                        "ai_stream_interrupted",
                        format!("The answer was cut off: {e}"),
                    ));
                    break;
                }
                None => break,
            };
            // A thought is a token like a word of the answer: timed, sent and kept alike
            // (a model may think for minutes before its first word).
            let now = Instant::now();
            between_tokens.record(now.duration_since(last_token).as_secs_f64());
            last_token = now;
            let _ = tx.send(token).await;
            checkpoint(state, ai, turn, out, &mut last_checkpoint);
        }
        drop(stream);
        let usage = round_usage.unwrap_or_else(|| Usage {
            prompt_tokens: tokens::count_messages(&request.messages),
            // Providers bill a model's reasoning as completion tokens.
            completion_tokens: tokens::count(&round_text) + tokens::count(&round_reasoning),
            cached_prompt_tokens: 0,
        });
        out.usage.prompt_tokens += usage.prompt_tokens;
        out.usage.completion_tokens += usage.completion_tokens;
        out.usage.cached_prompt_tokens += usage.cached_prompt_tokens;
        if hit_length_limit && out.error.is_none() {
            // Cut off mid-sentence (or mid tool call, which is then not run): say so, and
            // keep it out of the cache.
            out.status = "interrupted";
            out.error = Some((
                "ai_length_limit",
                "The answer reached its length limit; what was written is kept.".into(),
            ));
        }
        if out.error.is_some() || calls.is_empty() {
            return;
        }
        // The model asked for tools: run them as the member, then ask again.
        let cx = crate::tools::ToolContext {
            state,
            ctx: &turn.ctx,
            shared: turn.shared,
        };
        // What the model said before asking (Claude often explains what it will look up)
        // is part of its turn.
        request.messages.push(ChatMessage {
            role: "assistant".into(),
            content: Some(round_text).filter(|t| !t.trim().is_empty()),
            tool_calls: Some(calls.clone()),
            tool_call_id: None,
        });
        for call in calls {
            let _ = tx
                .send(TurnEvent::ToolCall {
                    id: call.id.clone(),
                    name: call.function.name.clone(),
                    arguments: call.function.arguments.clone(),
                })
                .await;
            let result = ai
                .tools
                .call(&cx, &call.function.name, &call.function.arguments)
                .await;
            let _ = tx
                .send(TurnEvent::ToolResult {
                    id: call.id.clone(),
                    name: call.function.name.clone(),
                    result: result.clone(),
                })
                .await;
            out.tool_calls.push(json!({ "id": call.id, "name": call.function.name, "arguments": call.function.arguments, "result": result }));
            request.messages.push(ChatMessage {
                role: "tool".into(),
                content: Some(result.to_string()),
                tool_calls: None,
                tool_call_id: Some(call.id),
            });
        }
        // A further round is paid for like the first: what it may cost beyond what is
        // left of the reservation is reserved before asking, or the answer stops here.
        // So concurrent answers that call tools cannot spend past the quota either.
        let spent = out.usage.prompt_tokens + out.usage.completion_tokens;
        let need = request.prompt_estimate() + u64::from(state.settings.ai_max_completion_tokens);
        let left = out.reservation.tokens.saturating_sub(spent);
        let extra = need.saturating_sub(left);
        if extra > 0
            && let Err(err) = reserve_next_round(state, turn, &mut out.reservation, extra).await
        {
            let (code, message, _) = err.code_message_details();
            out.status = "interrupted";
            out.error = Some(if code == "ai_quota_exceeded" {
                (
                    code,
                    format!("The answer stopped before asking the model again: {message}"),
                )
            } else {
                tracing::error!(error = ?err, "could not reserve a further round of an answer");
                (
                    "internal_error",
                    "The answer could not go on; what was written is kept.".into(),
                )
            });
            return;
        }
    }
}

/// Reserve `extra` more tokens for the answer's next round, and record them with the
/// answer (in the same transaction) for its recovery after a crash.
async fn reserve_next_round(
    state: &AppState,
    turn: &Turn,
    reservation: &mut Reservation,
    extra: u64,
) -> Result<(), ApiError> {
    let record = message::Entity::update_many()
        .col_expr(
            message::Column::ReservedTokens,
            Expr::col(message::Column::ReservedTokens).add(extra as i64),
        )
        .filter(message::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(message::Column::Id.eq(turn.answer.id))
        .into_query();
    quota::extend(
        &state.db,
        reservation,
        &turn.budget,
        extra,
        &[Write::Update(&record)],
    )
    .await
}

/// Offer the answer so far as its checkpoint, at most once per [`CHECKPOINT_EVERY`].
fn checkpoint(
    state: &AppState,
    ai: &AiService,
    turn: &Turn,
    out: &Outcome,
    last_checkpoint: &mut Instant,
) {
    if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
        *last_checkpoint = Instant::now();
        let partial = Partial {
            content: out.content.clone(),
            reasoning: out.reasoning.clone(),
        };
        ai.checkpoints
            .offer(&state.db, turn.ctx.workspace_id, turn.answer.id, partial);
    }
}

fn cancel_reason(state: &AppState, turn: &Turn) -> (&'static str, String) {
    if state.shutdown.is_cancelled() {
        (
            "server_shutting_down",
            "The server is restarting; what was answered so far is saved.".into(),
        )
    } else if turn.stop.is_cancelled() {
        (
            "cancelled",
            "Stopped on request; what was answered so far is saved.".into(),
        )
    } else {
        (
            "client_disconnected",
            "The client went away; what was answered so far is saved.".into(),
        )
    }
}
