//! `/api/v1/ws`: one WebSocket per browser session, multiplexing the answers of many
//! conversations (and later, other live updates).
//!
//! Client → server (JSON text frames):
//! `{"type":"send","ref":"c1","workspace_id":…,"conversation_id":…,"content":"…","model"?,"escalate"?,"temperature"?}`,
//! `{"type":"cancel","conversation_id":…}`, `{"type":"ping"}`.
//! Server → client: `{"type":<event>,"ref":…,"conversation_id":…,"data":{…}}` with the
//! same events and payloads as the SSE stream (`message`, `delta`, `tool_call`,
//! `tool_result`, `done`, `error`), and `{"type":"pong"}`.

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use nexus_identity::extract::{CurrentUser, Member};
use nexus_kernel::{ApiError, ApiResult, AppState};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::AiService;
use crate::messages::engine::{self, TurnEvent};
use crate::messages::respond::event_parts;
use crate::messages::{Options, TurnKind, prepare};

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
    Ok(upgrade
        .max_message_size(256 * 1024)
        .on_upgrade(move |socket| session(socket, state, ai, me)))
}

async fn session(socket: WebSocket, state: AppState, ai: Arc<AiService>, me: CurrentUser) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Value>(512);
    // One writer: every turn's forwarder sends through it.
    let writer = tokio::spawn(async move {
        while let Some(v) = out_rx.recv().await {
            if sink
                .send(Message::Text(v.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let mut turns: HashMap<Uuid, JoinHandle<()>> = HashMap::new();
    loop {
        let frame = tokio::select! {
            () = state.shutdown.cancelled() => break,
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
            Ok(ClientFrame::Cancel { conversation_id }) => {
                // Dropping the turn's reader makes the engine stop and save what it has.
                if let Some(h) = turns.remove(&conversation_id) {
                    h.abort();
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
                turns.retain(|_, h| !h.is_finished());
                let meta = me.meta.clone();
                let result = async {
                    let member =
                        Member::for_user(&state, me.user.clone(), workspace_id, meta).await?;
                    let opts = Options {
                        model,
                        escalate,
                        temperature,
                    };
                    let prepared = prepare(
                        &state,
                        &ai,
                        member,
                        conversation_id,
                        TurnKind::Send { content },
                        opts,
                    )
                    .await?;
                    engine::start(state.clone(), ai.clone(), prepared).await
                }
                .await;
                match result {
                    Ok(rx) => {
                        let out = out_tx.clone();
                        turns.insert(
                            conversation_id,
                            tokio::spawn(forward(rx, out, reference, conversation_id)),
                        );
                    }
                    Err(err) => {
                        let status = err.status().as_u16();
                        let body = error_frame(&err);
                        let _ = out_tx.send(json!({ "type": "error", "ref": reference, "conversation_id": conversation_id, "status": status, "data": body })).await;
                    }
                }
            }
            Err(e) => {
                let _ = out_tx.send(json!({ "type": "error", "data": { "code": "bad_frame", "message": format!("Unreadable frame: {e}") } })).await;
            }
        }
    }
    for (_, h) in turns {
        h.abort();
    }
    drop(out_tx);
    let _ = writer.await;
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

fn error_frame(err: &ApiError) -> Value {
    let (code, message, details) = err.code_message_details();
    json!({ "code": code, "message": message, "details": details })
}
