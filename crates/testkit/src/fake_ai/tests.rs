use super::*;
use futures::StreamExt;

fn chat(model: &str, user: &str) -> Value {
    json!({"model": model, "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": user},
    ]})
}

fn streamed(model: &str, user: &str, include_usage: bool) -> Value {
    let mut body = chat(model, user);
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

async fn post(fake: &FakeAi, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .json(body)
        .send()
        .await
        .expect("send chat request")
}

async fn post_text(fake: &FakeAi, body: &Value) -> String {
    post(fake, body).await.text().await.expect("read body")
}

/// The data of each SSE event, keep-alives (comments, blank data) left out.
fn data(body: &str) -> Vec<&str> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect()
}

fn parse_chunks(body: &str) -> Vec<Value> {
    data(body)
        .into_iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("chunk is JSON"))
        .collect()
}

fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[tokio::test]
async fn non_streaming_echo_reports_usage() {
    let fake = FakeAi::start(None).await;
    let resp = post(&fake, &chat("fake-small", "hello there")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json body");
    assert_eq!(body["object"], "chat.completion");
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("chatcmpl-"))
    );
    assert_eq!(body["model"], "fake-small");
    let choice = &body["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Echo: hello there");
    assert_eq!(choice["finish_reason"], "stop");
    let prompt = 4 + PROMPT_OVERHEAD;
    let usage =
        json!({"prompt_tokens": prompt, "completion_tokens": 3, "total_tokens": prompt + 3});
    assert_eq!(body["usage"], usage);
    assert_eq!(fake.requests(), vec![chat("fake-small", "hello there")]);
}

#[tokio::test]
async fn stream_reassembles_and_ends_with_done() {
    let fake = FakeAi::start(None).await;
    let resp = post(&fake, &streamed("fake-large", "hello there", false)).await;
    let content_type = resp.headers()[header::CONTENT_TYPE].clone();
    assert_eq!(content_type, "text/event-stream");
    let body = resp.text().await.expect("read stream");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let chunks = parse_chunks(&body);
    assert_eq!(chunks.len(), 5, "role, three words, finish: {body}");
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(
        chunks[1]["choices"][0]["delta"],
        json!({"content": "Echo: "})
    );
    assert_eq!(content(&chunks), "Echo: hello there");
    for c in &chunks {
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "fake-large");
        assert!(c.get("usage").is_none());
    }
    let last = &chunks[4]["choices"][0];
    assert_eq!(
        (&last["delta"], &last["finish_reason"]),
        (&json!({}), &json!("stop"))
    );
    assert_eq!(fake.open_streams(), 0);
    assert_eq!(fake.cancelled_streams(), 0);
}

