//! Anthropic's Messages API: our request translated into it, and its stream's events
//! translated back into [`StreamEvent`]s, so that the rest of the AI layer never knows
//! which protocol answered.
//!
//! What differs from Chat Completions: the system prompt is a top-level field, not a
//! message; `max_tokens` is required; a tool call is a `tool_use` content block of the
//! assistant and its result a `tool_result` block of the next user message; the stream is
//! typed events (`message_start`, `content_block_start|delta|stop`, `message_delta`,
//! `message_stop`, `ping`, `error`), with the prompt's tokens at the start and the
//! answer's at the end.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::sse::Text;
use super::{ChatRequest, FunctionCall, ProviderError, StreamEvent, ToolCall, Usage};

/// The API version we speak: the one with the stream events above.
pub const VERSION: &str = "2023-06-01";
/// Anthropic requires a completion budget; ours always sets one, this is the backstop.
const DEFAULT_MAX_TOKENS: u32 = 4096;

pub fn authorise(
    rb: reqwest::RequestBuilder,
    api_key: Option<&SecretString>,
) -> reqwest::RequestBuilder {
    let rb = rb.header("anthropic-version", VERSION);
    // Marked sensitive, as `bearer_auth` marks OpenAI's: kept out of debug output.
    match api_key.map(|k| reqwest::header::HeaderValue::from_str(k.expose_secret())) {
        Some(Ok(mut key)) => {
            key.set_sensitive(true);
            rb.header("x-api-key", key)
        }
        // A key that is not a valid header is refused by the provider as missing.
        Some(Err(_)) | None => rb,
    }
}

/// A tool call's id in the characters Anthropic accepts (`[a-zA-Z0-9_-]+`): ids written
/// by another provider, earlier in the conversation, may hold others, or none.
fn valid_tool_id(id: Option<&str>) -> String {
    let id: String = id
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() {
        "toolu_none".into()
    } else {
        id
    }
}

/// Tool ids as Anthropic accepts them: valid characters, and each once in a request
/// (ids from other providers, or from before fallback ids were unique, can repeat across
/// a history's rounds, and two ids can become one when made valid). A repeated id is
/// renamed, and the result that follows gets the new name.
#[derive(Default)]
struct ToolIds {
    used: HashSet<String>,
    /// Calls awaiting their results: the ids sent, by the id they were written with.
    awaiting: HashMap<String, VecDeque<String>>,
}

impl ToolIds {
    fn call(&mut self, id: &str) -> String {
        let base = valid_tool_id(Some(id));
        let mut sent = base.clone();
        let mut n = 1;
        while !self.used.insert(sent.clone()) {
            n += 1;
            sent = format!("{base}_{n}");
        }
        self.awaiting
            .entry(base)
            .or_default()
            .push_back(sent.clone());
        sent
    }

    fn result(&mut self, id: Option<&str>) -> String {
        let base = valid_tool_id(id);
        self.awaiting
            .get_mut(&base)
            .and_then(VecDeque::pop_front)
            .unwrap_or(base)
    }
}

/// A tool's result as a `tool_result` block; our tools report failure as `{"error": …}`.
fn tool_result(id: String, content: Option<&str>) -> Value {
    let content = content.unwrap_or_default();
    let failed = serde_json::from_str::<Value>(content)
        .is_ok_and(|v| v.get("error").is_some_and(|e| !e.is_null()));
    let mut block = json!({
        "type": "tool_result",
        "tool_use_id": id,
        "content": content,
    });
    if failed {
        block["is_error"] = json!(true);
    }
    block
}

