//! The fake's Anthropic side: `POST /v1/messages` (the Messages API, streamed as its typed
//! events or answered as one JSON message) and `GET /v1/models` when the request carries
//! `anthropic-version`. It checks what the real API refuses (a `system` role among the
//! messages, empty text blocks, a `tool_result` without its `tool_use`, no `max_tokens`),
//! so a wrong translation fails here rather than against Anthropic.

use super::*;

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, Json(body)).into_response()
}

pub(super) fn is_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
}

/// The 401 answer, unless the request carries the expected `x-api-key` (or none is set);
/// the 400 answer without `anthropic-version`.
fn refused(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if !is_anthropic(headers) {
        let msg = "anthropic-version: header is required";
        return Some(error(StatusCode::BAD_REQUEST, "invalid_request_error", msg));
    }
    let key = shared.api_key.as_deref()?;
    let given = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    (given != Some(key)).then(|| {
        error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        )
    })
}

pub(super) fn list_models(shared: &Shared, headers: &HeaderMap) -> Response {
    if let Some(denied) = refused(shared, headers) {
        return denied;
    }
    let models = lock(&shared.models).clone();
    let data: Vec<Value> = models
        .iter()
        .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
        .collect();
    Json(json!({
        "data": data,
        "has_more": false,
        "first_id": models.first(),
        "last_id": models.last(),
    }))
    .into_response()
}

fn status_response(code: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, message) = match status.as_u16() {
        401 => ("authentication_error", "invalid x-api-key"),
        404 => ("not_found_error", "Not found."),
        429 => (
            "rate_limit_error",
            "Number of requests has exceeded your rate limit.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "The request was rejected."),
    };
    let mut response = error(status, kind, message);
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// What the fake needs from a Messages request, once checked.
struct MessagesRequest {
    model: String,
    stream: bool,
    prompt_tokens: u64,
    last_user: String,
}

/// The text of a content: a string, or its `text` blocks and `tool_result` contents.
fn blocks_text(content: &Value) -> String {
    match content {
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b["type"].as_str() {
                Some("tool_result") => blocks_text(&b["content"]),
                _ => b["text"].as_str().unwrap_or_default().to_owned(),
            })
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        other => content_text(other),
    }
}

impl MessagesRequest {
    fn read(body: &Value) -> Result<Self, String> {
        let model = body["model"].as_str().ok_or("model: Field required")?;
        if body["max_tokens"].as_u64().is_none_or(|n| n < 1) {
            return Err("max_tokens: Field required".into());
        }
        let messages = body["messages"]
            .as_array()
            .ok_or("messages: Field required")?;
        // Tool uses of the previous assistant message, which results must answer.
        let mut open_tool_uses: Vec<&str> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let role = m["role"].as_str().unwrap_or_default();
            if role != "user" && role != "assistant" {
                return Err(format!(
                    "messages.{i}: Unexpected role \"{role}\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."
                ));
            }
            let blocks = match &m["content"] {
                Value::String(s) if s.is_empty() => {
                    return Err(format!("messages.{i}: content must be non-empty"));
                }
                Value::String(_) => Vec::new(),
                Value::Array(blocks) => blocks.iter().collect(),
                _ => {
                    return Err(format!(
                        "messages.{i}.content: Input should be a valid list"
                    ));
                }
            };
            let mut uses = Vec::new();
            for (j, b) in blocks.iter().enumerate() {
                match (b["type"].as_str(), role) {
                    (Some("text"), _) if b["text"].as_str().is_some_and(|t| !t.is_empty()) => {}
                    (Some("text"), _) => {
                        return Err(format!(
                            "messages.{i}.content.{j}: text content blocks must be non-empty"
                        ));
                    }
                    (Some("tool_use"), "assistant") if b["input"].is_object() => {
                        uses.push(b["id"].as_str().unwrap_or_default());
                    }
                    (Some("tool_result"), "user") => {
                        let id = b["tool_use_id"].as_str().unwrap_or_default();
                        if !open_tool_uses.contains(&id) {
                            return Err(format!(
                                "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                            ));
                        }
                    }
                    _ => {
                        return Err(format!(
                            "messages.{i}.content.{j}: this block is not valid in a {role} message"
                        ));
                    }
                }
            }
            open_tool_uses = uses;
        }
        let system = match &body["system"] {
            Value::Null => String::new(),
            other => blocks_text(other),
        };
        let words = count_words(&system)
            + messages
                .iter()
                .map(|m| count_words(&blocks_text(&m["content"])))
                .sum::<u64>();
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| blocks_text(&m["content"]))
            .unwrap_or_default();
        Ok(Self {
            model: model.to_owned(),
            stream: body["stream"].as_bool().unwrap_or(false),
            prompt_tokens: words + PROMPT_OVERHEAD,
            last_user,
        })
    }
}

