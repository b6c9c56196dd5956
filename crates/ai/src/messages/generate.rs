//! Asking the model for one turn's answer: the rounds (each opened through the
//! resilience layer, streamed token by token to the turn's reader, checkpointed as it
//! goes), and between rounds the tools the model calls, each further round reserved
//! against the quota before it is asked.

use nexus_kernel::AppState;
use nexus_kernel::db::Write;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};
use serde_json::json;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::checkpoints::Partial;
use super::engine::{Gate, Outcome, Turn, TurnEvent};
use crate::AiService;
use crate::entities::message;
use crate::provider::{ChatMessage, StreamEvent, ToolCall, Usage};
use crate::resilience::OpenError;
use crate::usage::quota::{self, Reservation};
use crate::usage::tokens;
use nexus_kernel::ApiError;

/// Checkpoint the partial answer this often while it streams (see [`super::checkpoints`]).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Model ↔ tool round trips per answer.
const MAX_TOOL_ROUNDS: usize = 5;

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, in `run`, which owns each of these"
)]
pub(super) async fn generate(
    state: &AppState,
    ai: &AiService,
    turn: &Turn,
    tx: &mpsc::Sender<TurnEvent>,
    cancel: &CancellationToken,
    started: Instant,
    gate: &mut Gate,
    out: &mut Outcome,
) {
    let deadline = stream_deadline(state);
    let mut request = turn.request.clone();
    let mut candidates = turn.candidates.clone();
    let mut last_checkpoint = Instant::now();
    // Made once, not per token: each new sleep or cancellation wait is registered (and
    // later unregistered) under a lock, and the histogram is looked up by name.
    let timed_out = tokio::time::sleep_until(deadline);
    let cancelled = cancel.cancelled();
    tokio::pin!(timed_out, cancelled);
    let between_tokens = metrics::histogram!("ai_time_between_tokens_seconds");
    for round in 1..=MAX_TOOL_ROUNDS {
        // After an earlier round, what arrived (text, tool calls and results) is kept:
        // the answer is interrupted rather than failed.
        let failed = if out.candidate.is_some() {
            "interrupted"
        } else {
            "error"
        };
        // Bounded by the stream's deadline too: a later round (after tools) may have
        // little of it left.
        let opened = tokio::select! {
            opened = ai.resilience.open(&candidates, &request, cancel) => opened,
            () = &mut timed_out => {
                out.status = failed;
                out.error = Some(too_long());
                return;
            }
        };
        let opened = match opened {
            Ok(o) => o,
            Err(OpenError::Cancelled) => {
                interrupt(out, cancel_reason(state, turn));
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
        if out.ttft.is_none() {
            // As the member waits for it: retries and failover included.
            let ttft = started.elapsed();
            out.ttft = Some(ttft);
            metrics::histogram!("ai_time_to_first_token_seconds", "model" => opened.candidate.model.clone())
                .record(ttft.as_secs_f64());
        }
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
                    why = stopped(cancelled.as_mut(), timed_out.as_mut(), state, turn) => {
                        interrupt(out, why);
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
                    interrupt(
                        out,
                        (
                            "ai_stream_interrupted",
                            format!("The answer was cut off: {e}"),
                        ),
                    );
                    break;
                }
                None => break,
            };
            // A thought is a token like a word of the answer: timed, sent and kept alike
            // (a model may think for minutes before its first word).
            let now = Instant::now();
            between_tokens.record(now.duration_since(last_token).as_secs_f64());
            last_token = now;
            match tx.try_send(token) {
                // A reader gone is noticed by the watcher (which cancels, or not).
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                // The reader is behind (a slow client): wait for room, but not past a stop
                // or the deadline.
                Err(TrySendError::Full(token)) => tokio::select! {
                    sent = tx.send(token) => drop(sent),
                    why = stopped(cancelled.as_mut(), timed_out.as_mut(), state, turn) => {
                        interrupt(out, why);
                        break;
                    }
                },
            }
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
            interrupt(
                out,
                (
                    "ai_length_limit",
                    "The answer reached its length limit; what was written is kept.".into(),
                ),
            );
        }
        if out.error.is_some() || calls.is_empty() {
            return;
        }
        if round == MAX_TOOL_ROUNDS {
            // No round is left to give the results to the model: the tools are not run
            // for nothing, and the answer does not pass for complete.
            interrupt(
                out,
                (
                    "ai_tool_rounds",
                    format!(
                        "The model asked for tools {MAX_TOOL_ROUNDS} times in a row; the answer stopped there, and what was written is kept."
                    ),
                ),
            );
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
            images: Vec::new(),
        });
        for call in calls {
            let asked = TurnEvent::ToolCall {
                id: call.id.clone(),
                name: call.function.name.clone(),
                arguments: call.function.arguments.clone(),
            };
            let ran = match send_or_stop(
                tx,
                asked,
                cancelled.as_mut(),
                timed_out.as_mut(),
                state,
                turn,
            )
            .await
            {
                Ok(()) => {
                    ai.tools
                        .call(&cx, &call.function.name, &call.function.arguments)
                        .await
                }
                Err(why) => {
                    interrupt(out, why);
                    return;
                }
            };
            let result = TurnEvent::ToolResult {
                id: call.id.clone(),
                name: call.function.name.clone(),
                result: ran.clone(),
            };
            let sent = send_or_stop(
                tx,
                result,
                cancelled.as_mut(),
                timed_out.as_mut(),
                state,
                turn,
            )
            .await;
            out.tool_calls.push(json!({ "id": call.id, "name": call.function.name, "arguments": call.function.arguments, "result": ran }));
            if let Err(why) = sent {
                interrupt(out, why);
                return;
            }
            request.messages.push(ChatMessage {
                role: "tool".into(),
                content: Some(ran.to_string()),
                tool_calls: None,
                tool_call_id: Some(call.id),
                images: Vec::new(),
            });
        }
        // A further round is paid for like the first: what it may cost beyond what is
        // left of the reservation is reserved before asking, or the answer stops here.
        // So concurrent answers that call tools cannot spend past the quota either.
        let spent = out.usage.prompt_tokens + out.usage.completion_tokens;
        let need = request.cost_bound();
        let left = out.reservation.tokens.saturating_sub(spent);
        let extra = need.saturating_sub(left);
        if extra > 0
            && let Err(err) = reserve_next_round(state, turn, &mut out.reservation, extra).await
        {
            let (code, message, _) = err.code_message_details();
            interrupt(
                out,
                if code == "ai_quota_exceeded" {
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
                },
            );
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

/// A cached answer, streamed word by word like a model's, and bounded like one: a stop
/// or the stream's deadline ends it where it got to (a reader that takes nothing would
/// otherwise hold the turn, and its reservation, for as long as it stays connected).
pub(super) async fn replay(
    state: &AppState,
    turn: &Turn,
    tx: &mpsc::Sender<TurnEvent>,
    cancel: &CancellationToken,
    content: &str,
    out: &mut Outcome,
) {
    let timed_out = tokio::time::sleep_until(stream_deadline(state));
    let cancelled = cancel.cancelled();
    tokio::pin!(timed_out, cancelled);
    for piece in content.split_inclusive(' ') {
        let word = TurnEvent::Delta(piece.to_owned());
        if let Err(why) = send_or_stop(
            tx,
            word,
            cancelled.as_mut(),
            timed_out.as_mut(),
            state,
            turn,
        )
        .await
        {
            interrupt(out, why);
            return;
        }
        out.content.push_str(piece);
    }
}

/// When the turn's stream must have ended, from now.
fn stream_deadline(state: &AppState) -> tokio::time::Instant {
    tokio::time::Instant::now()
        + Duration::from_secs(Ord::max(state.settings.ai_stream_timeout_secs, 1))
}

/// Give the reader `event`, waiting for room, but not past a stop or the deadline: why
/// not, if one came first. A reader gone is no reason (the watcher cancels, or not).
async fn send_or_stop(
    tx: &mpsc::Sender<TurnEvent>,
    event: TurnEvent,
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
    timed_out: Pin<&mut Sleep>,
    state: &AppState,
    turn: &Turn,
) -> Result<(), (&'static str, String)> {
    tokio::select! {
        // A stop already due comes first, even while the reader has room.
        biased;
        why = stopped(cancelled, timed_out, state, turn) => Err(why),
        sent = tx.send(event) => {
            drop(sent);
            Ok(())
        }
    }
}

/// Resolves when the answer must stop early (the server stops, the client leaves or asks
/// to stop, the stream's deadline passes), with why.
async fn stopped(
    cancelled: Pin<&mut WaitForCancellationFuture<'_>>,
    timed_out: Pin<&mut Sleep>,
    state: &AppState,
    turn: &Turn,
) -> (&'static str, String) {
    tokio::select! {
        () = cancelled => cancel_reason(state, turn),
        () = timed_out => too_long(),
    }
}

/// End the answer early, keeping what arrived.
fn interrupt(out: &mut Outcome, error: (&'static str, String)) {
    out.status = "interrupted";
    out.error = Some(error);
}

fn too_long() -> (&'static str, String) {
    (
        "ai_timeout",
        "The answer took too long and was stopped.".into(),
    )
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
