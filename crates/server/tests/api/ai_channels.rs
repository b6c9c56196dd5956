//! The other ways answers travel (the WebSocket), what gets measured, and the per-member
//! quota and finish-in-background settings.

use futures::{SinkExt, StreamExt};
use nexus_testkit::fake_ai::{Behavior, FakeAi, Reply};
use nexus_testkit::{Engine, TestApp, member_with_role};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::ai_support::{conversation, enable_ai, open_stream, wait_for_message};
use crate::{assert_error, owner};

async fn signup_cookie(app: &TestApp, email: &str) -> (nexus_testkit::Client, String) {
    let c = app.client();
    let r = c
        .post(
            "/api/v1/auth/signup",
            json!({ "email": email, "password": nexus_testkit::PASSWORD, "name": "W" }),
        )
        .await;
    c.set_csrf(r.body["csrf_token"].as_str().map(str::to_owned));
    let cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    (c, cookie.split(';').next().unwrap_or_default().to_owned())
}

/// A signed-up owner (with the session cookie a socket opens with) of a new workspace
/// named `name`, with the assistant on and a fake provider: what the socket tests start
/// from.
async fn socket_owner(
    app: &TestApp,
    name: &str,
) -> (FakeAi, nexus_testkit::Client, String, String) {
    let fake = FakeAi::start(None).await;
    let (o, cookie) = signup_cookie(app, &format!("{}@example.com", name.to_lowercase())).await;
    let ws = o.create_workspace(name).await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    (fake, o, cookie, ws)
}

/// An app whose month leaves room for long messages and answers (these tests are about
/// the socket, not the quota).
async fn roomy_app() -> Option<TestApp> {
    TestApp::spawn_with(Engine::Sqlite, |s| {
        s.plans.free.monthly_ai_tokens = ROOMY;
    })
    .await
}

