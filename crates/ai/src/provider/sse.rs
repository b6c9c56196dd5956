//! Server-Sent Events from OpenAI-compatible providers, and the chunk format inside them.
//!
//! Tolerated quirks: `\r\n` line endings, `:` comment lines and empty `data:` keep-alives,
//! chunks without `id`, `"usage": {}` on every chunk, usage in a final chunk with no
//! choices, a stream that ends with or without `[DONE]`, tool-call arguments split over
//! many chunks.

use serde_json::Value;
use std::collections::BTreeMap;

use super::{FunctionCall, ProviderError, StreamEvent, ToolCall, Usage};

/// Splits a byte stream into SSE `data` payloads.
#[derive(Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    data: String,
}

impl SseDecoder {
    /// Feed bytes; returns the complete event payloads they finish.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(pos) = self.buffer.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data));
                }
            } else if let Some(rest) = line.strip_prefix("data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            }
            // Comments (":…") and other fields (event:, id:, retry:) carry nothing we use.
        }
        events
    }

    /// What is left when the connection closes (a last event without its blank line).
    pub fn finish(&mut self) -> Option<String> {
        let rest = String::from_utf8_lossy(&self.buffer).trim().to_owned();
        self.buffer.clear();
        if let Some(data) = rest.strip_prefix("data:") {
            self.data.push_str(data.trim_start());
        }
        (!self.data.is_empty()).then(|| std::mem::take(&mut self.data))
    }
}

/// Turns chunk payloads into [`StreamEvent`]s.
#[derive(Default)]
pub struct ChunkParser {
    tool_calls: BTreeMap<u64, ToolCall>,
    pub finished: bool,
    pub done: bool,
}

impl ChunkParser {
    pub fn parse(&mut self, payload: &str) -> Result<Vec<StreamEvent>, ProviderError> {
        let payload = payload.trim();
        if payload.is_empty() {
            return Ok(Vec::new());
        }
        if payload == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let chunk: Value = serde_json::from_str(payload)
            .map_err(|e| ProviderError::Protocol(format!("bad chunk: {e}")))?;
        if let Some(err) = chunk.get("error") {
            let message = err["message"]
                .as_str()
                .unwrap_or("error in stream")
                .to_owned();
            return Err(ProviderError::Interrupted(message));
        }
        let mut out = Vec::new();
        if let Some(choice) = chunk["choices"].as_array().and_then(|c| c.first()) {
            let delta = &choice["delta"];
            if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
                out.push(StreamEvent::Delta(text.to_owned()));
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().unwrap_or(0);
                let entry = self.tool_calls.entry(index).or_insert_with(|| ToolCall {
                    id: String::new(),
                    kind: "function".into(),
                    function: FunctionCall {
                        name: String::new(),
                        arguments: String::new(),
                    },
                });
                if let Some(id) = call["id"].as_str() {
                    entry.id = id.to_owned();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    entry.function.name.push_str(name);
                }
                if let Some(args) = call["function"]["arguments"].as_str() {
                    entry.function.arguments.push_str(args);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                self.finished = true;
                if !self.tool_calls.is_empty() {
                    let mut calls: Vec<ToolCall> =
                        std::mem::take(&mut self.tool_calls).into_values().collect();
                    for (i, c) in calls.iter_mut().enumerate() {
                        if c.id.is_empty() {
                            c.id = format!("call_{i}");
                        }
                    }
                    out.push(StreamEvent::ToolCalls(calls));
                }
                out.push(StreamEvent::Finished {
                    reason: reason.to_owned(),
                });
            }
        }
        if let Some(usage) = parse_usage(&chunk["usage"]) {
            out.push(StreamEvent::Usage(usage));
        }
        Ok(out)
    }
}

/// `usage` when it holds numbers (some proxies send `{}` or `null` on every chunk).
pub fn parse_usage(v: &Value) -> Option<Usage> {
    let prompt = v.get("prompt_tokens")?.as_u64()?;
    let completion = v
        .get("completion_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<StreamEvent> {
        let mut dec = SseDecoder::default();
        let mut parser = ChunkParser::default();
        let mut out = Vec::new();
        // Feed in awkward pieces to exercise buffering.
        for piece in input.as_bytes().chunks(7) {
            for ev in dec.feed(piece) {
                out.extend(parser.parse(&ev).expect("parse"));
            }
        }
        if let Some(ev) = dec.finish() {
            out.extend(parser.parse(&ev).expect("parse"));
        }
        out
    }

    #[test]
    fn deltas_usage_and_done() {
        let s = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
                 : keep-alive\n\n\
                 data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}],\"usage\":{}}\r\n\r\n\
                 data:\n\n\
                 data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
                 data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n\
                 data: [DONE]\n\n";
        assert_eq!(
            run(s),
            vec![
                StreamEvent::Delta("Hel".into()),
                StreamEvent::Delta("lo".into()),
                StreamEvent::Finished {
                    reason: "stop".into()
                },
                StreamEvent::Usage(Usage {
                    prompt_tokens: 5,
                    completion_tokens: 2
                }),
            ]
        );
    }

    #[test]
    fn tool_call_arguments_are_reassembled() {
        let s = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"list_members\",\"arguments\":\"\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"lim\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"it\\\": 3}\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
        let events = run(s);
        let StreamEvent::ToolCalls(calls) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(calls[0].id, "call_1");
        assert_eq!(calls[0].function.name, "list_members");
        assert_eq!(
            serde_json::from_str::<Value>(&calls[0].function.arguments).expect("json"),
            serde_json::json!({"limit": 3})
        );
    }

    #[test]
    fn a_last_event_without_blank_line_is_kept() {
        let events =
            run("data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}");
        assert_eq!(
            events,
            vec![
                StreamEvent::Delta("x".into()),
                StreamEvent::Finished {
                    reason: "stop".into()
                }
            ]
        );
    }
}
