//! Server-Sent Events from OpenAI-compatible providers, and the chunk format inside them.
//!
//! Tolerated quirks: `\r\n` line endings, `:` comment lines and empty `data:` keep-alives,
//! chunks without `id`, `"usage": {}` on every chunk, usage in a final chunk with no
//! choices, a stream that ends with or without `[DONE]`, tool-call arguments split over
//! many chunks.

use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

use super::think::ThinkTags;
use super::{FunctionCall, ProviderError, StreamEvent, ToolCall, Usage};

/// Splits a byte stream into SSE `data` payloads.
#[derive(Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    data: String,
}

impl SseDecoder {
    /// Feed bytes; returns the complete event payloads they finish. Lines are read in
    /// place and the buffer is trimmed once per call: this runs for every token.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(len) = self.buffer[start..].iter().position(|b| *b == b'\n') {
            let mut line = &self.buffer[start..start + len];
            start += len + 1;
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data));
                }
            } else if let Some(rest) = line.strip_prefix(b"data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                let rest = rest.strip_prefix(b" ").unwrap_or(rest);
                self.data.push_str(&String::from_utf8_lossy(rest));
            }
            // Comments (":…") and other fields (event:, id:, retry:) carry nothing we use.
        }
        self.buffer.drain(..start);
        events
    }

    /// The bytes held for events not yet complete.
    pub fn held(&self) -> usize {
        self.buffer.len() + self.data.len()
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

/// One chunk of a streamed completion: only the fields we read, the text borrowed from
/// the payload where it has no escapes (a chunk arrives for every token). What varies
/// between providers (`usage`, `error`, tool calls) stays loose JSON.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<Text<'a>>,
    /// DeepSeek, vLLM and llama.cpp name a reasoning model's thoughts so.
    #[serde(default, borrow)]
    reasoning_content: Option<Loose<'a>>,
    /// OpenRouter and Ollama name them so.
    #[serde(default, borrow)]
    reasoning: Option<Loose<'a>>,
    #[serde(default)]
    tool_calls: Option<Vec<Value>>,
}

/// A string, borrowed unless it had escapes (`Option<Cow<str>>` alone always copies).
#[derive(Deserialize)]
pub(super) struct Text<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

/// A field some servers fill with a string and others, under the same name, with
/// something else: only a string is read, and anything else must not fail the chunk.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose<'a> {
    Text(#[serde(borrow)] Text<'a>),
    Other(serde::de::IgnoredAny),
}

impl<'a> Loose<'a> {
    fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Loose::Text(Text(t)) if !t.is_empty() => Some(t),
            _ => None,
        }
    }
}

/// Turns chunk payloads into [`StreamEvent`]s.
#[derive(Default)]
pub struct ChunkParser {
    tool_calls: BTreeMap<u64, ToolCall>,
    /// Thoughts written into the text as `<think>…</think>`.
    think: ThinkTags,
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
            let mut out = Vec::new();
            self.think.finish(&mut out);
            // Some servers end with `[DONE]` and no finish reason: the tool calls gathered
            // so far are the answer's, not to be dropped.
            if !self.finished && !self.tool_calls.is_empty() {
                self.finished = true;
                let calls = std::mem::take(&mut self.tool_calls);
                super::finish_answer(calls, "tool_calls".into(), &mut out);
            }
            return Ok(out);
        }
        let chunk: Chunk = serde_json::from_str(payload)
            .map_err(|e| ProviderError::Protocol(format!("bad chunk: {e}")))?;
        if let Some(err) = chunk.error {
            let message = err["message"]
                .as_str()
                .or_else(|| err.as_str())
                .unwrap_or("error in stream")
                .to_owned();
            return Err(ProviderError::Interrupted(message));
        }
        let mut out = Vec::new();
        let first = chunk.choices.and_then(|c| c.into_iter().next());
        if let Some(choice) = first {
            let delta = choice.delta.unwrap_or_default();
            // Some servers send both names with the same text: one is enough.
            let thought = (delta.reasoning_content.and_then(Loose::text))
                .or_else(|| delta.reasoning.and_then(Loose::text));
            if let Some(text) = thought {
                out.push(StreamEvent::Reasoning(text.into_owned()));
            }
            if let Some(Text(text)) = delta.content.filter(|t| !t.0.is_empty()) {
                self.think.split(&text, &mut out);
            }
            for call in delta.tool_calls.into_iter().flatten() {
                self.add_tool_call_piece(&call);
            }
            if let Some(Text(reason)) = choice.finish_reason {
                self.finished = true;
                self.think.finish(&mut out);
                let calls = std::mem::take(&mut self.tool_calls);
                super::finish_answer(calls, reason.into_owned(), &mut out);
            }
        }
        if let Some(usage) = chunk.usage.as_ref().and_then(parse_usage) {
            out.push(StreamEvent::Usage(usage));
        }
        Ok(out)
    }

    /// A tool call arrives in pieces (its id and name first, its arguments split over
    /// many chunks), keyed by `index`. Some servers leave `index` out and send each call
    /// whole: a piece without one continues the last call, unless it brings an id of its
    /// own, which starts the next.
    fn add_tool_call_piece(&mut self, call: &Value) {
        let index = match call["index"].as_u64() {
            Some(index) => index,
            None => match self.tool_calls.last_key_value() {
                Some((&last, entry))
                    if call["id"]
                        .as_str()
                        .is_some_and(|id| !entry.id.is_empty() && id != entry.id) =>
                {
                    last + 1
                }
                Some((&last, _)) => last,
                None => 0,
            },
        };
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
}

