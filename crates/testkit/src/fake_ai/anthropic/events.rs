//! An answer streamed as the Messages API's typed events: `message_start`, a content
//! block per part of the answer (`content_block_start`, its deltas, `content_block_stop`),
//! `message_delta` with the stop reason and usage, `message_stop`; `ping`s on request.

use super::super::{Answer, Payload, Shared, StreamGuard, hang_up, next_piece, sse_response};
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
    /// The content block being streamed: 1 after a tool call's spoken preface, else 0.
    index: u32,
    req: MessagesRequest,
    answer: Answer,
    step: Step,
    /// Byte offset in the streamed text, and pieces sent so far.
    pos: usize,
    sent: usize,
    ping_due: bool,
    guard: StreamGuard,
}

fn sse(kind: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
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
                    self.pause().await;
                    self.step = Step::BlockStart;
                    let mut message = json!({
                        "id": self.id, "type": "message", "role": "assistant",
                        "model": self.req.model, "content": [],
                        "stop_reason": null, "stop_sequence": null,
                    });
                    if self.answer.usage {
                        message["usage"] =
                            json!({"input_tokens": self.req.prompt_tokens, "output_tokens": 1});
                    }
                    let data = json!({"type": "message_start", "message": message});
                    return Some(Ok(sse("message_start", &data)));
                }
                Step::BlockStart => {
                    self.step = Step::Pieces;
                    let mut events = Vec::new();
                    let preface = self.answer.preface();
                    if !preface.is_empty() {
                        // What the model says before its call: a whole text block first.
                        events.extend([
                            sse(
                                "content_block_start",
                                &json!({"type": "content_block_start", "index": 0,
                                "content_block": {"type": "text", "text": ""}}),
                            ),
                            sse(
                                "content_block_delta",
                                &json!({"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": preface}}),
                            ),
                            sse(
                                "content_block_stop",
                                &json!({"type": "content_block_stop", "index": 0}),
                            ),
                        ]);
                        self.index = 1;
                    }
                    events.push(sse(
                        "content_block_start",
                        &json!({"type": "content_block_start",
                        "index": self.index, "content_block": content_block(&self.answer, false)}),
                    ));
                    return Some(Ok(Bytes::from(events.concat())));
                }
                Step::Pieces => {
                    let rest = &self.answer.streamed()[self.pos..];
                    if (self.answer.abort_after).is_some_and(|n| n <= self.sent || rest.is_empty())
                    {
                        // The server hangs up on purpose: not a client cancellation.
                        self.guard.finished = true;
                        self.step = Step::End;
                        hang_up().await;
                        return Some(Err(std::io::Error::other("fake AI dropped the stream")));
                    }
                    if rest.is_empty() {
                        self.step = Step::BlockStop;
                        continue;
                    }
                    if self.sent > 0 {
                        self.pause().await;
                    }
                    let len = next_piece(rest, self.answer.piece_chars());
                    let piece = &rest[..len];
                    let delta = match self.answer.payload {
                        Payload::Text(_) => json!({"type": "text_delta", "text": piece}),
                        Payload::Tool { .. } => {
                            json!({"type": "input_json_delta", "partial_json": piece})
                        }
                    };
                    self.pos += len;
                    self.sent += 1;
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

    async fn pause(&self) {
        if !self.answer.delay.is_zero() {
            tokio::time::sleep(self.answer.delay).await;
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
        pos: 0,
        sent: 0,
        ping_due: false,
        guard: StreamGuard::open(shared),
    };
    sse_response(futures::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((event, s))
    }))
}