pub(super) async fn create_message(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed = record(&shared, &body);
    if let Some(denied) = refused(&shared, &headers) {
        return denied;
    }
    let req = match parsed.as_ref().map(MessagesRequest::read) {
        None => {
            let msg = "There was an issue with your request body: it is not valid JSON.";
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", msg);
        }
        Some(Err(msg)) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", &msg),
        Some(Ok(req)) => req,
    };
    if !lock(&shared.models).contains(&req.model) {
        let msg = format!("model: {}", req.model);
        return error(StatusCode::NOT_FOUND, "not_found_error", &msg);
    }
    let (seq, mut answer) = match next_answer(&shared, &req.last_user).await {
        Next::Status { code, retry_after } => return status_response(code, retry_after),
        Next::Answer { seq, answer } => (seq, answer),
    };
    if let Payload::Tool { id, .. } = &mut answer.payload {
        *id = format!("toolu_fake{seq:08}");
    }
    let id = format!("msg_fake{seq:08}");
    if req.stream {
        stream(shared, id, req, answer)
    } else {
        whole(id, req, answer).await
    }
}

fn stop_reason(answer: &Answer) -> &'static str {
    match answer.payload {
        Payload::Text(_) => "end_turn",
        Payload::Tool { .. } => "tool_use",
    }
}

