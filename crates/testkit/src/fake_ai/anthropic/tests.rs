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

#[tokio::test]
async fn marked_prefixes_are_written_then_read_from_the_prompt_cache() {
    let fake = FakeAi::start(None).await;
    let mark = json!({"type": "ephemeral"});
    let system = json!([{"type": "text", "text": "Be brief.", "cache_control": mark}]);
    let turn = |messages: Value| json!({"model": "fake-small", "max_tokens": 100, "system": system, "messages": messages});
    let user = |text: &str, marked: bool| {
        let mut block = json!({"type": "text", "text": text});
        if marked {
            block["cache_control"] = mark.clone();
        }
        json!({"role": "user", "content": [block]})
    };
    let usage = |r: Value| r["usage"].clone();

    // First turn: the system prompt (2 words) and the question (2) are written.
    let first = turn(json!([user("hello there", true)]));
    let r = post(&fake, None, &first).await.json::<Value>().await;
    let u = usage(r.expect("json"));
    assert_eq!(u["cache_creation_input_tokens"], 4);
    assert_eq!(u["cache_read_input_tokens"], 0);
    assert_eq!(u["input_tokens"], PROMPT_OVERHEAD);

    // Second turn: that prefix is read, the answer and the new question written.
    let second = turn(json!([
        user("hello there", true),
        {"role": "assistant", "content": [{"type": "text", "text": "Echo: hello there"}]},
        user("and again", true),
    ]));
    let r = post(&fake, None, &second).await.json::<Value>().await;
    let u = usage(r.expect("json"));
    assert_eq!(u["cache_read_input_tokens"], 4);
    assert_eq!(u["cache_creation_input_tokens"], 5);
    assert_eq!(u["input_tokens"], PROMPT_OVERHEAD);

    // Unmarked, nothing is cached or read.
    let r = post(&fake, None, &ask("hello there", false))
        .await
        .json::<Value>()
        .await;
    let u = usage(r.expect("json"));
    assert_eq!(u["cache_read_input_tokens"], 0);
    assert_eq!(u["cache_creation_input_tokens"], 0);

    // Five marks, or a mark of another kind, are refused as Anthropic refuses them.
    let five: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .flat_map(|t| {
            [
                user(t, true),
                json!({"role": "assistant", "content": [{"type": "text", "text": "ok"}]}),
            ]
        })
        .chain([user("e", false)])
        .collect();
    let r = post(&fake, None, &turn(Value::Array(five))).await;
    assert_eq!(r.status(), 400);
    let body = r.json::<Value>().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("A maximum of 4 blocks with cache_control")),
        "{body}"
    );
    let mut odd = turn(json!([user("hi", false)]));
    odd["system"][0]["cache_control"] = json!({"type": "forever"});
    assert_eq!(post(&fake, None, &odd).await.status(), 400);
}