/// The Messages request for `request`, streamed; with `prompt_caching`, its stable parts
/// marked for Anthropic's prompt cache (see [`mark_cache_breakpoints`]).
pub fn stream_body(request: &ChatRequest, prompt_caching: bool) -> Value {
    let mut system: Vec<&str> = Vec::new();
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut ids = ToolIds::default();
    for m in &request.messages {
        let text = m.content.as_deref().filter(|t| !t.trim().is_empty());
        let (role, blocks) = match m.role.as_str() {
            "system" => {
                system.extend(text);
                continue;
            }
            "tool" => (
                "user",
                vec![tool_result(
                    ids.result(m.tool_call_id.as_deref()),
                    m.content.as_deref(),
                )],
            ),
            "assistant" => {
                let mut blocks: Vec<Value> = text
                    .map(|t| json!({"type": "text", "text": t}))
                    .into_iter()
                    .collect();
                for call in m.tool_calls.iter().flatten() {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": ids.call(&call.id),
                        "name": call.function.name,
                        "input": tool_input(&call.function.arguments),
                    }));
                }
                ("assistant", blocks)
            }
            // Images first, as Anthropic advises, then the words about them.
            _ => (
                "user",
                m.images
                    .iter()
                    .map(|i| {
                        json!({"type": "image", "source": {
                            "type": "base64", "media_type": i.media_type, "data": &*i.base64,
                        }})
                    })
                    .chain(text.map(|t| json!({"type": "text", "text": t})))
                    .collect(),
            ),
        };
        // Empty text blocks are refused, and results of one round of tool calls must
        // travel together in one user message: merge what the same role says in a row.
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages
            .into_iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect::<Vec<_>>(),
        "stream": true,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(t) = request.temperature {
        // Anthropic's range is 0 to 1 (OpenAI's is 0 to 2).
        body["temperature"] = json!(t.clamp(0.0, 1.0));
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    if prompt_caching {
        mark_cache_breakpoints(&mut body);
    }
    body
}

/// Anthropic caches a prompt's prefix up to each block marked `cache_control`, and a
/// later request reads it back if it starts with the same prefix. The prefix runs tools,
/// system prompt, messages. Marked here, three of the four marks allowed:
///
/// - The system prompt (sent as a block to carry the mark), or without one the last tool:
///   the part shared by every conversation with the same setup.
/// - The last user message: this turn writes the conversation so far.
/// - The user message before it: the next turn finds what the previous turn wrote
///   (Anthropic looks back only about 20 blocks from a mark, and a tool round adds some).
///
/// A prefix under the model's minimum (1,024 tokens for most models) is simply not
/// cached. Writing the cache costs a quarter more than plain input and reading it a
/// tenth, so a conversation pays for it from its second turn on.
fn mark_cache_breakpoints(body: &mut Value) {
    let mark = || json!({"type": "ephemeral"});
    if let Some(system) = body["system"].as_str() {
        body["system"] = json!([{"type": "text", "text": system, "cache_control": mark()}]);
    } else if let Some(last) = body["tools"].as_array_mut().and_then(|t| t.last_mut()) {
        last["cache_control"] = mark();
    }
    let Some(messages) = body["messages"].as_array_mut() else {
        return;
    };
    for message in messages
        .iter_mut()
        .rev()
        .filter(|m| m["role"] == "user")
        .take(2)
    {
        if let Some(block) = message["content"].as_array_mut().and_then(|c| c.last_mut()) {
            block["cache_control"] = mark();
        }
    }
}

/// A tool call's arguments as the object Anthropic wants (the model wrote them; if they
/// are not an object, they travel under `arguments` rather than being lost).
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => Value::Object(map),
        _ if arguments.trim().is_empty() => Value::Object(Map::new()),
        Ok(other) => json!({ "arguments": other }),
        Err(_) => json!({ "arguments": arguments }),
    }
}

/// One stream event: only the fields we read, the text borrowed (a
/// `content_block_delta` arrives for every token).
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default)]
    index: u64,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default)]
    content_block: Option<Value>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    text: Option<Text<'a>>,
    #[serde(default, borrow)]
    partial_json: Option<Text<'a>>,
    /// A `thinking_delta`'s text.
    #[serde(default, borrow)]
    thinking: Option<Text<'a>>,
    #[serde(default, borrow)]
    stop_reason: Option<Text<'a>>,
}