/// `usage` when it holds numbers (some proxies send `{}` or `null` on every chunk).
pub fn parse_usage(v: &Value) -> Option<Usage> {
    let prompt = v.get("prompt_tokens")?.as_u64()?;
    let completion = v
        .get("completion_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let cached = v
        .pointer("/prompt_tokens_details/cached_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Some(Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_prompt_tokens: cached.min(prompt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
                    completion_tokens: 2,
                    cached_prompt_tokens: 0,
                }),
            ]
        );
    }

    #[test]
    fn reasoning_under_either_name_comes_before_the_answer() {
        let s = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"Let me \"}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"content\":\"\",\"reasoning\":\"think.\"}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"Same\",\"reasoning\":\"Same\"}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"reasoning\":null,\"reasoning_content\":\"\",\"content\":\"Hi\"}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"reasoning\":{\"effort\":\"low\"},\"content\":\"!\"},\"finish_reason\":\"stop\"}]}\n\n\
                 data: [DONE]\n\n";
        assert_eq!(
            run(s),
            vec![
                StreamEvent::Reasoning("Let me ".into()),
                StreamEvent::Reasoning("think.".into()),
                StreamEvent::Reasoning("Same".into()),
                StreamEvent::Delta("Hi".into()),
                StreamEvent::Delta("!".into()),
                StreamEvent::Finished {
                    reason: "stop".into()
                },
            ]
        );
    }

    #[test]
    fn prompt_tokens_read_from_the_cache_are_kept() {
        let with = json!({"prompt_tokens": 2006, "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0}});
        assert_eq!(
            parse_usage(&with),
            Some(Usage {
                prompt_tokens: 2006,
                completion_tokens: 300,
                cached_prompt_tokens: 1920,
            })
        );
        // Absent or nonsensical, it is none of them.
        let without = json!({"prompt_tokens": 5, "prompt_tokens_details": null});
        assert_eq!(
            parse_usage(&without).map(|u| u.cached_prompt_tokens),
            Some(0)
        );
        let more = json!({"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9}});
        assert_eq!(parse_usage(&more).map(|u| u.cached_prompt_tokens), Some(5));
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
    fn tool_calls_cut_off_by_the_token_limit_are_not_run() {
        let s = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"list_members\",\"arguments\":\"{\\\"lim\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n";
        assert_eq!(
            run(s),
            vec![StreamEvent::Finished {
                reason: "length".into()
            }]
        );
        let s = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"list_members\",\"arguments\":\"{}\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
        let StreamEvent::ToolCalls(calls) = &run(s)[0] else {
            panic!("tool calls")
        };
        assert!(calls[0].id.starts_with("call_"), "a missing id is made up");
    }

    #[test]
    fn whole_tool_calls_without_an_index_stay_apart() {
        // Each call whole in one piece, no `index` (as some OpenAI-compatible servers
        // send them), then a piece of the second call's arguments without an id.
        let s = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"list_members\",\"arguments\":\"{}\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"search_conversations\",\"arguments\":\"{\\\"query\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"\\\": \\\"x\\\"}\"}}]}}]}\n\n\
                 data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
        let events = run(s);
        let StreamEvent::ToolCalls(calls) = &events[0] else {
            panic!("{events:?}")
        };
        let got: Vec<_> = calls
            .iter()
            .map(|c| {
                (
                    c.id.as_str(),
                    c.function.name.as_str(),
                    c.function.arguments.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "list_members", "{}"),
                ("b", "search_conversations", "{\"query\": \"x\"}"),
            ]
        );
    }

    #[test]
    fn tool_calls_ended_by_done_without_a_finish_reason_are_kept() {
        let s = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"function\":{\"name\":\"list_members\",\"arguments\":\"{}\"}}]}}]}\n\n\
                 data: [DONE]\n\n";
        let events = run(s);
        let StreamEvent::ToolCalls(calls) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(calls[0].function.name, "list_members");
        assert_eq!(
            events[1],
            StreamEvent::Finished {
                reason: "tool_calls".into()
            }
        );
    }

    #[test]
    fn escaped_text_nulls_and_unknown_fields() {
        let s = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \\\"quote\\\"\\n\\u00e9\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n\
                 data: {\"choices\":[{\"delta\":null}],\"usage\":null}\n\n\
                 data: {\"choices\":null}\n\n\
                 data: {\"choices\":[{\"delta\":{\"content\":null},\"finish_reason\":\"length\"}]}\n\n";
        assert_eq!(
            run(s),
            vec![
                StreamEvent::Delta("a \"quote\"\n\u{e9}".into()),
                StreamEvent::Finished {
                    reason: "length".into()
                },
            ]
        );
    }

    #[test]
    fn an_error_chunk_ends_the_stream_with_its_message() {
        let mut parser = ChunkParser::default();
        for (payload, message) in [
            (r#"{"error":{"message":"overloaded"}}"#, "overloaded"),
            (r#"{"error":"rate limited"}"#, "rate limited"),
            (r#"{"error":{"code":500}}"#, "error in stream"),
        ] {
            let err = parser.parse(payload).expect_err(payload);
            assert_eq!(
                err.to_string(),
                ProviderError::Interrupted(message.into()).to_string()
            );
        }
        assert!(
            parser
                .parse(r#"{"choices":[],"error":null}"#)
                .expect("no error")
                .is_empty()
        );
        assert!(matches!(
            parser.parse("{not json"),
            Err(ProviderError::Protocol(_))
        ));
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
