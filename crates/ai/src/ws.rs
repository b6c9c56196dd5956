//! `/api/v1/ws`: one WebSocket per browser session, multiplexing the answers of many
//! conversations (and later, other live updates).
//!
//! Client → server (JSON text frames):
//! `{"type":"send","ref":"c1","workspace_id":…,"conversation_id":…,"content":"…","model"?,"escalate"?,"temperature"?}`,
//! `{"type":"cancel","conversation_id":…,"ref"?:…}`, `{"type":"ping"}`.
//! Server → client: `{"type":<event>,"ref":…,"conversation_id":…,"data":{…}}` with the
//! same events and payloads as the SSE stream (`message`, `delta`, `tool_call`,
//! `tool_result`, `done`, `error`), and `{"type":"pong"}`.
//!
//! `cancel` stops the conversation's answers (only the one sent with `ref`, if given),
//! even when answers finish in the background: each ends with an `error` event of code
//! `cancelled`, carrying what was saved. When the server shuts down, every answer on the
//! socket ends with its final event (`server_shutting_down`), then the socket closes with
//! code 1001 (going away). A `send` after the session was signed out is answered with an
//! `unauthenticated` error; the socket's answers stop, each with its final event
//! (`cancelled`), then the socket closes with code 1008.
//!
//! A `ref` is at most 64 characters (it comes back on every event of its answer). A
//! client that takes no frame for 30 seconds while some wait for it is gone: the socket
//! closes, and its answers end as when a client leaves.

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use nexus_identity::extract::{CurrentUser, Member};
use nexus_kernel::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AiService;
use crate::messages::engine::{self, TurnEvent};
use crate::messages::respond::event_parts;
use crate::messages::{MAX_CONTENT_CHARS, Options, TurnKind};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(open_websocket))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Send {
        #[serde(rename = "ref")]
        reference: Option<String>,
        workspace_id: Uuid,
        conversation_id: Uuid,
        content: String,
        model: Option<String>,
        #[serde(default)]
        escalate: bool,
        temperature: Option<f32>,
    },
    Cancel {
        conversation_id: Uuid,
        #[serde(rename = "ref")]
        reference: Option<String>,
    },
    Ping,
}

/// Open the live-updates WebSocket (browser sessions only).
#[utoipa::path(get, path = "/ws", tag = "assistant",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = nexus_kernel::error::ErrorEnvelope),
    ))]
pub async fn open_websocket(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    me: CurrentUser,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    // Cookies ride along on cross-site WebSocket handshakes: only our own pages may open one.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let origin_host = origin.split("://").nth(1).unwrap_or_default();
        if origin_host != host {
            return Err(ApiError::forbidden(
                "forbidden_origin",
                "WebSocket connections are accepted from this site only.",
            ));
        }
    }
    // Once upgraded the connection is no longer the server's to drain: the session is
    // tracked so that shutdown waits for its answers' final events.
    let tasks = state.tasks.clone();
    // Kept to check, before each answer, that the session is still signed in.
    let token = nexus_identity::session::token_from_headers(&headers).unwrap_or_default();
    Ok(upgrade
        // A message's content is up to 100,000 characters, up to four bytes each in
        // UTF-8 and twelve as JSON escapes (a surrogate pair): a message HTTP would take
        // must fit in a frame.
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| tasks.track_future(session(socket, state, ai, me, token))))
}

/// The largest frame a client may send.
const MAX_FRAME: usize = 12 * MAX_CONTENT_CHARS + 64 * 1024;
/// The longest `ref`, in characters: it is copied into every event of its answer, so a
/// long one would multiply what each word costs to queue and send.
const MAX_REF: usize = 64;
/// How long a frame may wait for the client to take it. Past that the client is gone
/// (or never reads): its frames must not pile up in memory, nor hold its answers.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a signed-out socket waits for its answers' final events before it closes
/// (a stopped answer ends once its save commits).
const SIGN_OUT_WAIT: Duration = Duration::from_secs(10);
/// The most of a frame's parse error told back (serde quotes what it could not read).
const MAX_ERROR_CHARS: usize = 200;

/// An answer streaming on the socket.
struct SocketAnswer {
    reference: Option<String>,
    stop: CancellationToken,
    forwarder: JoinHandle<()>,
}