#[tokio::test]
async fn include_usage_adds_a_usage_chunk() {
    let fake = FakeAi::start(None).await;
    fake.push(Reply::text("abcdefghij").chunk_chars(4).into());
    let body = post_text(&fake, &streamed("fake-small", "one two", true)).await;
    let chunks = parse_chunks(&body);
    let (usage, rest) = chunks.split_last().expect("chunks");
    assert_eq!(usage["choices"], json!([]));
    let prompt = 4 + PROMPT_OVERHEAD;
    let expected =
        json!({"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1});
    assert_eq!(usage["usage"], expected);
    assert!(
        rest.iter()
            .all(|c| c["usage"].is_null() && c.get("usage").is_some())
    );
    let pieces: Vec<_> = rest
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(pieces, ["", "abcd", "efgh", "ij"]);
    // Without usage, no usage chunk even when asked for.
    fake.push(Reply::text("x").no_usage().into());
    let body = post_text(&fake, &streamed("fake-small", "one two", true)).await;
    assert!(
        parse_chunks(&body)
            .iter()
            .all(|c| c["choices"] != json!([]))
    );
}

#[tokio::test]
async fn status_sets_retry_after_and_error_json() {
    let fake = FakeAi::start(None).await;
    fake.push_many([
        Behavior::Status {
            code: 429,
            retry_after: Some(7),
        },
        Behavior::Status {
            code: 503,
            retry_after: None,
        },
    ]);
    let resp = post(&fake, &chat("fake-small", "hi")).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "7");
    let body: Value = resp.json().await.expect("json body");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let resp = post(&fake, &streamed("fake-small", "hi", false)).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get(header::RETRY_AFTER).is_none());
    let body: Value = resp.json().await.expect("json body");
    assert_eq!(body["error"]["type"], "server_error");
    let resp = post(&fake, &chat("fake-small", "hi")).await;
    assert_eq!(resp.status(), 200, "queue empty: echo again");
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn tool_call_arguments_reassemble() {
    let fake = FakeAi::start(None).await;
    let arguments = json!({"city": "Paris, France", "units": "metric", "days": 3});
    let call = Behavior::ToolCall {
        name: "get_weather".into(),
        arguments: arguments.clone(),
    };
    fake.push_many([call.clone(), call]);

    let body = post_text(&fake, &streamed("fake-small", "weather?", false)).await;
    let chunks = parse_chunks(&body);
    let first = &chunks[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert!(first["content"].is_null() && first.get("content").is_some());
    let head = &first["tool_calls"][0];
    assert_eq!(head["index"], 0);
    assert!(
        head["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("call_"))
    );
    assert_eq!(head["type"], "function");
    assert_eq!(
        head["function"],
        json!({"name": "get_weather", "arguments": ""})
    );
    let deltas: Vec<&str> = chunks[1..]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert!(deltas.len() > 2, "{deltas:?}");
    let joined: Value = serde_json::from_str(&deltas.concat()).expect("arguments are JSON");
    assert_eq!(joined, arguments);
    let last = chunks.last().expect("chunks");
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert!(body.ends_with("data: [DONE]\n\n"));

    let body: Value = post(&fake, &chat("fake-small", "weather?"))
        .await
        .json()
        .await
        .expect("json");
    let message = &body["choices"][0]["message"];
    assert!(message["content"].is_null());
    let function = &message["tool_calls"][0]["function"];
    assert_eq!(function["name"], "get_weather");
    let parsed: Value =
        serde_json::from_str(function["arguments"].as_str().expect("string")).expect("JSON");
    assert_eq!(parsed, arguments);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn text_before_a_tool_call_comes_first() {
    let fake = FakeAi::start(None).await;
    let call = Behavior::ToolCallAfterText {
        text: "Let me look.".into(),
        name: "list_members".into(),
        arguments: json!({}),
    };
    fake.push_many([call.clone(), call]);
    let chunks = parse_chunks(&post_text(&fake, &streamed("fake-small", "who?", false)).await);
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "Let me look.");
    assert_eq!(
        chunks[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
        "list_members"
    );
    let body: Value = post(&fake, &chat("fake-small", "who?"))
        .await
        .json()
        .await
        .expect("json");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Let me look.");
    assert_eq!(message["tool_calls"][0]["function"]["name"], "list_members");
}

#[tokio::test]
async fn drop_mid_stream_ends_without_done() {
    let fake = FakeAi::start(None).await;
    fake.push(Behavior::DropMidStream {
        text: "one two three four".into(),
        after_chunks: 2,
    });
    let mut events = post(&fake, &streamed("fake-small", "hi", true))
        .await
        .bytes_stream();
    let mut received = Vec::new();
    let mut failed = false;
    while let Some(part) = events.next().await {
        match part {
            Ok(bytes) => received.extend_from_slice(&bytes),
            Err(_) => failed = true,
        }
    }
    assert!(failed, "the body must end in an error, not a clean close");
    let body = String::from_utf8(received).expect("utf-8");
    assert!(!body.contains("[DONE]") && !body.contains("finish_reason\":\"stop"));
    assert_eq!(content(&parse_chunks(&body)), "one two ");
    assert_eq!((fake.open_streams(), fake.cancelled_streams()), (0, 0));

    fake.push(Behavior::DropMidStream {
        text: "one two".into(),
        after_chunks: 1,
    });
    let resp = post(&fake, &chat("fake-small", "hi")).await;
    assert_eq!(resp.status(), 200, "headers first, then half a body");
    assert!(resp.json::<Value>().await.is_err());
}

#[tokio::test]
async fn quirks_change_the_stream() {
    let fake = FakeAi::start(None).await;
    let with = |q: Quirks| Behavior::Reply(Reply::text("a b").quirks(q));
    let req = streamed("fake-small", "hi", true);

    fake.push(with(Quirks {
        empty_usage_objects: true,
        ..Quirks::default()
    }));
    let chunks = parse_chunks(&post_text(&fake, &req).await);
    let (usage, rest) = chunks.split_last().expect("chunks");
    assert!(rest.iter().all(|c| c["usage"] == json!({})));
    assert_eq!(usage["usage"]["total_tokens"], 3 + 2 + PROMPT_OVERHEAD);

    fake.push(with(Quirks {
        missing_ids: true,
        ..Quirks::default()
    }));
    let chunks = parse_chunks(&post_text(&fake, &req).await);
    assert!(
        chunks
            .iter()
            .all(|c| c.get("id").is_none() && c.get("created").is_none())
    );
    assert!(chunks.iter().all(|c| c["model"] == "fake-small"));

    fake.push(with(Quirks {
        no_done: true,
        ..Quirks::default()
    }));
    let body = post_text(&fake, &req).await;
    assert!(!body.contains("[DONE]") && body.ends_with("}\n\n"));
    assert_eq!(content(&parse_chunks(&body)), "a b");

    fake.push(with(Quirks {
        keep_alive_comments: true,
        ..Quirks::default()
    }));
    let body = post_text(&fake, &req).await;
    assert!(body.contains("\n: keep-alive\n") && body.contains("\ndata:\n\n"));
    assert_eq!(content(&parse_chunks(&body)), "a b");
    assert!(body.ends_with("data: [DONE]\n\n"));

    fake.push(with(Quirks {
        crlf: true,
        ..Quirks::default()
    }));
    let body = post_text(&fake, &req).await;
    assert!(body.ends_with("data: [DONE]\r\n\r\n"));
    assert_eq!(body.matches('\n').count(), body.matches("\r\n").count());
    assert_eq!(content(&parse_chunks(&body)), "a b");
}

#[tokio::test]
async fn unknown_model_is_404_and_keeps_the_queue() {
    let fake = FakeAi::start(None).await;
    fake.push(Reply::text("queued").into());
    let resp = post(&fake, &chat("gpt-nope", "hi")).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("json body");
    let error = json!({
        "message": "The model `gpt-nope` does not exist",
        "type": "invalid_request_error",
        "param": null,
        "code": "model_not_found",
    });
    assert_eq!(body["error"], error);
    let body: Value = post(&fake, &chat("fake-small", "hi"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["choices"][0]["message"]["content"], "queued");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn models_are_listed_and_settable() {
    let fake = FakeAi::start(None).await;
    let url = format!("{}/models", fake.base_url());
    let list: Value = reqwest::get(&url)
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(list["object"], "list");
    assert_eq!(
        list["data"][0],
        json!({"id": "fake-small", "object": "model", "created": 0, "owned_by": "nexus-test"})
    );
    assert_eq!(list["data"][1]["id"], "fake-large");
    fake.set_models(&["llama3"]);
    let list: Value = reqwest::get(&url)
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["data"],
        json!([{"id": "llama3", "object": "model", "created": 0, "owned_by": "nexus-test"}])
    );
    assert_eq!(post(&fake, &chat("fake-small", "hi")).await.status(), 404);
    assert_eq!(post(&fake, &chat("llama3", "hi")).await.status(), 200);
}

#[tokio::test]
async fn api_key_is_required_when_set() {
    let fake = FakeAi::start(Some("sk-test")).await;
    let http = reqwest::Client::new();
    let url = format!("{}/chat/completions", fake.base_url());
    let body = chat("fake-small", "hi");
    let resp = http.post(&url).json(&body).send().await.expect("send");
    assert_eq!(resp.status(), 401);
    let error: Value = resp.json().await.expect("json");
    assert_eq!(error["error"]["code"], "invalid_api_key");
    let resp = http
        .post(&url)
        .bearer_auth("sk-wrong")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    let resp = http
        .post(&url)
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let models = format!("{}/models", fake.base_url());
    assert_eq!(http.get(&models).send().await.expect("send").status(), 401);
    let resp = http
        .get(&models)
        .bearer_auth("sk-test")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        fake.request_count(),
        3,
        "rejected requests are recorded too"
    );
}

async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn client_disconnect_cancels_the_stream() {
    let fake = FakeAi::start(None).await;
    let slow = Reply::text("one two three four five six seven eight nine ten");
    fake.push(slow.delay(Duration::from_millis(50)).into());
    let resp = post(&fake, &streamed("fake-small", "hi", false)).await;
    assert_eq!(fake.open_streams(), 1);
    let mut events = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("one ") {
        let bytes = events.next().await.expect("more events").expect("bytes");
        seen.push_str(std::str::from_utf8(&bytes).expect("utf-8"));
    }
    drop(events);
    wait_until("the stream to close", || fake.open_streams() == 0).await;
    assert_eq!(fake.cancelled_streams(), 1);
}

#[tokio::test]
async fn stall_hangs_until_the_client_gives_up() {
    let fake = FakeAi::start(None).await;
    fake.push(Behavior::Stall);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let url = format!("{}/chat/completions", fake.base_url());
    let err = http
        .post(&url)
        .json(&chat("fake-small", "hi"))
        .send()
        .await
        .expect_err("stalls");
    assert!(err.is_timeout());
    let resp = http
        .post(&url)
        .json(&chat("fake-small", "hi"))
        .send()
        .await
        .expect("echo");
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_streams() {
    let fake = Arc::new(FakeAi::start(None).await);
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (http, url) = (
                http.clone(),
                format!("{}/chat/completions", fake.base_url()),
            );
            tokio::spawn(async move {
                let body = streamed("fake-small", &format!("number {i}"), true);
                let resp = http.post(url).json(&body).send().await.expect("send");
                let text = resp.text().await.expect("read");
                assert_eq!(content(&parse_chunks(&text)), format!("Echo: number {i}"));
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("stream task");
    }
    assert_eq!((fake.open_streams(), fake.cancelled_streams()), (0, 0));
    assert_eq!(fake.request_count(), 200);
}

#[tokio::test]
async fn a_repeated_prompt_prefix_is_reported_as_cached() {
    let fake = FakeAi::start(None).await;
    let first = post(&fake, &chat("fake-small", "hello there")).await;
    let usage = first.json::<Value>().await.expect("json")["usage"].clone();
    assert!(usage.get("prompt_tokens_details").is_none(), "{usage}");

    // The next turn repeats the first two messages: their four words come from the cache.
    let mut next = chat("fake-small", "hello there");
    let turns = next["messages"].as_array_mut().expect("messages");
    turns.push(json!({"role": "assistant", "content": "Echo: hello there"}));
    turns.push(json!({"role": "user", "content": "and again"}));
    let mut streamed_next = next.clone();
    let usage = post(&fake, &next)
        .await
        .json::<Value>()
        .await
        .expect("json")["usage"]
        .clone();
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"], 4,
        "{usage}"
    );
    assert_eq!(usage["prompt_tokens"], 9 + PROMPT_OVERHEAD);

    // Streamed, the final usage chunk says the same; another model has a cache of its own.
    streamed_next["stream"] = json!(true);
    streamed_next["stream_options"] = json!({"include_usage": true});
    let chunks = parse_chunks(&post_text(&fake, &streamed_next).await);
    let usage = &chunks.last().expect("usage chunk")["usage"];
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"], 9,
        "{usage}"
    );
    streamed_next["model"] = json!("fake-large");
    let chunks = parse_chunks(&post_text(&fake, &streamed_next).await);
    let usage = &chunks.last().expect("usage chunk")["usage"];
    assert!(usage.get("prompt_tokens_details").is_none(), "{usage}");
}
