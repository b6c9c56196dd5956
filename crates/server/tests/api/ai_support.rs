//! Helpers for the AI tests: a workspace with the assistant on and a fake provider, and
//! a reader for Server-Sent Events.

use nexus_testkit::fake_ai::FakeAi;
use nexus_testkit::{Client, Resp, TestApp};
use serde_json::{Value, json};

/// Switch the assistant on and add `fake` as a provider; returns the provider's id.
pub async fn enable_ai(c: &Client, ws: &str, fake: &FakeAi, name: &str) -> String {
    switch_on_assistant(c, ws).await;
    add_provider(c, ws, fake, name).await
}

/// An owner of a new workspace with the assistant on and a fake provider, and a first
/// conversation: the start of most AI tests.
pub async fn ai_owner(app: &TestApp, title: &str) -> (FakeAi, Client, String, String) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = crate::owner(app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": title })).await;
    (fake, o, ws, conv)
}

/// Make `conv` readable by the workspace's members (its creator `c` may).
pub async fn share_with_workspace(c: &Client, ws: &str, conv: &str) {
    let r = c
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}"),
            json!({ "visibility": "workspace" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

pub async fn switch_on_assistant(c: &Client, ws: &str) {
    let r = c
        .put(
            &format!("/api/v1/workspaces/{ws}/modules/assistant"),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

pub async fn add_provider(c: &Client, ws: &str, fake: &FakeAi, name: &str) -> String {
    let r = c
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": name, "base_url": fake.base_url(), "api_key": "sk-fake-key", "models": ["fake-small", "fake-large"] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.id()
}

/// The conversation's title once it has one: titles are written after the first
/// exchange, once its answer is saved.
pub async fn wait_for_title(c: &Client, ws: &str, conv: &str) -> String {
    for _ in 0..200 {
        let title = c
            .get(&format!("/api/v1/workspaces/{ws}/conversations/{conv}"))
            .await
            .body["title"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !title.is_empty() {
            return title;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no title was generated");
}

pub async fn conversation(c: &Client, ws: &str, body: Value) -> String {
    let r = c
        .post(&format!("/api/v1/workspaces/{ws}/conversations"), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.id()
}

#[derive(Debug, Clone)]
pub struct SseEvent {
    pub name: String,
    pub data: Value,
}

pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|block| {
            let mut name = "message".to_owned();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (!data.is_empty()).then(|| SseEvent {
                name,
                data: serde_json::from_str(&data).unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Send a message to `conv` and wait for the whole answer (201); the answer's body
/// (`user_message`, `assistant_message`).
pub async fn ask(c: &Client, ws: &str, conv: &str, question: &str) -> Value {
    let r = c
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": question }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// Send a message to `conv` and wait for the whole answer (201), in a task of its own:
/// the test goes on while the answer is written.
pub fn send_in_background(
    c: &Client,
    ws: &str,
    conv: &str,
    content: &str,
) -> tokio::task::JoinHandle<Resp> {
    let (c, body) = (c.clone(), json!({ "content": content }));
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    tokio::spawn(async move { c.post(&url, body).await })
}

/// Send a message asking for a stream; returns the status and the events.
pub async fn send_streamed(
    c: &Client,
    ws: &str,
    conv: &str,
    body: Value,
) -> (u16, Vec<SseEvent>, String) {
    let r: Resp = c.send(stream_request(c, ws, conv, body)).await;
    (r.status, parse_sse(&r.text), r.text)
}

/// Send a message asking for a stream, and hand back the answer still streaming: for a
/// test that acts while it streams (leaves, deletes the conversation, …).
pub async fn open_stream(c: &Client, ws: &str, conv: &str, body: Value) -> reqwest::Response {
    stream_request(c, ws, conv, body)
        .send()
        .await
        .expect("send")
}

fn stream_request(c: &Client, ws: &str, conv: &str, body: Value) -> reqwest::RequestBuilder {
    c.request(
        reqwest::Method::POST,
        &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
    )
    .header("accept", "text/event-stream")
    .json(&body)
}

/// The answer's text, from its `delta` events.
pub fn text_of(events: &[SseEvent]) -> String {
    texts_of(events, "delta")
}

/// A reasoning model's thoughts, from the `reasoning` events.
pub fn reasoning_of(events: &[SseEvent]) -> String {
    texts_of(events, "reasoning")
}

fn texts_of(events: &[SseEvent], name: &str) -> String {
    events
        .iter()
        .filter(|e| e.name == name)
        .filter_map(|e| e.data["text"].as_str())
        .collect()
}

pub fn last(events: &[SseEvent]) -> &SseEvent {
    events.last().expect("at least one event")
}

/// Wait (up to 3 s) until the conversation's message at `index` has `status`; returns it.
pub async fn wait_for_message(
    c: &Client,
    ws: &str,
    conv: &str,
    index: usize,
    status: &str,
) -> Value {
    wait_for_message_where(c, ws, conv, index, status, |m| m["status"] == status).await
}

/// Wait (up to 3 s) until the conversation's message at `index` is `what` (`ok` says
/// when); returns it.
pub async fn wait_for_message_where(
    c: &Client,
    ws: &str,
    conv: &str,
    index: usize,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let list = c
            .get(&format!(
                "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
            ))
            .await;
        last = list.body["items"][index].clone();
        if ok(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("message {index} never reached {what}: {last}");
}

/// Read an answer's stream until `what` has come `times` times; what was read.
pub async fn read_until(
    body: &mut (impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    what: &str,
    times: usize,
) -> String {
    use futures::StreamExt;
    let mut seen = String::new();
    while seen.matches(what).count() < times {
        let chunk = body.next().await.expect("stream").expect("chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}