async fn session(
    socket: WebSocket,
    state: AppState,
    ai: Arc<AiService>,
    me: CurrentUser,
    token: String,
) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Value>(512);
    // One writer: every turn's forwarder sends through it.
    let writer = tokio::spawn(async move {
        while let Some(v) = out_rx.recv().await {
            let sent = tokio::time::timeout(
                WRITE_TIMEOUT,
                sink.send(Message::Text(v.to_string().into())),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                break;
            }
        }
        sink
    });
    // By conversation: a `cancel` names one.
    let mut turns: HashMap<Uuid, Vec<SocketAnswer>> = HashMap::new();
    let mut shutting_down = false;
    let mut signed_out = false;
    loop {
        let frame = tokio::select! {
            () = state.shutdown.cancelled() => {
                shutting_down = true;
                break;
            }
            // The writer gave up (the client stopped reading): so does the socket.
            () = out_tx.closed() => break,
            f = stream.next() => f,
        };
        let Some(Ok(frame)) = frame else { break };
        let text = match frame {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let parsed: Result<ClientFrame, _> = serde_json::from_str(&text);
        match parsed {
            Ok(ClientFrame::Ping) => {
                let _ = out_tx.send(json!({ "type": "pong" })).await;
            }
            Ok(ClientFrame::Cancel {
                conversation_id,
                reference,
            }) => {
                // The answer stops and saves what it has; its forwarder goes on to send
                // that final event.
                for running in turns.get(&conversation_id).into_iter().flatten() {
                    if reference.is_none() || running.reference == reference {
                        running.stop.cancel();
                    }
                }
            }
            Ok(ClientFrame::Send {
                reference,
                workspace_id,
                conversation_id,
                content,
                model,
                escalate,
                temperature,
            }) => {
                if reference
                    .as_ref()
                    .is_some_and(|r| r.chars().count() > MAX_REF)
                {
                    let too_long = format!("A `ref` is at most {MAX_REF} characters.");
                    let _ = out_tx.send(bad_frame(&too_long)).await;
                    continue;
                }
                // A socket outlives no session: signed out (or the session revoked), it
                // closes instead of answering.
                if !matches!(
                    nexus_identity::session::resolve(&state, &token).await,
                    Ok(Some(_))
                ) {
                    let ended = ApiError::Unauthenticated {
                        message: "Your session has ended; sign in again.",
                    };
                    let _ = out_tx
                        .send(error_event(&ended, reference, conversation_id))
                        .await;
                    signed_out = true;
                    break;
                }
                for running in turns.values_mut() {
                    running.retain(|r| !r.forwarder.is_finished());
                }
                turns.retain(|_, running| !running.is_empty());
                let meta = me.meta.clone();
                let result = async {
                    let member =
                        Member::for_user(&state, me.user.clone(), workspace_id, meta).await?;
                    let opts = Options {
                        model,
                        escalate,
                        temperature,
                    };
                    engine::prepare_and_start(
                        state.clone(),
                        ai.clone(),
                        member,
                        conversation_id,
                        TurnKind::Send {
                            content,
                            attachments: Vec::new(),
                        },
                        opts,
                    )
                    .await
                }
                .await;
                match result {
                    Ok((rx, stop)) => {
                        let out = out_tx.clone();
                        let forwarder =
                            tokio::spawn(forward(rx, out, reference.clone(), conversation_id));
                        turns
                            .entry(conversation_id)
                            .or_default()
                            .push(SocketAnswer {
                                reference,
                                stop,
                                forwarder,
                            });
                    }
                    Err(err) => {
                        let _ = out_tx
                            .send(error_event(&err, reference, conversation_id))
                            .await;
                    }
                }
            }
            Err(e) => {
                let said: String = e.to_string().chars().take(MAX_ERROR_CHARS).collect();
                let _ = out_tx
                    .send(bad_frame(&format!("Unreadable frame: {said}")))
                    .await;
            }
        }
    }
    let running = turns.into_values().flatten();
    if shutting_down {
        // Each answer is ending on its own (the shutdown cancels it) and sends its final
        // event; the server's drain deadline bounds the wait.
        for r in running {
            let _ = r.forwarder.await;
        }
    } else if signed_out {
        // The session ended: so do its answers, each with its final event (`cancelled`,
        // with what was saved) before the socket closes.
        let running: Vec<SocketAnswer> = running.collect();
        for r in &running {
            r.stop.cancel();
        }
        let ended = futures::future::join_all(running.into_iter().map(|r| r.forwarder));
        let _ = tokio::time::timeout(SIGN_OUT_WAIT, ended).await;
    } else {
        // The client left: dropping the readers stops the answers (unless they finish in
        // the background).
        for r in running {
            r.forwarder.abort();
        }
    }
    drop(out_tx);
    let close = if shutting_down {
        Some(CloseFrame {
            code: close_code::AWAY,
            reason: "The server is restarting.".into(),
        })
    } else if signed_out {
        Some(CloseFrame {
            code: close_code::POLICY,
            reason: "The session has ended.".into(),
        })
    } else {
        None
    };
    if let Ok(mut sink) = writer.await
        && let Some(close) = close
    {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Close(Some(close)))).await;
    }
}

/// The `error` event for a frame that is not one the socket takes.
fn bad_frame(message: &str) -> Value {
    json!({ "type": "error", "data": { "code": "bad_frame", "message": message } })
}

async fn forward(
    mut rx: mpsc::Receiver<TurnEvent>,
    out: mpsc::Sender<Value>,
    reference: Option<String>,
    conversation_id: Uuid,
) {
    while let Some(ev) = rx.recv().await {
        let (name, data) = event_parts(&ev);
        if out.send(json!({ "type": name, "ref": reference, "conversation_id": conversation_id, "data": data })).await.is_err() {
            break;
        }
    }
}

/// The `error` event for a `send` refused before its answer started.
fn error_event(err: &ApiError, reference: Option<String>, conversation_id: Uuid) -> Value {
    let (code, message, details) = err.code_message_details();
    json!({
        "type": "error",
        "ref": reference,
        "conversation_id": conversation_id,
        "status": err.status().as_u16(),
        "data": { "code": code, "message": message, "details": details },
    })
}