const ROOMY: u64 = 10_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_websocket_multiplexes_many_conversations() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let (_fake, o, cookie, ws) = socket_owner(&app, "Sockets").await;
    let a = conversation(&o, &ws, json!({ "title": "A" })).await;
    let b = conversation(&o, &ws, json!({ "title": "B" })).await;

    let url = format!("ws://{}/api/v1/ws", app.addr);
    let mut request = url.clone().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    // The second is thought over first (the fake's convention), so its thoughts come too.
    for (conv, text) in [(&a, "first"), (&b, "Think it over: second")] {
        let frame = json!({ "type": "send", "ref": text, "workspace_id": ws, "conversation_id": conv, "content": text });
        socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
    }
    let mut done = std::collections::HashMap::new();
    let mut deltas = 0;
    let mut thoughts = String::new();
    while done.len() < 2 {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("frame");
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(&text).expect("json");
        match v["type"].as_str() {
            Some("delta") => deltas += 1,
            Some("reasoning") => {
                assert_eq!(v["conversation_id"], json!(b), "{v}");
                thoughts.push_str(v["data"]["text"].as_str().unwrap_or_default());
            }
            Some("done") => {
                done.insert(
                    v["conversation_id"].as_str().unwrap_or_default().to_owned(),
                    v["data"]["content"].clone(),
                );
            }
            Some("error") => panic!("error frame: {v}"),
            _ => {}
        }
    }
    assert!(deltas >= 4);
    assert_eq!(done[&a], "Echo: first");
    assert_eq!(done[&b], "Echo: Think it over: second");
    assert_eq!(thoughts, "Pondering second");

    // Errors come back as frames, with the same codes as HTTP.
    let frame = json!({ "type": "send", "workspace_id": ws, "conversation_id": uuid::Uuid::now_v7(), "content": "x" });
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
    loop {
        let Some(Ok(Message::Text(text))) = socket.next().await else {
            panic!("socket closed")
        };
        let v: Value = serde_json::from_str(&text).expect("json");
        if v["type"] == "error" {
            assert_eq!(v["data"]["code"], "not_found");
            break;
        }
    }

    // Without a session there is no socket, and another site cannot open one.
    assert!(tokio_tungstenite::connect_async(url.clone()).await.is_err());
    let mut cross = url.into_client_request().expect("request");
    cross
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    cross
        .headers_mut()
        .insert("origin", "http://evil.example".parse().expect("origin"));
    assert!(tokio_tungstenite::connect_async(cross).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_metrics_are_exported() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.ai_retry_base_ms = 1).await else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Metered").await;
    let conv = conversation(&o, &ws, json!({ "title": "M" })).await;
    fake.push_many([
        Behavior::Status {
            code: 500,
            retry_after: None,
        },
        Behavior::Echo,
    ]);
    o.post(
        &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
        json!({ "content": "count me" }),
    )
    .await;
    let metrics = o.get("/metrics").await.text;
    for name in [
        "ai_time_to_first_token_seconds",
        "ai_time_between_tokens_seconds",
        "ai_tokens_total",
        "ai_provider_errors_total",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
    assert!(metrics.contains("kind=\"server_error\""));
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(app: &TestApp, cookie: &str) -> Socket {
    let mut request = format!("ws://{}/api/v1/ws", app.addr)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    tokio_tungstenite::connect_async(request)
        .await
        .expect("connect")
        .0
}

async fn send_frame(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .expect("send");
}

/// The next frame of `type`, skipping others; panics after 10 s.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} frame"))
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text).expect("json");
            if v["type"] == kind {
                return v;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_cancel_stops_the_answer_even_when_answers_finish_in_the_background() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.ai_finish_in_background = true).await
    else {
        return;
    };
    let (fake, o, cookie, ws) = socket_owner(&app, "Stop").await;
    let conv = conversation(&o, &ws, json!({ "title": "Stop" })).await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(200)).delay(Duration::from_millis(20)),
    ));
    let mut socket = open_socket(&app, &cookie).await;
    send_frame(&mut socket, json!({ "type": "send", "ref": "s1", "workspace_id": ws, "conversation_id": conv, "content": "talk" })).await;
    next_of(&mut socket, "delta").await;
    // Another reference names no answer of this conversation: nothing stops.
    send_frame(
        &mut socket,
        json!({ "type": "cancel", "conversation_id": conv, "ref": "other" }),
    )
    .await;
    next_of(&mut socket, "delta").await;
    send_frame(
        &mut socket,
        json!({ "type": "cancel", "conversation_id": conv, "ref": "s1" }),
    )
    .await;
    let end = next_of(&mut socket, "error").await;
    assert_eq!(end["ref"], "s1", "{end}");
    assert_eq!(end["data"]["code"], "cancelled", "{end}");
    let answer = &end["data"]["assistant_message"];
    assert_eq!(answer["status"], "interrupted", "{end}");
    let kept = answer["content"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .count();
    assert!(kept > 0 && kept < 200, "{end}");
    // The provider's request was cancelled, and what was saved is what the frame said.
    for _ in 0..100 {
        if fake.cancelled_streams() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.cancelled_streams(), 1);
    let saved = wait_for_message(&o, &ws, &conv, 1, "interrupted").await;
    assert_eq!(saved["content"], answer["content"]);
}

/// A message as long as HTTP takes (here 90,000 four-byte characters, 360 kB) fits in a
/// frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_takes_a_message_as_long_as_http_does() {
    // Room in the month's quota for what such a message may cost (up to three tokens an
    // emoji): this is about the socket's frame size, not the quota.
    let Some(app) = roomy_app().await else {
        return;
    };
    let (fake, o, cookie, ws) = socket_owner(&app, "Long").await;
    let conv = conversation(&o, &ws, json!({ "title": "Long" })).await;
    fake.push(Behavior::Reply(Reply::text("Read it all.")));
    let mut socket = open_socket(&app, &cookie).await;
    let content = "\u{1F600}".repeat(90_000);
    send_frame(
        &mut socket,
        json!({ "type": "send", "workspace_id": ws, "conversation_id": conv, "content": content }),
    )
    .await;
    let saved = next_of(&mut socket, "message").await;
    assert_eq!(
        saved["data"]["content"].as_str().map(|c| c.chars().count()),
        Some(90_000)
    );
    let done = next_of(&mut socket, "done").await;
    assert_eq!(done["data"]["content"], "Read it all.");
}

