//! An answer streamed as the Messages API's typed events: `message_start`, a content
//! block per part of the answer (`content_block_start`, its deltas, `content_block_stop`),
//! `message_delta` with the stop reason and usage, `message_stop`; `ping`s on request.

use super::super::{Answer, Payload, Piece, Progress, Shared, StreamGuard, sse_response};
use super::request::MessagesRequest;
use super::{content_block, stop_reason};
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Clone, Copy)]
enum Step {
    Start,
    BlockStart,
    Pieces,
    BlockStop,
    MessageDelta,
    MessageStop,
    End,
}

struct EventStream {
    id: String,
    /// The content block being streamed: after the thinking block and a tool call's
    /// spoken preface, when the answer has them.
    index: u32,
    req: MessagesRequest,
    answer: Answer,
    step: Step,
    progress: Progress,
    ping_due: bool,
    guard: StreamGuard,
}

fn sse(kind: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

/// A content block streamed whole: its start, its deltas, its stop.
fn whole_block(index: u32, block: Value, deltas: &[Value]) -> Vec<Bytes> {
    let start = json!({"type": "content_block_start", "index": index, "content_block": block});
    let mut events = vec![sse("content_block_start", &start)];
    for delta in deltas {
        let data = json!({"type": "content_block_delta", "index": index, "delta": delta});
        events.push(sse("content_block_delta", &data));
    }
    let stop = json!({"type": "content_block_stop", "index": index});
    events.push(sse("content_block_stop", &stop));
    events
}

impl EventStream {
    async fn next_event(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        // `keep_alive_comments` becomes Anthropic's own keep-alive, a `ping` event.
        if std::mem::take(&mut self.ping_due) && !matches!(self.step, Step::End) {
            return Some(Ok(sse("ping", &json!({"type": "ping"}))));
        }
        self.ping_due = self.answer.quirks.keep_alive_comments;
        loop {
            match self.step {
                Step::Start => {
                    self.answer.pause().await;
                    self.step = Step::BlockStart;
                    let mut message = json!({
                        "id": self.id, "type": "message", "role": "assistant",
                        "model": self.req.model, "content": [],
                        "stop_reason": null, "stop_sequence": null,
                    });
                    if self.answer.usage {
                        message["usage"] = super::usage(&self.req, 1);
                    }
                    let data = json!({"type": "message_start", "message": message});
                    return Some(Ok(sse("message_start", &data)));
                }
                Step::BlockStart => {
                    self.step = Step::Pieces;
                    let mut events = Vec::new();
                    // The model's thinking, then what it says before its call: each a
                    // whole block before the answer's own.
                    let thinking = &self.answer.reasoning;
                    if !thinking.is_empty() {
                        events.extend(whole_block(
                            self.index,
                            json!({"type": "thinking", "thinking": ""}),
                            &[
                                json!({"type": "thinking_delta", "thinking": thinking}),
                                json!({"type": "signature_delta", "signature": "fake-signature"}),
                            ],
                        ));
                        self.index += 1;
                    }
                    let preface = self.answer.preface();
                    if !preface.is_empty() {
                        events.extend(whole_block(
                            self.index,
                            json!({"type": "text", "text": ""}),
                            &[json!({"type": "text_delta", "text": preface})],
                        ));
                        self.index += 1;
                    }
                    events.push(sse(
                        "content_block_start",
                        &json!({"type": "content_block_start",
                        "index": self.index, "content_block": content_block(&self.answer, false)}),
                    ));
                    return Some(Ok(Bytes::from(events.concat())));
                }
                Step::Pieces => {
                    let piece = match self.answer.next_streamed_piece(&mut self.progress).await {
                        Piece::Next(piece) => piece,
                        Piece::Done => {
                            self.step = Step::BlockStop;
                            continue;
                        }
                        Piece::HangUp => {
                            // On purpose: not a client cancellation.
                            self.guard.finished = true;
                            self.step = Step::End;
                            return Some(Err(std::io::Error::other("fake AI dropped the stream")));
                        }
                    };
                    let delta = match self.answer.payload {
                        Payload::Text(_) => json!({"type": "text_delta", "text": piece}),
                        Payload::Tool { .. } => {
                            json!({"type": "input_json_delta", "partial_json": piece})
                        }
                    };
                    let data =
                        json!({"type": "content_block_delta", "index": self.index, "delta": delta});
                    return Some(Ok(sse("content_block_delta", &data)));
                }
                Step::BlockStop => {
                    self.step = Step::MessageDelta;
                    let data = json!({"type": "content_block_stop", "index": self.index});
                    return Some(Ok(sse("content_block_stop", &data)));
                }
                Step::MessageDelta => {
                    self.step = Step::MessageStop;
                    let mut data = json!({"type": "message_delta",
                        "delta": {"stop_reason": stop_reason(&self.answer), "stop_sequence": null}});
                    if self.answer.usage {
                        data["usage"] = json!({"output_tokens": self.answer.completion_tokens()});
                    }
                    return Some(Ok(sse("message_delta", &data)));
                }
                Step::MessageStop => {
                    self.step = Step::End;
                    self.guard.finished = true;
                    return Some(Ok(sse("message_stop", &json!({"type": "message_stop"}))));
                }
                Step::End => return None,
            }
        }
    }
}

pub(super) fn stream(
    shared: Arc<Shared>,
    id: String,
    req: MessagesRequest,
    answer: Answer,
) -> Response {
    let state = EventStream {
        id,
        index: 0,
        req,
        answer,
        step: Step::Start,
        progress: Progress::default(),
        ping_due: false,
        guard: StreamGuard::open(shared),
    };
    sse_response(futures::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((event, s))
    }))
}
