//! The fake's Anthropic side: `POST /v1/messages` (the Messages API, streamed as its typed
//! events or answered as one JSON message) and `GET /v1/models` when the request carries
//! `anthropic-version`. It refuses what the real API refuses ([`request`]), so a wrong
//! translation fails here rather than against Anthropic.

mod events;
mod request;

use super::*;
use request::MessagesRequest;

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
        events::stream(shared, id, req, answer)
    } else {
        whole(id, req, answer).await
    }
}

fn stop_reason(answer: &Answer) -> &'static str {
    match answer.payload {
        _ if answer.length_limited => "max_tokens",
        Payload::Text(_) => "end_turn",
        Payload::Tool { .. } => "tool_use",
    }
}

/// The answer's last content block: its text, or its tool call (`filled`: with the
/// input, as in a whole message; else empty, as at a streamed block's start).
fn content_block(answer: &Answer, filled: bool) -> Value {
    match &answer.payload {
        Payload::Text(text) => {
            json!({"type": "text", "text": if filled { text.as_str() } else { "" }})
        }
        Payload::Tool {
            id,
            name,
            arguments,
            ..
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
        "content": match answer.preface() {
            "" => json!([content_block(&answer, true)]),
            said => json!([{"type": "text", "text": said}, content_block(&answer, true)]),
        },
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
                "non-whitespace",
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
        let tool_use = |id: &str| json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "t", "input": {}}]});
        let result = |id: &str| json!({"type": "tool_result", "tool_use_id": id, "content": "1"});
        let ask = json!({"role": "user", "content": "hi"});
        for (messages, says) in [
            (json!([tool_use("toolu_a")]), "first message"),
            (
                json!([ask, tool_use("toolu_a"), {"role": "user", "content": "and?"}]),
                "without `tool_result`",
            ),
            (
                json!([ask, tool_use("toolu_a"), {"role": "user", "content": [{"type": "text", "text": "x"}, result("toolu_a")]}]),
                "before any other content",
            ),
            (json!([ask, tool_use("call.1")]), "pattern"),
            (
                json!([ask, tool_use("toolu_a"), {"role": "user", "content": [result("toolu_a")]}, tool_use("toolu_a")]),
                "unique",
            ),
            (
                json!([{"role": "user", "content": [{"type": "text", "text": "  "}]}]),
                "non-whitespace",
            ),
        ] {
            let bad = json!({"model": "fake-small", "max_tokens": 5, "messages": messages});
            let r = post(&fake, Some("sk-ant"), &bad).await;
            assert_eq!(r.status(), 400, "{bad}");
            let body: Value = r.json().await.expect("json");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(says)),
                "{says}: {body}"
            );
        }
        let fine = json!({"model": "fake-small", "max_tokens": 5, "messages": [ask, tool_use("toolu_a"),
            {"role": "user", "content": [result("toolu_a"), {"type": "text", "text": "thanks"}]}]});
        assert_eq!(post(&fake, Some("sk-ant"), &fine).await.status(), 200);
        let unknown = post(
            &fake,
            Some("sk-ant"),
            &json!({"model": "nope", "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
        assert_eq!(unknown.status(), 404);
        assert_eq!(fake.request_count(), 14, "every request is recorded");
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
    async fn text_before_a_tool_call_is_its_own_block() {
        let fake = FakeAi::start(None).await;
        let behavior = || Behavior::ToolCallAfterText {
            text: "Let me look.".into(),
            name: "list_members".into(),
            arguments: json!({}),
        };
        fake.push_many([behavior(), behavior()]);
        let r = post(&fake, None, &ask("who?", true)).await;
        let events = events(&r.text().await.expect("body"));
        let blocks: Vec<(i64, &str)> = events
            .iter()
            .filter(|(k, _)| k == "content_block_start")
            .map(|(_, d)| {
                (
                    d["index"].as_i64().unwrap_or(-1),
                    d["content_block"]["type"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(blocks, [(0, "text"), (1, "tool_use")]);
        assert_eq!(events[2].1["delta"]["text"], "Let me look.");
        let whole: Value = post(&fake, None, &ask("who?", false))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(whole["content"][0]["text"], "Let me look.");
        assert_eq!(whole["content"][1]["type"], "tool_use");
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