/// What comes back for a frame the socket does not take is small: a `ref` (copied into
/// every event of its answer) longer than 64 characters is refused, and a parse error
/// does not quote a megabyte back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_refuses_long_refs_and_quotes_little_of_a_bad_frame() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let (_fake, o, cookie, ws) = socket_owner(&app, "Refs").await;
    let conv = conversation(&o, &ws, json!({ "title": "Refs" })).await;
    let mut socket = open_socket(&app, &cookie).await;
    let send = |reference: String| json!({ "type": "send", "ref": reference, "workspace_id": ws, "conversation_id": conv, "content": "hi" });

    send_frame(&mut socket, send("r".repeat(65))).await;
    let refused = next_of(&mut socket, "error").await;
    assert_eq!(refused["data"]["code"], "bad_frame", "{refused}");
    assert_eq!(refused["ref"], Value::Null);
    let huge = format!("{{\"type\":\"{}\"}}", "x".repeat(1_000_000));
    socket.send(Message::Text(huge.into())).await.expect("send");
    let unread = next_of(&mut socket, "error").await;
    assert_eq!(unread["data"]["code"], "bad_frame");
    assert!(
        unread.to_string().len() < 500,
        "{}",
        unread.to_string().len()
    );

    // Sixty-four characters are fine; the refused send started nothing.
    let longest = "é".repeat(64);
    send_frame(&mut socket, send(longest.clone())).await;
    let done = next_of(&mut socket, "done").await;
    assert_eq!(done["ref"], longest.as_str());
    let messages = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    assert_eq!(messages.body["items"].as_array().map(Vec::len), Some(2));
}

/// An answer awaited as one JSON document and stopped (from another tab, say) before
/// its first word is refused as stopped, 409 `cancelled`, not as a failure of the
/// provider's; the saved messages come with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_awaited_as_json_and_stopped_before_a_word_is_a_conflict() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let (fake, o, ws, conv) = crate::ai_support::ai_owner(&app, "Stopped").await;
    fake.push(Behavior::Reply(
        Reply::text("too late").delay(Duration::from_secs(5)),
    ));
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    let sent = crate::ai_support::send_in_background(&o, &ws, &conv, "take your time");
    let answer = wait_for_message(&o, &ws, &conv, 1, "streaming").await;
    let id = answer["id"].as_str().expect("id");
    assert_eq!(
        o.post(&format!("{url}/{id}/stop"), json!({})).await.status,
        204
    );
    let r = sent.await.expect("the request");
    assert_error(&r, 409, "cancelled");
    assert_eq!(
        r.body["error"]["details"]["assistant_message"]["status"], "interrupted",
        "{}",
        r.text
    );
    assert_eq!(
        r.body["error"]["details"]["user_message"]["content"],
        "take your time"
    );
}

/// A conversation is not shared while an answer is being written: that answer's kept
/// results (a search of the creator's private conversations, say) would be saved whole
/// after the sharing took the private ones out of the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_is_not_shared_while_an_answer_is_written() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let (fake, o, ws, conv) = crate::ai_support::ai_owner(&app, "Not yet").await;
    fake.push(Behavior::Reply(
        Reply::text("slowly").delay(Duration::from_millis(1500)),
    ));
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}");
    let sent = crate::ai_support::send_in_background(&o, &ws, &conv, "go");
    wait_for_message(&o, &ws, &conv, 1, "streaming").await;
    let share = json!({ "visibility": "workspace" });
    assert_error(&o.patch(&url, share.clone()).await, 409, "answer_streaming");
    assert_eq!(o.get(&url).await.body["visibility"], "private");
    assert_eq!(sent.await.expect("the request").status, 201);
    let shared = o.patch(&url, share).await;
    assert_eq!(shared.status, 200, "{}", shared.text);
    assert_eq!(shared.body["visibility"], "workspace");
}

/// A cached answer streams like a model's, and stops like one. Here a socket takes
/// nothing while a long cached answer waits for it (the buffers on the way fill up):
/// `cancel` still ends the answer, saved as far as it got, and its reservation settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_answer_stops_on_request_while_its_reader_takes_nothing() {
    let Some(app) = roomy_app().await else {
        return;
    };
    let (fake, o, cookie, ws) = socket_owner(&app, "Cached").await;
    let first = conversation(&o, &ws, json!({ "title": "First" })).await;
    let second = conversation(&o, &ws, json!({ "title": "Second" })).await;
    const WORDS: usize = 200_000;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(WORDS)).chunk_chars(50_000),
    ));
    let question = json!({ "content": "say it all", "temperature": 0 });
    let primed = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{first}/messages"),
            question.clone(),
        )
        .await;
    assert_eq!(primed.status, 201, "{}", primed.text);

    let mut socket = open_socket(&app, &cookie).await;
    let mut send = question;
    send["type"] = json!("send");
    send["ref"] = json!("r".repeat(64));
    send["workspace_id"] = json!(ws);
    send["conversation_id"] = json!(second);
    send_frame(&mut socket, send).await;
    // Nothing is read: the socket's buffers and queues fill, and the answer waits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = wait_for_message(&o, &ws, &second, 1, "streaming").await;
    assert_eq!(waiting["status"], "streaming");
    send_frame(
        &mut socket,
        json!({ "type": "cancel", "conversation_id": second }),
    )
    .await;
    let stopped = wait_for_message(&o, &ws, &second, 1, "interrupted").await;
    assert_eq!(stopped["error"]["code"], "cancelled", "{stopped}");
    assert_eq!(stopped["cached"], true);
    let kept = stopped["content"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .count();
    assert!(kept > 0 && kept < WORDS, "{kept} words kept");
    // It holds nothing of the quota once it ends.
    crate::ai_resilience::assert_all_settled(&app, &o, &ws, &[second], 2, ROOMY).await;
    assert_eq!(fake.request_count(), 1);
}