fn content_block(answer: &Answer, filled: bool) -> Value {
    match &answer.payload {
        Payload::Text(text) => {
            json!({"type": "text", "text": if filled { text.as_str() } else { "" }})
        }
        Payload::Tool {
            id,
            name,
            arguments,
        } => {
            let input = if filled {
                serde_json::from_str(arguments).unwrap_or_else(|_| json!({}))
            } else {
                json!({})
            };
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

/// The answer as one JSON message (`"stream": false`).
async fn whole(id: String, req: MessagesRequest, answer: Answer) -> Response {
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut body = json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": [content_block(&answer, true)],
        "stop_reason": stop_reason(&answer),
        "stop_sequence": null,
    });
    if answer.usage {
        body["usage"] =
            json!({"input_tokens": req.prompt_tokens, "output_tokens": answer.completion_tokens()});
    }
    if answer.abort_after.is_none() {
        return Json(body).into_response();
    }
    let full = Bytes::from(body.to_string());
    let half = full.slice(..full.len() / 2);
    let parts = futures::stream::once(async { Ok(half) }).chain(futures::stream::once(async {
        hang_up().await;
        Err(std::io::Error::other("fake AI dropped the connection"))
    }));
    let headers = [(header::CONTENT_TYPE, "application/json")];
    (headers, Body::from_stream(parts)).into_response()
}

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
                    let data = json!({"type": "content_block_start", "index": 0,
                        "content_block": content_block(&self.answer, false)});
                    return Some(Ok(sse("content_block_start", &data)));
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
                    let data = json!({"type": "content_block_delta", "index": 0, "delta": delta});
                    return Some(Ok(sse("content_block_delta", &data)));
                }
                Step::BlockStop => {
                    self.step = Step::MessageDelta;
                    let data = json!({"type": "content_block_stop", "index": 0});
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

fn stream(shared: Arc<Shared>, id: String, req: MessagesRequest, answer: Answer) -> Response {
    let state = EventStream {
        id,
        req,
        answer,
        step: Step::Start,
        pos: 0,
        sent: 0,
        ping_due: false,
        guard: StreamGuard::open(shared),
    };
    let events = futures::stream::unfold(state, |mut s| async move {
        let event = s.next_event().await?;
        Some((event, s))
    });
    let headers = [
        (header::CONTENT_TYPE, "text/event-stream"),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    (headers, Body::from_stream(events)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(fake: &FakeAi, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut rb = reqwest::Client::new()
            .post(format!("{}/messages", fake.base_url()))
            .header("anthropic-version", "2023-06-01")
            .json(body);
        if let Some(key) = key {
            rb = rb.header("x-api-key", key);
        }
        rb.send().await.expect("fake AI reachable")
    }

    fn ask(text: &str, stream: bool) -> Value {
        json!({"model": "fake-small", "max_tokens": 100, "stream": stream, "system": "Be brief.",
            "messages": [{"role": "user", "content": text}]})
    }

    /// (event name, data) of every event in a stream.
    fn events(body: &str) -> Vec<(String, Value)> {
        body.split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let mut lines = e.lines();
                let kind = lines
                    .next()
                    .and_then(|l| l.strip_prefix("event: "))
                    .expect("event line");
                let data = lines
                    .next()
                    .and_then(|l| l.strip_prefix("data: "))
                    .expect("data line");
                (
                    kind.to_owned(),
                    serde_json::from_str(data).expect("json data"),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_streamed_answer_is_typed_events_with_usage_at_both_ends() {
        let fake = FakeAi::start(Some("sk-ant")).await;
        let r = post(&fake, Some("sk-ant"), &ask("hello there", true)).await;
        assert_eq!(r.status(), 200);
        let events = events(&r.text().await.expect("body"));
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let text: String = events
            .iter()
            .filter_map(|(_, d)| d["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "Echo: hello there");
        // "Be brief." + "hello there": four words, plus the overhead.
        assert_eq!(
            events[0].1["message"]["usage"]["input_tokens"],
            4 + PROMPT_OVERHEAD
        );
        assert_eq!(events[6].1["usage"]["output_tokens"], 3);
        assert_eq!(events[6].1["delta"]["stop_reason"], "end_turn");
    }

    #[tokio::test]
    async fn what_the_real_api_refuses_is_refused() {
        let fake = FakeAi::start(Some("sk-ant")).await;
        let no_key = post(&fake, None, &ask("hi", true)).await;
        assert_eq!(no_key.status(), 401);
        let body: Value = no_key.json().await.expect("json");
        assert_eq!(body["error"]["type"], "authentication_error");
        let without_version = reqwest::Client::new()
            .post(format!("{}/messages", fake.base_url()))
            .header("x-api-key", "sk-ant")
            .json(&ask("hi", true))
            .send()
            .await
            .expect("reachable");
        assert_eq!(without_version.status(), 400);
        for (bad, says) in [
            (json!({"model": "fake-small", "messages": []}), "max_tokens"),
            (
                json!({"model": "fake-small", "max_tokens": 5,
                "messages": [{"role": "system", "content": "x"}]}),
                "Unexpected role",
            ),
            (
                json!({"model": "fake-small", "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}),
                "non-empty",
            ),
            (
                json!({"model": "fake-small", "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}]}),
                "tool_use_id",
            ),
        ] {
            let r = post(&fake, Some("sk-ant"), &bad).await;
            assert_eq!(r.status(), 400, "{bad}");
            let body: Value = r.json().await.expect("json");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(says)),
                "{body}"
            );
        }
        let unknown = post(
            &fake,
            Some("sk-ant"),
            &json!({"model": "nope", "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
        assert_eq!(unknown.status(), 404);
        assert_eq!(fake.request_count(), 7, "every request is recorded");
    }

    #[tokio::test]
    async fn tool_use_streams_its_input_and_statuses_keep_retry_after() {
        let fake = FakeAi::start(None).await;
        fake.push(Behavior::ToolCall {
            name: "list_members".into(),
            arguments: json!({"limit": 3}),
        });
        fake.push(Behavior::Status {
            code: 529,
            retry_after: Some(2),
        });
        let r = post(&fake, None, &ask("who?", true)).await;
        let events = events(&r.text().await.expect("body"));
        assert_eq!(events[1].1["content_block"]["type"], "tool_use");
        assert_eq!(events[1].1["content_block"]["name"], "list_members");
        let input: String = events
            .iter()
            .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&input).expect("json"),
            json!({"limit": 3})
        );
        let stop = events
            .iter()
            .find(|(k, _)| k == "message_delta")
            .expect("message_delta");
        assert_eq!(stop.1["delta"]["stop_reason"], "tool_use");

        let r = post(&fake, None, &ask("again", false)).await;
        assert_eq!(r.status(), 529);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["type"], "overloaded_error");

        let whole: Value = post(&fake, None, &ask("plain", false))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(whole["content"][0]["text"], "Echo: plain");
        assert_eq!(whole["stop_reason"], "end_turn");
    }

    #[tokio::test]
    async fn models_are_listed_in_anthropic_shape() {
        let fake = FakeAi::start(Some("sk-ant")).await;
        let r = reqwest::Client::new()
            .get(format!("{}/models?limit=1000", fake.base_url()))
            .header("anthropic-version", "2023-06-01")
            .header("x-api-key", "sk-ant")
            .send()
            .await
            .expect("reachable");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["data"][0]["id"], "fake-small");
        assert_eq!(body["data"][0]["type"], "model");
        assert_eq!(body["has_more"], false);
    }
}
