//! A turn's events as the HTTP answer: Server-Sent Events when the client asks for
//! `text/event-stream`, else one JSON answer when the turn ends.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use nexus_kernel::ApiError;
use serde::Serialize;
use serde_json::json;
use std::convert::Infallible;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;

use super::MessageView;
use super::engine::TurnEvent;

#[derive(Debug, Serialize, ToSchema)]
pub struct TurnResult {
    pub user_message: MessageView,
    pub assistant_message: MessageView,
}

pub fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// The SSE name and JSON payload of an event (shared with the WebSocket).
pub fn event_parts(ev: &TurnEvent) -> (&'static str, serde_json::Value) {
    match ev {
        TurnEvent::Message(m, assistant_id) => {
            let mut data = json!(m);
            data["assistant_message_id"] = json!(assistant_id);
            ("message", data)
        }
        TurnEvent::Delta(text) => ("delta", json!({ "text": text })),
        TurnEvent::ToolCall {
            id,
            name,
            arguments,
        } => (
            "tool_call",
            json!({ "id": id, "name": name, "arguments": arguments }),
        ),
        TurnEvent::ToolResult { id, name, result } => (
            "tool_result",
            json!({ "id": id, "name": name, "result": result }),
        ),
        TurnEvent::Done(m) => ("done", json!(m)),
        TurnEvent::Error {
            code,
            message,
            assistant,
        } => (
            "error",
            json!({ "code": code, "message": message, "assistant_message": assistant }),
        ),
    }
}

pub async fn respond(headers: &HeaderMap, rx: mpsc::Receiver<TurnEvent>) -> Response {
    if wants_stream(headers) {
        let stream = ReceiverStream::new(rx).map(|ev| {
            let (name, data) = event_parts(&ev);
            Ok::<_, Infallible>(Event::default().event(name).data(data.to_string()))
        });
        let mut response = Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response();
        // Proxies (nginx) must not buffer the stream.
        response.headers_mut().insert(
            "x-accel-buffering",
            axum::http::HeaderValue::from_static("no"),
        );
        return response;
    }
    collect(rx).await
}

async fn collect(mut rx: mpsc::Receiver<TurnEvent>) -> Response {
    let mut user = None;
    while let Some(ev) = rx.recv().await {
        match ev {
            TurnEvent::Message(m, _) => user = Some(*m),
            TurnEvent::Done(assistant) => {
                if let Some(user_message) = user {
                    return (
                        StatusCode::CREATED,
                        axum::Json(TurnResult {
                            user_message,
                            assistant_message: *assistant,
                        }),
                    )
                        .into_response();
                }
            }
            TurnEvent::Error {
                code,
                message,
                assistant,
            } => {
                return ApiError::Upstream {
                    code,
                    message,
                    details: json!({ "user_message": user, "assistant_message": assistant }),
                }
                .into_response();
            }
            _ => {}
        }
    }
    ApiError::Internal(anyhow::anyhow!("the turn ended without a result")).into_response()
}