/// Signing out ends the socket too: the next `send` is refused, the answers still
/// streaming on the socket stop, each with its final event, and the socket closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_outlives_no_session() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let (fake, o, cookie, ws) = socket_owner(&app, "Out").await;
    let conv = conversation(&o, &ws, json!({ "title": "Out" })).await;
    let other = conversation(&o, &ws, json!({ "title": "Slow" })).await;
    let mut socket = open_socket(&app, &cookie).await;
    let send =
        json!({ "type": "send", "workspace_id": ws, "conversation_id": conv, "content": "hi" });
    send_frame(&mut socket, send.clone()).await;
    next_of(&mut socket, "done").await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(200)).delay(Duration::from_millis(20)),
    ));
    send_frame(&mut socket, json!({ "type": "send", "ref": "slow", "workspace_id": ws, "conversation_id": other, "content": "go on" })).await;
    next_of(&mut socket, "delta").await;
    assert_eq!(o.post("/api/v1/auth/logout", json!({})).await.status, 204);
    send_frame(&mut socket, send).await;
    let refused = next_of(&mut socket, "error").await;
    assert_eq!(refused["data"]["code"], "unauthenticated", "{refused}");
    let mut ended = None;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(Message::Text(text))) => {
                let v: Value = serde_json::from_str(&text).expect("json");
                if v["type"] == "error" {
                    ended = Some(v);
                }
            }
            Some(Ok(_)) => {}
            other => panic!("closed without a close frame: {other:?}"),
        }
    };
    let ended = ended.expect("the streaming answer's final event");
    assert_eq!(ended["ref"], "slow", "{ended}");
    assert_eq!(ended["data"]["code"], "cancelled", "{ended}");
    assert_eq!(
        ended["data"]["assistant_message"]["status"], "interrupted",
        "{ended}"
    );
    assert_eq!(close.map(|f| u16::from(f.code)), Some(1008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_websocket_answers_with_a_final_event_then_closes() {
    let Some(mut app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let (fake, o, cookie, ws) = socket_owner(&app, "Down").await;
    let a = conversation(&o, &ws, json!({ "title": "A" })).await;
    let b = conversation(&o, &ws, json!({ "title": "B" })).await;
    fake.push_many((0..2).map(|_| {
        Behavior::Reply(Reply::text("slow ".repeat(500)).delay(Duration::from_millis(20)))
    }));
    let mut socket = open_socket(&app, &cookie).await;
    for conv in [&a, &b] {
        send_frame(&mut socket, json!({ "type": "send", "workspace_id": ws, "conversation_id": conv, "content": "talk slowly" })).await;
    }
    next_of(&mut socket, "delta").await;
    let started = std::time::Instant::now();
    app.begin_shutdown();
    let mut ended = std::collections::HashSet::new();
    let close = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("frame");
        match msg {
            Message::Text(text) => {
                let v: Value = serde_json::from_str(&text).expect("json");
                if v["type"] == "error" {
                    assert_eq!(v["data"]["code"], "server_shutting_down", "{v}");
                    assert_eq!(
                        v["data"]["assistant_message"]["status"], "interrupted",
                        "{v}"
                    );
                    ended.insert(v["conversation_id"].as_str().unwrap_or_default().to_owned());
                }
            }
            Message::Close(frame) => break frame,
            _ => {}
        }
    };
    assert_eq!(
        ended.len(),
        2,
        "every answer got its final event before the close"
    );
    assert_eq!(
        close.map(|f| u16::from(f.code)),
        Some(1001),
        "closed as going away"
    );
    assert!(app.stopped_within(Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_can_finish_in_the_background() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.ai_finish_in_background = true).await
    else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Background" })).await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(30)).delay(Duration::from_millis(10)),
    ));
    let mut body = open_stream(&o, &ws, &conv, json!({ "content": "go on without me" }))
        .await
        .bytes_stream();
    let _ = body.next().await;
    drop(body);
    let saved = wait_for_message(&o, &ws, &conv, 1, "complete").await;
    assert_eq!(
        saved["content"]
            .as_str()
            .map(|c| c.split_whitespace().count()),
        Some(30)
    );
    assert_eq!(fake.cancelled_streams(), 0);
}

/// `…/messages/{mid}/stop` stops an answer that would otherwise finish in the
/// background (the web's Stop sends it beside closing its stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_stops_on_request_even_when_answers_finish_in_the_background() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.ai_finish_in_background = true).await
    else {
        return;
    };
    let (fake, o, ws, conv) = crate::ai_support::ai_owner(&app, "Stop me").await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(200)).delay(Duration::from_millis(20)),
    ));
    let mut body = open_stream(&o, &ws, &conv, json!({ "content": "go on" }))
        .await
        .bytes_stream();
    let mut text = crate::ai_support::read_until(&mut body, "event: delta", 1).await;
    let events = crate::ai_support::parse_sse(&text);
    let message = events
        .iter()
        .find(|e| e.name == "message")
        .expect("message event");
    let answer = message.data["assistant_message_id"]
        .as_str()
        .expect("answer id")
        .to_owned();
    let user = message.data["id"]
        .as_str()
        .expect("user message id")
        .to_owned();
    let stop =
        |id: &str| format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages/{id}/stop");
    assert_eq!(o.post(&stop(&answer), json!({})).await.status, 204);
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
    }
    let events = crate::ai_support::parse_sse(&text);
    let end = events.last().expect("events");
    assert_eq!(end.name, "error", "{text}");
    assert_eq!(end.data["code"], "cancelled", "{text}");
    assert_eq!(end.data["assistant_message"]["status"], "interrupted");
    for _ in 0..100 {
        if fake.cancelled_streams() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.cancelled_streams(), 1);
    assert_error(
        &o.post(&stop(&answer), json!({})).await,
        409,
        "answer_finished",
    );
    assert_error(&o.post(&stop(&user), json!({})).await, 404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_quota_limits_one_member_only_sqlite() {
    a_member_quota_limits_one_member_only(Engine::Sqlite).await;
}

/// On PostgreSQL a per-member limit takes the reservation's long way (two counter rows
/// in a transaction of their own), not the one-round-trip save.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_quota_limits_one_member_only_postgres() {
    a_member_quota_limits_one_member_only(Engine::Postgres).await;
}

