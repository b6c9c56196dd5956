//! A turn's events as the HTTP answer: Server-Sent Events when the client asks for
//! `text/event-stream`, else one JSON answer when the turn ends.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, ready};
use nexus_kernel::ApiError;
use serde::{Serialize, Serializer as _};
use serde_json::json;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
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
        TurnEvent::Reasoning(text) => ("reasoning", json!({ "text": text })),
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
        let mut keep_alive = tokio::time::interval_at(
            tokio::time::Instant::now() + KEEP_ALIVE_EVERY,
            KEEP_ALIVE_EVERY,
        );
        // One comment after a busy stretch, not one per period it spanned.
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let events = SseEvents { rx, keep_alive };
        return (
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
                // Proxies (nginx) must not buffer the stream.
                (HeaderName::from_static("x-accel-buffering"), "no"),
            ],
            Body::from_stream(events),
        )
            .into_response();
    }
    collect(rx).await
}

/// A comment line this often keeps proxies from closing a quiet stream (a model that
/// thinks, a slow tool).
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

/// A turn's events as SSE frames. Written by hand rather than with axum's `Sse`: that
/// one re-arms its keep-alive timer on every event, under the timer's lock, and builds
/// each event twice (a JSON value, then the frame); a token is one small frame here, and
/// the keep-alive ticks on its own.
struct SseEvents {
    rx: mpsc::Receiver<TurnEvent>,
    keep_alive: tokio::time::Interval,
}

impl Stream for SseEvents {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(ev)) => Poll::Ready(Some(Ok(sse_frame(&ev)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.keep_alive.poll_tick(cx));
                Poll::Ready(Some(Ok(Bytes::from_static(b":\n\n"))))
            }
        }
    }
}

/// One event as an SSE frame. JSON has no raw line breaks, so it fits one `data:` line.
fn sse_frame(ev: &TurnEvent) -> Bytes {
    // A frame for every token: written directly, without building a JSON value first.
    let (head, text): (&[u8], _) = match ev {
        TurnEvent::Delta(text) => (b"event: delta\ndata: {\"text\":", text),
        TurnEvent::Reasoning(text) => (b"event: reasoning\ndata: {\"text\":", text),
        _ => {
            let (name, data) = event_parts(ev);
            return Bytes::from(format!("event: {name}\ndata: {data}\n\n"));
        }
    };
    let mut frame = Vec::with_capacity(text.len() + head.len() + 4);
    frame.extend_from_slice(head);
    write_json_string(&mut frame, text);
    frame.extend_from_slice(b"}\n\n");
    Bytes::from(frame)
}

/// `text` as a JSON string literal, quotes and escapes included.
fn write_json_string(frame: &mut Vec<u8>, text: &str) {
    let mut ser = serde_json::Serializer::new(frame);
    // A `Vec` takes every write, and a `str` is always valid JSON: this cannot fail.
    let _ = ser.serialize_str(text);
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
                // An answer cut short with what arrived kept (a length limit, a stream
                // that broke, a quota spent by its tool rounds) is an answer: its status
                // and `error` say how it ended. So are thoughts the length limit cut
                // before the answer began: all the model wrote (a stop, a timeout or a
                // shutdown while it thought is said as such).
                let thought_to_the_limit = code == "ai_length_limit"
                    && assistant
                        .as_ref()
                        .and_then(|a| a.reasoning.as_ref())
                        .is_some_and(|r| !r.is_empty());
                if let (Some(user_message), Some(assistant)) = (&user, &assistant)
                    && assistant.status == "interrupted"
                    && (!assistant.content.is_empty()
                        || assistant.tool_calls.is_some()
                        || thought_to_the_limit)
                {
                    return (
                        StatusCode::CREATED,
                        axum::Json(TurnResult {
                            user_message: user_message.clone(),
                            assistant_message: (**assistant).clone(),
                        }),
                    )
                        .into_response();
                }
                return ApiError::Failed {
                    status: failure_status(code),
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

/// The status of a turn that ended without an answer, awaited as one JSON document.
fn failure_status(code: &str) -> StatusCode {
    match code {
        "ai_timeout" => StatusCode::GATEWAY_TIMEOUT,
        "server_shutting_down" => StatusCode::SERVICE_UNAVAILABLE,
        "ai_quota_exceeded" => StatusCode::TOO_MANY_REQUESTS,
        "not_found" => StatusCode::NOT_FOUND,
        "internal_error" => StatusCode::INTERNAL_SERVER_ERROR,
        // Stopped on request (from another tab, say) before a word: not the provider's
        // failure, nor ours.
        "cancelled" => StatusCode::CONFLICT,
        // The provider failed or broke off (`ai_provider_error`, `ai_stream_interrupted`).
        _ => StatusCode::BAD_GATEWAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_is_one_data_line_of_json() {
        let frame = sse_frame(&TurnEvent::Delta(
            "line one\nsaid \"hi\" \u{e9}\u{1}".into(),
        ));
        let frame = std::str::from_utf8(&frame).expect("utf-8");
        let data = frame
            .strip_prefix("event: delta\ndata: ")
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .expect(frame);
        assert!(!data.contains('\n'));
        let parsed: serde_json::Value = serde_json::from_str(data).expect("json");
        assert_eq!(
            parsed,
            json!({ "text": "line one\nsaid \"hi\" \u{e9}\u{1}" })
        );
    }

    #[test]
    fn a_reasoning_frame_matches_its_event_parts() {
        let ev = TurnEvent::Reasoning("think \"twice\"\n".into());
        let (name, data) = event_parts(&ev);
        assert_eq!(
            &sse_frame(&ev)[..],
            format!("event: {name}\ndata: {data}\n\n").as_bytes()
        );
    }

    #[test]
    fn other_events_carry_their_name_and_payload() {
        let ev = TurnEvent::Error {
            code: "ai_timeout",
            message: "too long\nreally".into(),
            assistant: None,
        };
        let frame = sse_frame(&ev);
        let (name, data) = event_parts(&ev);
        assert_eq!(
            &frame[..],
            format!("event: {name}\ndata: {data}\n\n").as_bytes()
        );
        assert!(!data.to_string().contains('\n'));
    }
}