/// Turns event payloads into [`StreamEvent`]s.
#[derive(Default)]
pub struct EventParser {
    /// Tool calls by content block index, arguments gathered from `input_json_delta`s.
    tool_calls: BTreeMap<u64, ToolCall>,
    /// Usage as last reported, by field: `message_start` has them all, a later
    /// `message_delta` may repeat some.
    input_tokens: Option<u64>,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
    /// `message_delta` told why the answer ended: it is complete.
    pub finished: bool,
    /// `message_stop`: nothing follows.
    pub done: bool,
}

impl EventParser {
    pub fn parse(&mut self, payload: &str) -> Result<Vec<StreamEvent>, ProviderError> {
        let payload = payload.trim();
        if payload.is_empty() {
            return Ok(Vec::new());
        }
        let event: Event = serde_json::from_str(payload)
            .map_err(|e| ProviderError::Protocol(format!("bad event: {e}")))?;
        let mut out = Vec::new();
        match event.kind.0.as_ref() {
            "content_block_delta" => {
                let Some(delta) = event.delta else {
                    return Ok(out);
                };
                if let Some(Text(text)) = delta.text.filter(|t| !t.0.is_empty()) {
                    out.push(StreamEvent::Delta(text.into_owned()));
                } else if let Some(Text(json)) = delta.partial_json
                    && let Some(call) = self.tool_calls.get_mut(&event.index)
                {
                    call.function.arguments.push_str(&json);
                } else if let Some(Text(thought)) = delta.thinking.filter(|t| !t.0.is_empty()) {
                    out.push(StreamEvent::Reasoning(thought.into_owned()));
                }
                // Signatures and citations are not part of the answer.
            }
            "content_block_start" => {
                let block = event.content_block.unwrap_or_default();
                match block["type"].as_str() {
                    Some("text") => {
                        if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::Delta(text.to_owned()));
                        }
                    }
                    Some("tool_use") => {
                        // Anthropic sends `input: {}` and the input in deltas; some
                        // gateways send it whole here instead.
                        let arguments = match &block["input"] {
                            Value::Object(input) if !input.is_empty() => block["input"].to_string(),
                            _ => String::new(),
                        };
                        let call = ToolCall {
                            id: block["id"].as_str().unwrap_or_default().to_owned(),
                            kind: "function".into(),
                            function: FunctionCall {
                                name: block["name"].as_str().unwrap_or_default().to_owned(),
                                arguments,
                            },
                        };
                        self.tool_calls.insert(event.index, call);
                    }
                    _ => {}
                }
            }
            "message_start" => {
                let usage = &event.message.unwrap_or_default()["usage"];
                self.read_usage(usage);
            }
            "message_delta" => {
                if let Some(usage) = &event.usage {
                    self.read_usage(usage);
                }
                if let Some(Text(reason)) = event.delta.and_then(|d| d.stop_reason) {
                    self.finished = true;
                    self.finish(&reason, &mut out);
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let err = event.error.unwrap_or_default();
                let message = err["message"]
                    .as_str()
                    .unwrap_or("error in stream")
                    .to_owned();
                return Err(ProviderError::Interrupted(message));
            }
            // `ping`, `content_block_stop`, and event types added later.
            _ => {}
        }
        Ok(out)
    }

    fn read_usage(&mut self, usage: &Value) {
        if let Some(n) = usage["input_tokens"].as_u64() {
            self.input_tokens = Some(n);
        }
        if let Some(n) = usage["cache_creation_input_tokens"].as_u64() {
            self.cache_creation_input_tokens = n;
        }
        if let Some(n) = usage["cache_read_input_tokens"].as_u64() {
            self.cache_read_input_tokens = n;
        }
        if let Some(n) = usage["output_tokens"].as_u64() {
            self.output_tokens = n;
        }
    }

    /// The end of the answer, as the Chat Completions parser reports it: tool calls, then
    /// the finish reason in OpenAI's words, then usage.
    fn finish(&mut self, reason: &str, out: &mut Vec<StreamEvent>) {
        let mut calls = std::mem::take(&mut self.tool_calls);
        // A call with no input had `input: {}` and no deltas.
        for c in calls.values_mut() {
            if c.function.arguments.trim().is_empty() {
                c.function.arguments = "{}".into();
            }
        }
        let reason = match reason {
            "end_turn" | "stop_sequence" => "stop",
            "max_tokens" => "length",
            "tool_use" => "tool_calls",
            other => other,
        };
        super::finish_answer(calls, reason.to_owned(), out);
        // Prompt tokens are the uncached, cache-written and cache-read ones together:
        // all of them count against the workspace's quota.
        if let Some(input) = self.input_tokens {
            out.push(StreamEvent::Usage(Usage {
                prompt_tokens: input
                    + self.cache_creation_input_tokens
                    + self.cache_read_input_tokens,
                completion_tokens: self.output_tokens,
                cached_prompt_tokens: self.cache_read_input_tokens,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sse::SseDecoder;
    use super::super::{ChatMessage, ToolSpec};
    use super::*;

    fn run(input: &str) -> Result<Vec<StreamEvent>, ProviderError> {
        let mut dec = SseDecoder::default();
        let mut parser = EventParser::default();
        let mut out = Vec::new();
        for piece in input.as_bytes().chunks(5) {
            for payload in dec.feed(piece) {
                out.extend(parser.parse(&payload)?);
            }
        }
        assert!(parser.done || parser.finished, "the stream ended: {out:?}");
        Ok(out)
    }

    fn event(kind: &str, data: Value) -> String {
        format!("event: {kind}\ndata: {data}\n\n")
    }

    #[test]
    fn text_answer_with_usage_from_both_ends() {
        let s = [
            event(
                "message_start",
                json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"usage":{"input_tokens":20,"cache_read_input_tokens":5,"output_tokens":1}}}),
            ),
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
            ),
            event("ping", json!({"type":"ping"})),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"there\""}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}),
            ),
            event(
                "content_block_stop",
                json!({"type":"content_block_stop","index":0}),
            ),
            event(
                "message_delta",
                json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":20,"output_tokens":7}}),
            ),
            event("message_stop", json!({"type":"message_stop"})),
        ]
        .concat();
        assert_eq!(
            run(&s).expect("parses"),
            vec![
                StreamEvent::Delta("Hi \"there\"".into()),
                StreamEvent::Delta("!".into()),
                StreamEvent::Finished {
                    reason: "stop".into()
                },
                StreamEvent::Usage(Usage {
                    prompt_tokens: 25,
                    completion_tokens: 7,
                    cached_prompt_tokens: 5,
                }),
            ]
        );
    }

    #[test]
    fn tool_use_blocks_become_tool_calls() {
        let s = [
            event(
                "message_start",
                json!({"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}),
            ),
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}),
            ),
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_a","name":"list_members","input":{}}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"lim"}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"it\": 3}"}}),
            ),
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_b","name":"search_conversations","input":{}}}),
            ),
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":3,"content_block":{"type":"tool_use","name":"list_members","input":{"limit":1}}}),
            ),
            event(
                "message_delta",
                json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}),
            ),
            event("message_stop", json!({"type":"message_stop"})),
        ]
        .concat();
        let events = run(&s).expect("parses");
        assert_eq!(events[0], StreamEvent::Reasoning("hmm".into()));
        let StreamEvent::ToolCalls(calls) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(calls.len(), 3);
        assert_eq!(
            (calls[0].id.as_str(), calls[0].function.name.as_str()),
            ("toolu_a", "list_members")
        );
        assert_eq!(
            serde_json::from_str::<Value>(&calls[0].function.arguments).expect("json"),
            json!({"limit": 3})
        );
        assert_eq!(
            calls[1].function.arguments, "{}",
            "no input is an empty object"
        );
        assert_eq!(
            calls[2].function.arguments, r#"{"limit":1}"#,
            "an input sent whole at the block's start"
        );
        assert!(
            calls[2].id.starts_with("call_") && calls[2].id.len() > 20,
            "a missing id gets a unique one: {}",
            calls[2].id
        );
        assert_eq!(
            events[2..],
            [
                StreamEvent::Finished {
                    reason: "tool_calls".into()
                },
                StreamEvent::Usage(Usage {
                    prompt_tokens: 9,
                    completion_tokens: 30,
                    cached_prompt_tokens: 0,
                })
            ]
        );
    }

    #[test]
    fn tool_calls_cut_off_by_the_token_limit_are_not_run() {
        let s = [
            event(
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"list_members","input":{}}}),
            ),
            event(
                "content_block_delta",
                json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"lim"}}),
            ),
            event(
                "message_delta",
                json!({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":30}}),
            ),
        ]
        .concat();
        assert_eq!(
            run(&s).expect("parses"),
            [StreamEvent::Finished {
                reason: "length".into()
            }]
        );
    }

    #[test]
    fn an_error_event_ends_the_stream_with_its_message() {
        let s = event(
            "error",
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
        );
        let err = run(&s).expect_err("an error");
        assert_eq!(
            err.to_string(),
            ProviderError::Interrupted("Overloaded".into()).to_string()
        );
        assert!(matches!(
            EventParser::default().parse("{not json"),
            Err(ProviderError::Protocol(_))
        ));
        assert!(
            EventParser::default()
                .parse(r#"{"type":"something_new","index":4}"#)
                .expect("unknown events are skipped")
                .is_empty()
        );
    }

    #[test]
    fn repeated_tool_ids_are_renamed_with_their_results() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            kind: "function".into(),
            function: FunctionCall {
                name: "list_members".into(),
                arguments: "{}".into(),
            },
        };
        let result = |id: &str| ChatMessage {
            role: "tool".into(),
            content: Some(format!("for {id}")),
            tool_calls: None,
            tool_call_id: Some(id.into()),
            images: Vec::new(),
        };
        // Two rounds of a history, both written with "call_0", and "a.b" next to "a_b".
        let request = ChatRequest {
            model: "claude-x".into(),
            messages: vec![
                ChatMessage::text("user", "go"),
                ChatMessage {
                    role: "assistant".into(),
                    content: None,
                    tool_calls: Some(vec![
                        call("call_0"),
                        call("a.b"),
                        call("call_0"),
                        call("a_b"),
                    ]),
                    tool_call_id: None,
                    images: Vec::new(),
                },
                result("call_0"),
                result("a.b"),
                result("call_0"),
                result("a_b"),
            ],
            tools: Vec::new(),
            temperature: None,
            max_tokens: Some(10),
        };
        let body = stream_body(&request, false);
        let uses: Vec<&str> = body["messages"][1]["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["id"].as_str())
            .collect();
        assert_eq!(uses, ["call_0", "a_b", "call_0_2", "a_b_2"]);
        let results: Vec<(&str, &str)> = body["messages"][2]["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| Some((b["tool_use_id"].as_str()?, b["content"].as_str()?)))
            .collect();
        assert_eq!(
            results,
            [
                ("call_0", "for call_0"),
                ("a_b", "for a.b"),
                ("call_0_2", "for call_0"),
                ("a_b_2", "for a_b"),
            ]
        );
    }

    #[test]
    fn images_go_before_the_words_as_base64_blocks() {
        let mut question = ChatMessage::text("user", "What is this?");
        question.images.push(super::super::Image {
            media_type: "image/png".into(),
            base64: "iVBORw0K".into(),
        });
        let request = ChatRequest {
            model: "claude-x".into(),
            messages: vec![question],
            tools: Vec::new(),
            temperature: None,
            max_tokens: Some(10),
        };
        let body = stream_body(&request, false);
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
                {"type": "text", "text": "What is this?"},
            ])
        );
    }

    #[test]
    fn the_request_moves_system_and_tools_where_anthropic_wants_them() {
        let call = ToolCall {
            id: "toolu_1".into(),
            kind: "function".into(),
            function: FunctionCall {
                name: "list_members".into(),
                arguments: r#"{"limit":2}"#.into(),
            },
        };
        let request = ChatRequest {
            model: "claude-x".into(),
            messages: vec![
                ChatMessage::text("system", "Be brief."),
                ChatMessage::text("user", "Who is here?"),
                ChatMessage {
                    role: "assistant".into(),
                    content: None,
                    tool_calls: Some(vec![
                        call.clone(),
                        ToolCall {
                            id: "call.2/x".into(),
                            function: FunctionCall {
                                name: "search_conversations".into(),
                                arguments: "not json".into(),
                            },
                            ..call
                        },
                    ]),
                    tool_call_id: None,
                    images: Vec::new(),
                },
                ChatMessage {
                    role: "tool".into(),
                    content: Some(r#"{"members":[]}"#.into()),
                    tool_calls: None,
                    tool_call_id: Some("toolu_1".into()),
                    images: Vec::new(),
                },
                ChatMessage {
                    role: "tool".into(),
                    content: Some(r#"{"error":"no such conversation"}"#.into()),
                    tool_calls: None,
                    tool_call_id: Some("call.2/x".into()),
                    images: Vec::new(),
                },
            ],
            tools: vec![ToolSpec {
                name: "list_members".into(),
                description: "Members".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: Some(1.5),
            max_tokens: None,
        };
        assert_eq!(
            stream_body(&request, false),
            json!({
                "model": "claude-x",
                "max_tokens": DEFAULT_MAX_TOKENS,
                "stream": true,
                "system": "Be brief.",
                "temperature": 1.0,
                "tools": [{"name": "list_members", "description": "Members", "input_schema": {"type": "object"}}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "Who is here?"}]},
                    {"role": "assistant", "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "list_members", "input": {"limit": 2}},
                        {"type": "tool_use", "id": "call_2_x", "name": "search_conversations", "input": {"arguments": "not json"}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"members\":[]}"},
                        {"type": "tool_result", "tool_use_id": "call_2_x", "content": "{\"error\":\"no such conversation\"}", "is_error": true},
                    ]},
                ],
            })
        );
    }

    #[test]
    fn prompt_caching_marks_the_setup_and_the_last_two_user_turns() {
        let turns = |system: Option<&str>, tools: Vec<ToolSpec>| ChatRequest {
            model: "claude-x".into(),
            messages: system
                .map(|s| ChatMessage::text("system", s))
                .into_iter()
                .chain([
                    ChatMessage::text("user", "one"),
                    ChatMessage::text("assistant", "1"),
                    ChatMessage::text("user", "two"),
                    ChatMessage::text("assistant", "2"),
                    ChatMessage::text("user", "three"),
                ])
                .collect(),
            tools,
            temperature: None,
            max_tokens: Some(10),
        };
        let mark = json!({"type": "ephemeral"});
        let marked = |body: &Value| -> Vec<String> {
            let mut at = Vec::new();
            for (i, t) in body["tools"].as_array().into_iter().flatten().enumerate() {
                if t.get("cache_control").is_some() {
                    assert_eq!(t["cache_control"], mark);
                    at.push(format!("tool {i}"));
                }
            }
            for b in body["system"].as_array().into_iter().flatten() {
                if b.get("cache_control").is_some() {
                    at.push("system".into());
                }
            }
            for (i, m) in body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                for b in m["content"].as_array().into_iter().flatten() {
                    if b.get("cache_control").is_some() {
                        assert_eq!(b["cache_control"], mark);
                        at.push(format!("message {i}"));
                    }
                }
            }
            at
        };
        let tool = |name: &str| ToolSpec {
            name: name.into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        };

        let body = stream_body(&turns(Some("Be brief."), vec![tool("a")]), true);
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Be brief.", "cache_control": mark}])
        );
        assert_eq!(marked(&body), ["system", "message 2", "message 4"]);

        // No system prompt: the tools are the shared setup.
        let body = stream_body(&turns(None, vec![tool("a"), tool("b")]), true);
        assert_eq!(marked(&body), ["tool 1", "message 2", "message 4"]);

        // Neither, and a first turn: one mark.
        let first = ChatRequest {
            messages: vec![ChatMessage::text("user", "hi")],
            ..turns(None, Vec::new())
        };
        assert_eq!(marked(&stream_body(&first, true)), ["message 0"]);

        // Switched off: nothing marked, and the system prompt stays a string.
        let body = stream_body(&turns(Some("Be brief."), vec![tool("a")]), false);
        assert!(marked(&body).is_empty());
        assert_eq!(body["system"], "Be brief.");
    }
}