async fn a_member_quota_limits_one_member_only(engine: Engine) {
    let Some(app) = TestApp::spawn_with(engine, |s| s.ai_max_completion_tokens = 50).await else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let r = o
        .put(
            &format!("/api/v1/workspaces/{ws}/ai/settings"),
            // A reservation is the prompt (with the tools' schemas, a couple of hundred
            // tokens) and 50 for the answer: a few messages fit.
            json!({ "member_monthly_tokens": 400 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let conv = conversation(&m, &ws, json!({ "title": "Budget" })).await;
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    assert_eq!(m.post(&url, json!({ "content": "one" })).await.status, 201);
    let mut refused = None;
    let mut answered = 1;
    for _ in 0..40 {
        let r = m.post(&url, json!({ "content": "more please" })).await;
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        answered += 1;
    }
    let r = refused.expect("the member's quota ran out");
    assert_error(&r, 429, "ai_quota_exceeded");
    // A refused message leaves nothing behind (on SQLite the reservation is part of the
    // save's transaction, and rolls back with it; on PostgreSQL the refusal comes before
    // the save).
    let saved = m.get(&url).await;
    assert_eq!(
        saved.body["items"].as_array().map(Vec::len),
        Some(2 * answered),
        "{}",
        saved.text
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Your"))
    );
    // The owner still has the workspace's budget.
    let own = conversation(&o, &ws, json!({ "title": "Mine" })).await;
    assert_eq!(
        o.post(
            &format!("/api/v1/workspaces/{ws}/conversations/{own}/messages"),
            json!({ "content": "fine" })
        )
        .await
        .status,
        201
    );
}
