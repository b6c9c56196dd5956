use futures::StreamExt;
use nexus_testkit::fake_ai::{Behavior, FakeAi, Reply};
use nexus_testkit::{Engine, TestApp, member_with_role};
use serde_json::json;
use std::time::Duration;

use crate::ai_support::{
    add_provider, ai_owner, conversation, enable_ai, last, open_stream, parse_sse, send_streamed,
    text_of, wait_for_message, wait_for_message_where, wait_for_title,
};
use crate::{assert_error, owner};

/// Fast retries and a short breaker, so the tests take milliseconds.
async fn app(engine: Engine) -> Option<TestApp> {
    TestApp::spawn_with(engine, |s| {
        s.ai_retry_base_ms = 1;
        s.ai_breaker_open_secs = 1;
        s.ai_first_token_timeout_secs = 1;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_respect_retry_after_then_fail_over() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let primary = FakeAi::start(None).await;
    let backup = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &primary, "Primary").await;
    let backup_id = add_provider(&o, &ws, &backup, "Backup").await;
    let conv = conversation(&o, &ws, json!({ "title": "Failover" })).await;

    // A 429 with Retry-After, then success: retried on the same provider.
    primary.push_many([
        Behavior::Status {
            code: 429,
            retry_after: Some(0),
        },
        Behavior::Echo,
    ]);
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "one" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(primary.request_count(), 2);

    // Three 5xx: three attempts, then the next provider answers.
    primary.push_many([
        Behavior::Status {
            code: 500,
            retry_after: None,
        },
        Behavior::Status {
            code: 502,
            retry_after: None,
        },
        Behavior::Status {
            code: 503,
            retry_after: None,
        },
    ]);
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "two" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(primary.request_count(), 5);
    assert_eq!(backup.request_count(), 1);
    assert_eq!(
        r.body["assistant_message"]["provider_id"],
        backup_id.as_str()
    );

    // A provider asking to wait too long is skipped at once.
    primary.push(Behavior::Status {
        code: 429,
        retry_after: Some(120),
    });
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "three" }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(primary.request_count(), 6);
    assert_eq!(backup.request_count(), 2);

    // A 4xx other than 429 is not retried.
    primary.push(Behavior::Status {
        code: 400,
        retry_after: None,
    });
    o.post(
        &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
        json!({ "content": "four" }),
    )
    .await;
    assert_eq!(primary.request_count(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_five_failures_and_half_opens() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let flaky = FakeAi::start(None).await;
    let backup = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &flaky, "Flaky").await;
    add_provider(&o, &ws, &backup, "Backup").await;
    let conv = conversation(&o, &ws, json!({ "title": "Breaker" })).await;
    let send = |text: &'static str| {
        let o = o.clone();
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        async move { o.post(&url, json!({ "content": text })).await }
    };
    flaky.push_many((0..6).map(|_| Behavior::Status {
        code: 500,
        retry_after: None,
    }));
    assert_eq!(send("a").await.status, 201); // 3 failures
    assert_eq!(send("b").await.status, 201); // 2 more: open
    assert_eq!(flaky.request_count(), 5);
    let providers = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/providers"))
        .await;
    assert_eq!(
        providers.body["items"][0]["circuit"], "open",
        "{}",
        providers.text
    );
    assert_eq!(send("c").await.status, 201);
    assert_eq!(flaky.request_count(), 5, "an open circuit is skipped");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Half-open: one trial, which meets the sixth queued failure and reopens the circuit.
    assert_eq!(send("d").await.status, 201);
    assert_eq!(flaky.request_count(), 6, "one trial request");
    assert_eq!(
        o.get(&format!("/api/v1/workspaces/{ws}/ai/providers"))
            .await
            .body["items"][0]["circuit"],
        "open",
        "a failed trial reopens"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(send("e").await.status, 201);
    assert_eq!(
        o.get(&format!("/api/v1/workspaces/{ws}/ai/providers"))
            .await
            .body["items"][0]["circuit"],
        "closed"
    );
}

/// A request the provider refuses (400) says nothing about the provider: it fails over
/// without retrying, and the circuit stays closed however many there are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_do_not_open_the_circuit() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let picky = FakeAi::start(None).await;
    let backup = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &picky, "Picky").await;
    add_provider(&o, &ws, &backup, "Backup").await;
    let conv = conversation(&o, &ws, json!({ "title": "Refused" })).await;
    picky.push_many((0..6).map(|_| Behavior::Status {
        code: 400,
        retry_after: None,
    }));
    for text in ["a", "b", "c", "d", "e", "f"] {
        let r = o
            .post(
                &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
                json!({ "content": text }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(picky.request_count(), 6, "one attempt each, no retries");
    let circuit = || async {
        o.get(&format!("/api/v1/workspaces/{ws}/ai/providers"))
            .await
            .body["items"][0]["circuit"]
            .clone()
    };
    assert_eq!(circuit().await, "closed");

    // A half-open circuit's trial that is refused closes it: the provider answered.
    picky.push_many((0..5).map(|_| Behavior::Status {
        code: 500,
        retry_after: None,
    }));
    for text in ["g", "h"] {
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        assert_eq!(o.post(&url, json!({ "content": text })).await.status, 201);
    }
    assert_eq!(circuit().await, "open");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    picky.push(Behavior::Status {
        code: 400,
        retry_after: None,
    });
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    assert_eq!(o.post(&url, json!({ "content": "i" })).await.status, 201);
    assert_eq!(circuit().await, "closed");
}

/// An answer the token limit cuts off says so and is kept (as interrupted: not cached).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cut_off_by_the_length_limit_says_so() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Long" })).await;
    fake.push(Behavior::Reply(
        Reply::text("a long answer that").length_limited(),
    ));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "go on" })).await;
    assert_eq!(last(&events).name, "error", "{raw}");
    assert_eq!(last(&events).data["code"], "ai_length_limit");
    let saved = &last(&events).data["assistant_message"];
    assert_eq!(saved["status"], "interrupted");
    assert_eq!(saved["content"], "a long answer that");
}

/// A provider that fails in a later round (after tools ran) leaves an interrupted answer
/// that keeps what arrived, not a failed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_a_tool_round_keeps_what_arrived() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let (fake, o, ws, conv) = ai_owner(&app, "Flaky").await;
    fake.push(Behavior::ToolCallAfterText {
        text: "Let me look. ".into(),
        name: "list_members".into(),
        arguments: json!({}),
    });
    fake.push_many((0..3).map(|_| Behavior::Status {
        code: 500,
        retry_after: None,
    }));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "who?" })).await;
    assert_eq!(last(&events).name, "error", "{raw}");
    assert_eq!(last(&events).data["code"], "ai_provider_error", "{raw}");
    let saved = &last(&events).data["assistant_message"];
    assert_eq!(saved["status"], "interrupted", "{raw}");
    assert_eq!(saved["content"], "Let me look. ");
    assert_eq!(saved["tool_calls"][0]["name"], "list_members");
}

/// A model that asks for tools round after round: the last round's tools are not run
/// (no round is left to read their results), and the answer ends interrupted, saying
/// why, with what the earlier rounds found kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_keeps_asking_for_tools_is_stopped_without_running_them_for_nothing() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let (fake, o, ws, conv) = ai_owner(&app, "Loop").await;
    fake.push_many((0..5).map(|_| Behavior::ToolCall {
        name: "list_members".into(),
        arguments: json!({}),
    }));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "who?" })).await;
    assert_eq!(last(&events).name, "error", "{raw}");
    assert_eq!(last(&events).data["code"], "ai_tool_rounds", "{raw}");
    let saved = &last(&events).data["assistant_message"];
    assert_eq!(saved["status"], "interrupted", "{raw}");
    assert_eq!(
        saved["tool_calls"].as_array().map(Vec::len),
        Some(4),
        "{raw}"
    );
    let results = events.iter().filter(|e| e.name == "tool_result").count();
    assert_eq!(results, 4, "{raw}");
    assert_eq!(fake.request_count(), 5);
}

/// Awaited as one JSON document, an answer is not cut by the server's request timeout,
/// and one cut short with what arrived kept is an answer (201), saying how it ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_answer_outlasts_the_request_timeout_and_a_cut_one_is_kept() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.request_timeout_secs = 1;
    })
    .await
    else {
        return;
    };
    let (fake, o, ws, conv) = ai_owner(&app, "Patience").await;
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    // 15 words, 100 ms apart: half as long again as the request timeout.
    fake.push(Behavior::Reply(
        Reply::text("slow ".repeat(15)).delay(Duration::from_millis(100)),
    ));
    let r = o.post(&url, json!({ "content": "take your time" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assistant_message"]["status"], "complete");

    fake.push(Behavior::Reply(
        Reply::text("a long answer that").length_limited(),
    ));
    let r = o.post(&url, json!({ "content": "go on" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let answer = &r.body["assistant_message"];
    assert_eq!(answer["status"], "interrupted");
    assert_eq!(answer["content"], "a long answer that");
    assert_eq!(answer["error"]["code"], "ai_length_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_provider_times_out_and_fails_over() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let stalled = FakeAi::start(None).await;
    let backup = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &stalled, "Stalled").await;
    add_provider(&o, &ws, &backup, "Backup").await;
    let conv = conversation(&o, &ws, json!({ "title": "Timeout" })).await;
    stalled.push_many([Behavior::Stall, Behavior::Stall, Behavior::Stall]);
    let started = std::time::Instant::now();
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "hi" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(backup.request_count(), 1);
    assert!(started.elapsed() < Duration::from_secs(10));

    // Every provider failing: the answer is saved as an error, and the client told so.
    stalled.push_many((0..3).map(|_| Behavior::Status {
        code: 500,
        retry_after: None,
    }));
    backup.push_many((0..3).map(|_| Behavior::Status {
        code: 500,
        retry_after: None,
    }));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "anyone?" })).await;
    assert_eq!(last(&events).name, "error", "{raw}");
    assert_eq!(last(&events).data["code"], "ai_provider_error");
    assert_eq!(last(&events).data["assistant_message"]["status"], "error");
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "json?" }),
        )
        .await;
    // (the providers recovered: the queue is empty again)
    assert_eq!(r.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_midway_keeps_what_arrived() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Cut" })).await;
    fake.push(Behavior::DropMidStream {
        text: "one two three four five six".into(),
        after_chunks: 3,
    });
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "count" })).await;
    assert_eq!(last(&events).name, "error", "{raw}");
    assert_eq!(last(&events).data["code"], "ai_stream_interrupted");
    let saved = &last(&events).data["assistant_message"];
    assert_eq!(saved["status"], "interrupted");
    assert_eq!(saved["content"], text_of(&events));
    assert!(!text_of(&events).is_empty());
}

async fn a_client_that_leaves_cancels_the_upstream_request(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Leave" })).await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(200)).delay(Duration::from_millis(20)),
    ));
    let mut body = open_stream(&o, &ws, &conv, json!({ "content": "long answer please" }))
        .await
        .bytes_stream();
    let mut seen = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.matches("event: delta").count() >= 3 {
            break;
        }
    }
    drop(body);
    let mut cancelled = false;
    for _ in 0..200 {
        if fake.cancelled_streams() == 1 {
            cancelled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(cancelled, "the upstream stream was not cancelled");
    // What arrived is saved, marked interrupted.
    let saved = wait_for_message(&o, &ws, &conv, 1, "interrupted").await;
    assert!(
        saved["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("word"))
    );
}

/// Answers streaming side by side, two in one workspace and one in another, are
/// checkpointed together (one statement per workspace): each gets its own text.
async fn answers_streaming_together_are_each_checkpointed(app: TestApp) {
    let fake = FakeAi::start(None).await;
    // The echo comes back one word every 100 ms: 3 s for 30 words.
    fake.set_echo_delay(Duration::from_millis(100));
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (p, ws2, _) = owner(&app, "p@example.com").await;
    enable_ai(&p, &ws2, &fake, "Fake").await;
    let mut streams = Vec::new();
    for (i, (c, ws)) in [(&o, &ws), (&o, &ws), (&p, &ws2)].into_iter().enumerate() {
        let conv = conversation(c, ws, json!({ "title": format!("Side by side {i}") })).await;
        let question: Vec<String> = (0..30).map(|w| format!("q{i}w{w}")).collect();
        let body = json!({ "content": question.join(" ") });
        let (c2, ws2, conv2) = (c.clone(), ws.clone(), conv.clone());
        let sending = tokio::spawn(async move { send_streamed(&c2, &ws2, &conv2, body).await });
        let answer = format!("Echo: {}", question.join(" "));
        streams.push((c.clone(), ws.clone(), conv, answer, sending));
    }
    for (c, ws, conv, answer, _) in &streams {
        let checkpointed = wait_for_message_where(c, ws, conv, 1, "a checkpoint", |m| {
            m["status"] == "streaming" && m["content"] != ""
        })
        .await;
        let partial = checkpointed["content"].as_str().unwrap_or_default();
        assert!(
            answer.starts_with(partial) && partial.len() < answer.len(),
            "{partial:?} is not the start of {answer:?}"
        );
    }
    for (c, ws, conv, answer, sending) in streams {
        let (status, events, text) = sending.await.expect("send");
        assert_eq!(status, 200, "{text}");
        assert_eq!(last(&events).name, "done", "{text}");
        let saved = wait_for_message(&c, &ws, &conv, 1, "complete").await;
        assert_eq!(saved["content"], answer.as_str());
    }
}

nexus_testkit::both_engines!(
    an_abandoned_answer_is_recovered_before_the_next_turn,
    fifty_concurrent_requests_cannot_overspend_the_quota,
    fifty_concurrent_requests_with_leases_cannot_overspend_the_quota,
    a_busy_workspace_leases_its_quota_and_gives_back_the_rest,
    an_expired_lease_is_given_back_by_the_next_recovery,
    answers_that_call_tools_cannot_overspend_the_quota,
    a_client_that_leaves_cancels_the_upstream_request,
    a_streaming_answer_is_saved_as_it_arrives,
    answers_streaming_together_are_each_checkpointed,
    answers_ending_together_are_each_saved_and_settled,
    members_answers_ending_together_settle_each_members_quota,
    a_title_is_reserved_like_an_answer,
    clients_that_leave_at_any_moment_leave_nothing_reserved
);

/// Clients that go away at any moment of their message's start (each request gives up
/// after 0 to 19 ms: before its reservation, between it and the save, during the
/// commit, or once the answer streams) leave nothing reserved once the answers end:
/// a turn's start runs to its end whatever its request does, then settles or gives
/// back what it reserved.
async fn clients_that_leave_at_any_moment_leave_nothing_reserved(app: TestApp) {
    let limit = 1_000_000u64;
    let Some((app, fake, o, ws)) = with_quota(app, limit, 100, |_| {}).await else {
        return;
    };
    fake.set_echo_delay(Duration::from_millis(5));
    let mut convs = Vec::new();
    for i in 0..40 {
        convs.push(conversation(&o, &ws, json!({ "title": format!("Leaving {i}") })).await);
    }
    let mut sends = Vec::new();
    for (i, conv) in convs.iter().enumerate() {
        let request = o
            .request(
                reqwest::Method::POST,
                &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            )
            .header("accept", "text/event-stream")
            .json(&json!({ "content": format!("question {i}") }))
            .timeout(Duration::from_millis(i as u64 % 20));
        sends.push(tokio::spawn(async move {
            // Read what comes until the time is up; the error is the point.
            if let Ok(r) = request.send().await {
                let _ = r.bytes().await;
            }
        }));
    }
    for send in sends {
        send.await.expect("send");
    }
    // Every answer that started ends (interrupted, mostly) and is settled.
    assert_all_settled(&app, &o, &ws, &convs, 0, limit).await;
}

/// Once each of `convs` has `messages` messages or more, none still `streaming`: what
/// the month's quota of `limit` has used, and nothing left reserved.
pub(crate) async fn assert_all_settled(
    app: &TestApp,
    o: &nexus_testkit::Client,
    ws: &str,
    convs: &[String],
    messages: usize,
    limit: u64,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    for conv in convs {
        loop {
            let list = o
                .get(&format!(
                    "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
                ))
                .await;
            let items = list.body["items"].as_array().cloned().unwrap_or_default();
            if items.len() >= messages && items.iter().all(|m| m["status"] != "streaming") {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{}", list.text);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    assert_nothing_reserved(app, ws, limit, used).await;
}

/// Answers that end together: on PostgreSQL their final saves are written together,
/// several workspaces' in one query (`FinalSaves`; groups of two to five in the runs
/// looked at), on SQLite each alone. Either way each answer is saved whole in its own
/// conversation, each workspace's ledger and quota count its own answers, and no
/// reservation is left behind.
async fn answers_ending_together_are_each_saved_and_settled(app: TestApp) {
    let limit = 1_000_000u64;
    let Some((app, fake, o, ws)) = with_quota(app, limit, 100, |_| {}).await else {
        return;
    };
    let (p, ws2, _) = owner(&app, "p@example.com").await;
    enable_ai(&p, &ws2, &fake, "Fake").await;
    let mut sends = Vec::new();
    for (c, ws) in [(&o, &ws), (&p, &ws2)] {
        for i in 0..24 {
            let conv = conversation(c, ws, json!({ "title": format!("Together {i}") })).await;
            let content = format!("question {i} of {ws}");
            let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
            let c = c.clone();
            let send =
                tokio::spawn(async move { c.post(&url, json!({ "content": content })).await });
            sends.push((ws.clone(), format!("Echo: question {i} of {ws}"), send));
        }
    }
    for (_, answer, send) in sends {
        let r = send.await.expect("send");
        assert_eq!(r.status, 201, "{}", r.text);
        let saved = &r.body["assistant_message"];
        assert_eq!(saved["status"], "complete", "{saved}");
        assert_eq!(saved["content"], answer.as_str());
    }
    for (c, ws) in [(&o, &ws), (&p, &ws2)] {
        let list = c
            .get(&format!("/api/v1/workspaces/{ws}/conversations?limit=100"))
            .await;
        for conv in list.body["items"].as_array().expect("items") {
            assert_answer_counted(c, ws, conv).await;
        }
        let usage = c.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
        assert_eq!(usage.body["totals"]["requests"], 24, "{}", usage.text);
        let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
        assert_eq!(Some(used), usage.body["totals"]["total_tokens"].as_u64());
        assert_nothing_reserved(&app, ws, limit, used).await;
    }
}

/// Answers of two members with limits of their own, ending together: on PostgreSQL a
/// group of final saves sums each member's settlements into one statement
/// (`quota::settle_together`). Each member's counter ends at what the ledger says that
/// member used, and the workspace's at the ledger's total, with nothing left reserved.
async fn members_answers_ending_together_settle_each_members_quota(app: TestApp) {
    let (limit, member_limit) = (10_000_000u64, 500_000u64);
    let Some((app, _fake, o, ws)) = with_quota(app, limit, 100, |_| {}).await else {
        return;
    };
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let settings = json!({ "member_monthly_tokens": member_limit });
    let r = o
        .put(&format!("/api/v1/workspaces/{ws}/ai/settings"), settings)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut sends = Vec::new();
    for i in 0..24 {
        let c = if i % 2 == 0 { o.clone() } else { m.clone() };
        let conv = conversation(&c, &ws, json!({ "title": format!("Shared {i}") })).await;
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        let content = format!("question {i}");
        sends.push(tokio::spawn(async move {
            c.post(&url, json!({ "content": content })).await
        }));
    }
    for send in sends {
        let r = send.await.expect("send");
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let usage = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/usage?group_by=member"))
        .await;
    let items = usage.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{}", usage.text);
    for item in items {
        let user: uuid::Uuid = item["key"].as_str().expect("key").parse().expect("a user");
        let left = member_limit - item["total_tokens"].as_u64().expect("total");
        let budget = |tokens| nexus_ai::usage::quota::Budget {
            workspace_id: ws.parse().expect("workspace id"),
            user_id: Some(user),
            tokens,
            workspace_limit: limit,
            member_limit: Some(member_limit),
        };
        let db = &app.state.db;
        let more = nexus_ai::usage::quota::reserve(db, &budget(left + 1)).await;
        assert!(more.is_err(), "more than {user} has left");
        let rest = nexus_ai::usage::quota::reserve(db, &budget(left)).await;
        let rest = rest.unwrap_or_else(|_| panic!("a reservation of {user} was left behind"));
        nexus_ai::usage::quota::release(db, &rest).await;
    }
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    assert_eq!(Some(used), usage.body["totals"]["total_tokens"].as_u64());
    assert_nothing_reserved(&app, &ws, limit, used).await;
}

/// A title costs tokens too, and is reserved and settled like an answer: once answers
/// have used up the month, a new conversation is named after its question's first words
/// without asking the model.
async fn a_title_is_reserved_like_an_answer(app: TestApp) {
    let limit = 5_000u64;
    let Some((app, fake, o, ws)) = with_quota(app, limit, 50, |_| {}).await else {
        return;
    };
    let send = async |conv: &str, content: &str| {
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        let r = o.post(&url, json!({ "content": content })).await;
        assert_eq!(r.status, 201, "{}", r.text);
    };
    // The month's settled tokens, the ledger's, and its requests.
    let used = async || {
        let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
        (
            usage.body["quota"]["used_tokens"].as_u64().expect("used"),
            usage.body["totals"]["total_tokens"]
                .as_u64()
                .expect("total"),
            usage.body["totals"]["requests"].as_u64().expect("requests"),
        )
    };

    // Within the quota the small model names the conversation (the fake echoes); the
    // title is in the ledger, and its tokens are settled once it is saved.
    let first = conversation(&o, &ws, json!({})).await;
    send(&first, "hello").await;
    assert_ne!(
        wait_for_title(&o, &ws, &first).await,
        "hello",
        "the model named it"
    );
    assert_eq!(fake.requests().len(), 2);
    let mut metered = used().await;
    for _ in 0..100 {
        if metered.0 == metered.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        metered = used().await;
    }
    let (settled, ledger, requests) = metered;
    assert_eq!(requests, 2, "the answer and the title are in the ledger");
    assert_eq!(
        settled, ledger,
        "the title's tokens count against the month"
    );
    // Nothing stays reserved: what is left can be reserved whole (and is given back).
    let left = limit - settled;
    assert!(reserve(&app, &ws, limit, left + 1).await.is_err());
    let all = reserve(&app, &ws, limit, left)
        .await
        .expect("a reservation was left behind");
    nexus_ai::usage::quota::release(&app.state.db, &all).await;

    // An answer far longer than its reservation (the provider ignored `max_tokens`)
    // uses up the month: the next title is not even asked for.
    let second = conversation(&o, &ws, json!({})).await;
    fake.push(Behavior::Reply(Reply::text("word ".repeat(6_000))));
    send(&second, "please name this one for me").await;
    assert_eq!(
        wait_for_title(&o, &ws, &second).await,
        "please name this one for me"
    );
    assert_eq!(fake.requests().len(), 3, "the small model was not asked");
    let (spent, ledger, requests) = used().await;
    assert!(spent > limit, "{spent}");
    assert_eq!((spent, requests), (ledger, 3));
}

/// While an answer streams, what has arrived is saved (about every second), so a crash
/// keeps it; the final save then replaces it.
async fn a_streaming_answer_is_saved_as_it_arrives(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Checkpoints" })).await;
    // Quotes, backslashes and non-ASCII: the checkpoint's SQL carries them as data.
    let word = r"it's \a 'path'\ — ünï ";
    let answer = word.repeat(30);
    fake.push(Behavior::Reply(
        Reply::text(answer.clone())
            .chunk_chars(word.chars().count())
            .delay(Duration::from_millis(100)),
    ));
    let (o2, ws2, conv2) = (o.clone(), ws.clone(), conv.clone());
    let sending = tokio::spawn(async move {
        send_streamed(&o2, &ws2, &conv2, json!({ "content": "stream slowly" })).await
    });
    let checkpointed = wait_for_message_where(&o, &ws, &conv, 1, "a checkpoint", |m| {
        m["status"] == "streaming" && m["content"] != ""
    })
    .await;
    assert_eq!(checkpointed["role"], "assistant");
    let partial = checkpointed["content"].as_str().unwrap_or_default();
    assert!(!partial.is_empty(), "no checkpoint while streaming");
    assert!(
        partial.len() < answer.len(),
        "checkpointed the whole answer early"
    );
    assert!(answer.starts_with(partial), "{partial:?}");

    let (status, events, text) = sending.await.expect("send");
    assert_eq!(status, 200, "{text}");
    assert_eq!(last(&events).name, "done", "{text}");
    let saved = wait_for_message(&o, &ws, &conv, 1, "complete").await;
    assert_eq!(saved["content"], answer);
}

/// A reservation of `tokens` against the workspace's month, limited to `limit`.
async fn reserve(
    app: &TestApp,
    ws: &str,
    limit: u64,
    tokens: u64,
) -> Result<nexus_ai::usage::quota::Reservation, nexus_kernel::ApiError> {
    let budget = nexus_ai::usage::quota::Budget {
        workspace_id: ws.parse().expect("workspace id"),
        user_id: None,
        tokens,
        workspace_limit: limit,
        member_limit: None,
    };
    nexus_ai::usage::quota::reserve(&app.state.db, &budget).await
}

/// Every reservation was settled or given back (once): what is left of the month's
/// `limit` after `used` can be reserved whole (and is given back), and no more. What a
/// quota lease did not hand out goes back when its handout ends, two seconds after it
/// was taken (`usage::leases`): that is waited for, up to ten.
async fn assert_nothing_reserved(app: &TestApp, ws: &str, limit: u64, used: u64) {
    let left = limit.saturating_sub(used);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let all = loop {
        match reserve(app, ws, limit, left).await {
            Ok(all) => break all,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(_) => panic!("a reservation was left behind"),
        }
    };
    nexus_ai::usage::quota::release(&app.state.db, &all).await;
    assert!(
        reserve(app, ws, limit, left + 1).await.is_err(),
        "more than is left"
    );
}

/// The conversation's answer (its second message) is complete, and the conversation
/// counts that answer's tokens, once.
async fn assert_answer_counted(c: &nexus_testkit::Client, ws: &str, conv: &serde_json::Value) {
    let id = conv["id"].as_str().expect("id");
    let messages = c
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{id}/messages"
        ))
        .await;
    let answer = &messages.body["items"][1];
    assert_eq!(answer["status"], "complete", "{answer}");
    let tokens = answer["prompt_tokens"].as_i64().expect("prompt")
        + answer["completion_tokens"].as_i64().expect("completion");
    assert_eq!(conv["tokens_used"].as_i64(), Some(tokens), "{conv}");
}

/// What the quota tests start from: a fresh app (replacing the fixture's) with a small
/// monthly quota and answer budget, an owner with a workspace, and a fake provider on.
async fn with_quota(
    app: TestApp,
    limit: u64,
    completion_tokens: u32,
    tweak: impl FnOnce(&mut nexus_kernel::config::Settings),
) -> Option<QuotaApp> {
    let engine = app.engine;
    drop(app);
    let app = TestApp::spawn_with(engine, |s| {
        s.plans.free.monthly_ai_tokens = limit;
        s.ai_max_completion_tokens = completion_tokens;
        tweak(s);
    })
    .await?;
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    Some((app, fake, o, ws))
}

/// [`with_quota`] of [`LIMIT`] on PostgreSQL, with `sql` run first as the database's
/// owner (a trigger that makes the database refuse or dawdle); and the owner's
/// connection, to look at what the database holds.
async fn postgres_with_quota_and(sql: &str) -> Option<(QuotaApp, sea_orm::DatabaseConnection)> {
    postgres_with_quota_tweaked(sql, |_| {}).await
}

/// [`postgres_with_quota_and`] with settings of its own.
async fn postgres_with_quota_tweaked(
    sql: &str,
    tweak: impl FnOnce(&mut nexus_kernel::config::Settings),
) -> Option<(QuotaApp, sea_orm::DatabaseConnection)> {
    let app = TestApp::spawn(Engine::Postgres).await?;
    let quota = with_quota(app, LIMIT, 100, tweak).await?;
    let owner_db = quota.0.owner_db().await;
    sea_orm::ConnectionTrait::execute_unprepared(&owner_db, sql)
        .await
        .expect(sql);
    Some((quota, owner_db))
}

/// What [`with_quota`] gives: the app, its fake provider (kept alive), the owner and
/// their workspace.
type QuotaApp = (TestApp, FakeAi, nexus_testkit::Client, String);

/// The month's quota in the tests that check what is left of it.
const LIMIT: u64 = 1_000_000;

async fn fifty_concurrent_requests_cannot_overspend_the_quota(app: TestApp) {
    // Reservations of 315 tokens (the tools' descriptions are part of the prompt): a
    // lease of sixteen of them would not fit.
    fifty_concurrent_requests_within(app, 2_000).await;
}

/// As above with room for a quota lease (on PostgreSQL): a busy workspace's messages
/// take their shares of one, then reserve one by one again once no lease fits. The
/// overspend bound is the same, and what the lease did not hand out goes back.
async fn fifty_concurrent_requests_with_leases_cannot_overspend_the_quota(app: TestApp) {
    let engine = app.engine;
    // A lease of sixteen reservations (5,040 tokens) fits once.
    let Some((app, ws)) = fifty_concurrent_requests_within(app, 8_000).await else {
        return;
    };
    let leases = leases_of(&app, &ws).await;
    match engine {
        Engine::Postgres => assert!(!leases.is_empty(), "no lease was taken"),
        Engine::Sqlite => assert!(leases.is_empty(), "{leases:?}"),
    }
}

/// Fifty messages at once against a month of `limit` tokens: some are refused with
/// `ai_quota_exceeded`, and what was answered stays within one request's reservation
/// of the limit, with nothing left reserved.
async fn fifty_concurrent_requests_within(app: TestApp, limit: u64) -> Option<(TestApp, String)> {
    let (app, fake, o, ws) = with_quota(app, limit, 100, |_| {}).await?;
    let mut convs = Vec::new();
    for i in 0..50 {
        convs.push(conversation(&o, &ws, json!({ "title": format!("Q{i}") })).await);
    }
    fake.push_many(
        (0..50).map(|_| {
            Behavior::Reply(Reply::text("ok ".repeat(20)).delay(Duration::from_millis(5)))
        }),
    );
    let mut tasks = Vec::new();
    for conv in convs {
        let o = o.clone();
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        tasks.push(tokio::spawn(async move {
            o.post(&url, json!({ "content": "spend some tokens please" }))
                .await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            201 => ok += 1,
            429 => {
                refused += 1;
                assert_eq!(r.code(), "ai_quota_exceeded");
                assert!(r.body["error"]["details"]["resets_at"].is_string());
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"]
        .as_u64()
        .unwrap_or(u64::MAX);
    let per_request_reservation = 100 + 60;
    assert!(
        used <= limit + per_request_reservation,
        "used {used} of {limit}"
    );
    assert_eq!(usage.body["totals"]["requests"], ok);
    // A refused message left nothing behind: each conversation holds an answered
    // exchange or nothing.
    let list = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations?limit=200"))
        .await;
    let saved: i64 = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["message_count"].as_i64().unwrap_or(-1))
        .sum();
    assert_eq!(saved, 2 * ok, "{}", list.text);
    assert_nothing_reserved(&app, &ws, limit, used).await;
    Some((app, ws))
}

/// The workspace's quota leases' rows, read in its own scope.
async fn leases_of(app: &TestApp, ws: &str) -> Vec<nexus_ai::entities::quota_lease::Model> {
    use nexus_ai::entities::quota_lease;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let workspace_id: uuid::Uuid = ws.parse().expect("workspace id");
    let scope = nexus_kernel::db::Scope {
        workspace_id,
        user_id: None,
    };
    let tx = app.state.db.tenant(scope, false).await.expect("tx");
    quota_lease::Entity::find()
        .filter(quota_lease::Column::WorkspaceId.eq(workspace_id))
        .all(&tx)
        .await
        .expect("leases")
}

/// A busy workspace's messages (24 at once) are paid for by quota leases on
/// PostgreSQL: the answers keep no reservation of their own, each lease's row ends
/// holding nothing once its answers are settled and what it did not hand out is given
/// back, and the month's counter ends at what the ledger says. SQLite takes none.
async fn a_busy_workspace_leases_its_quota_and_gives_back_the_rest(app: TestApp) {
    let limit = 1_000_000u64;
    let engine = app.engine;
    let Some((app, _fake, o, ws)) = with_quota(app, limit, 100, |_| {}).await else {
        return;
    };
    let mut sends = Vec::new();
    for i in 0..24 {
        let conv = conversation(&o, &ws, json!({ "title": format!("Busy {i}") })).await;
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        let o = o.clone();
        sends.push(tokio::spawn(async move {
            o.post(&url, json!({ "content": format!("question {i}") }))
                .await
        }));
    }
    for send in sends {
        let r = send.await.expect("send");
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["assistant_message"]["status"], "complete");
    }
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    assert_eq!(Some(used), usage.body["totals"]["total_tokens"].as_u64());
    assert_nothing_reserved(&app, &ws, limit, used).await;
    let leases = leases_of(&app, &ws).await;
    match engine {
        Engine::Postgres => assert!(!leases.is_empty(), "no lease was taken"),
        Engine::Sqlite => assert!(leases.is_empty(), "{leases:?}"),
    }
    for lease in &leases {
        assert_eq!(lease.tokens, 0, "{lease:?}");
        assert!(lease.expires_at > chrono::Utc::now(), "{lease:?}");
    }
}

/// The recovery tests' start: a month of `limit` tokens, answers of up to 1,000, and a
/// stream timeout of a second, so that recovery looks once a second (once per stream
/// timeout when that is under a minute); a conversation's messages URL, and its first
/// message, answered.
async fn recovering_every_second(app: TestApp, limit: u64) -> Option<Recovering> {
    let (app, fake, o, ws) =
        with_quota(app, limit, 1_000, |s| s.ai_stream_timeout_secs = 1).await?;
    let conv = conversation(&o, &ws, json!({ "title": "Recovered" })).await;
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    let first = o.post(&url, json!({ "content": "hello" })).await;
    assert_eq!(first.status, 201, "{}", first.text);
    Some(Recovering {
        app,
        _fake: fake,
        o,
        ws,
        url,
        first,
    })
}

/// See [`recovering_every_second`].
struct Recovering {
    app: TestApp,
    /// Answering for as long as it is held: bind it (`_fake`), do not leave it to `..`.
    _fake: FakeAi,
    o: nexus_testkit::Client,
    ws: String,
    url: String,
    first: nexus_testkit::Resp,
}

/// What a quota lease still held when its process stopped (here: made to look so) is
/// given back by the workspace's next recovery once the lease has expired, and the rows
/// of expired leases are deleted, whether they held anything or not. A lease not yet
/// expired is left alone.
async fn an_expired_lease_is_given_back_by_the_next_recovery(app: TestApp) {
    use nexus_ai::entities::quota_lease;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let limit = 8_000u64;
    // `_fake` is bound to keep it answering.
    let Some(Recovering {
        app,
        _fake,
        o,
        ws,
        url,
        ..
    }) = recovering_every_second(app, limit).await
    else {
        return;
    };
    // A stop left a lease holding 7,000 of the month; another lease, done with, holds
    // nothing; a third, still handing out, holds 100.
    reserve(&app, &ws, limit, 7_100)
        .await
        .expect("the leases' reservation");
    let workspace_id: uuid::Uuid = ws.parse().expect("workspace id");
    let now = chrono::Utc::now();
    let lease = |tokens: i64, expires_at| quota_lease::ActiveModel {
        workspace_id: Set(workspace_id),
        id: Set(uuid::Uuid::now_v7()),
        period: Set(now.format("%Y-%m").to_string()),
        tokens: Set(tokens),
        expires_at: Set(expires_at),
    };
    let open_id = uuid::Uuid::now_v7();
    let open = quota_lease::ActiveModel {
        id: Set(open_id),
        ..lease(100, now + chrono::Duration::minutes(5))
    };
    let scope = nexus_kernel::db::Scope {
        workspace_id,
        user_id: None,
    };
    let tx = app.state.db.tenant(scope, true).await.expect("tx");
    quota_lease::Entity::insert_many([
        lease(7_000, now - chrono::Duration::minutes(1)),
        lease(0, now - chrono::Duration::minutes(1)),
        open,
    ])
    .exec_without_returning(&tx)
    .await
    .expect("leases");
    tx.commit().await.expect("commit");

    // 7,100 held and about 1,000 more asked would be over 8,000: only a recovered month
    // has room. (The first message's look at the workspace was a second ago.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let next = o.post(&url, json!({ "content": "still there?" })).await;
    assert_eq!(next.status, 201, "{}", next.text);
    let left: Vec<_> = leases_of(&app, &ws).await.iter().map(|l| l.id).collect();
    assert_eq!(left, [open_id], "the expired leases' rows are deleted");
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    // But for the open lease's 100.
    assert_nothing_reserved(&app, &ws, limit, used + 100).await;
}

/// An answer left `streaming` by a crash (here: made to look so) is marked interrupted
/// and its reservation given back before the workspace's next turn reserves, in the
/// workspace's own scope (row-level security on PostgreSQL). The crash itself is
/// `crash::an_answer_a_crash_cut_off_is_recovered_and_its_reservation_given_back`.
async fn an_abandoned_answer_is_recovered_before_the_next_turn(app: TestApp) {
    use nexus_ai::entities::message;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let limit = 8_000u64;
    let Some(Recovering {
        app,
        o,
        ws,
        url,
        first,
        _fake,
    }) = recovering_every_second(app, limit).await
    else {
        return;
    };
    let answer: uuid::Uuid = first.body["assistant_message"]["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("answer id");
    let workspace_id: uuid::Uuid = ws.parse().expect("workspace id");
    // As a crash ten minutes ago would have left it, holding 7,000 tokens of the month.
    let scope = nexus_kernel::db::Scope {
        workspace_id,
        user_id: None,
    };
    let tx = app.state.db.tenant(scope, true).await.expect("tx");
    message::Entity::update_many()
        .col_expr(message::Column::Status, Expr::value("streaming"))
        .col_expr(message::Column::ReservedTokens, Expr::value(7_000i64))
        .col_expr(
            message::Column::CreatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(10)),
        )
        .filter(message::Column::WorkspaceId.eq(workspace_id))
        .filter(message::Column::Id.eq(answer))
        .exec(&tx)
        .await
        .expect("abandon");
    tx.commit().await.expect("commit");
    reserve(&app, &ws, limit, 7_000)
        .await
        .expect("the abandoned reservation");

    // 7,000 held and about 1,000 more asked would be over 8,000: only a recovered month
    // has room. (The first message's look at the workspace was a second ago.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let next = o.post(&url, json!({ "content": "still there?" })).await;
    assert_eq!(next.status, 201, "{}", next.text);
    let list = o.get(&url).await;
    let cut = &list.body["items"][1];
    assert_eq!(cut["id"], json!(answer));
    assert_eq!(cut["status"], "interrupted", "{cut}");
    assert_eq!(cut["error"]["code"], "server_restarted", "{cut}");
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    assert_nothing_reserved(&app, &ws, limit, used).await;
}

/// Each round of an answer that calls tools sends the whole prompt again: a further
/// round is reserved before it is asked, so many such answers at once stay within the
/// quota as plain ones do.
async fn answers_that_call_tools_cannot_overspend_the_quota(app: TestApp) {
    let limit = 15_000u64;
    let Some((app, fake, o, ws)) = with_quota(app, limit, 100, |_| {}).await else {
        return;
    };
    // A long system prompt: each round costs about 600 prompt tokens, and the model
    // asks for a tool every time, for as many rounds as an answer may have.
    let system_prompt = "lorem ".repeat(600);
    let mut convs = Vec::new();
    for i in 0..20 {
        convs.push(
            conversation(
                &o,
                &ws,
                json!({ "title": format!("T{i}"), "system_prompt": system_prompt }),
            )
            .await,
        );
    }
    fake.push_many((0..200).map(|_| Behavior::ToolCall {
        name: "list_members".into(),
        arguments: json!({}),
    }));
    let mut tasks = Vec::new();
    for conv in convs {
        let o = o.clone();
        let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
        tasks.push(tokio::spawn(async move {
            o.post(&url, json!({ "content": "who is here?" })).await
        }));
    }
    let (mut answered, mut stopped, mut refused) = (0, 0, 0);
    for t in tasks {
        let r = t.await.expect("task");
        match (
            r.status,
            r.body["assistant_message"]["error"]["code"].as_str(),
        ) {
            (201, Some("ai_quota_exceeded")) => stopped += 1,
            (201, _) => answered += 1,
            (429, _) => refused += 1,
            (other, _) => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(
        answered + stopped > 0 && stopped + refused > 0,
        "answered {answered}, stopped {stopped}, refused {refused}"
    );
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"]
        .as_u64()
        .unwrap_or(u64::MAX);
    // Reservations over-count (characters / 3 against the fake's words), so the limit
    // holds outright; the spec allows one request's reservation over it.
    assert!(used <= limit, "used {used} of {limit}");
    // Every reservation, grown round by round, was settled.
    assert_nothing_reserved(&app, &ws, limit, used).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_with_a_final_event() {
    let Some(mut app) = app(Engine::Sqlite).await else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Shutdown" })).await;
    fake.push(Behavior::Reply(
        Reply::text("slow ".repeat(500)).delay(Duration::from_millis(20)),
    ));
    let rb = o
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
        )
        .header("accept", "text/event-stream")
        .json(&json!({ "content": "talk slowly" }));
    let response = rb.send().await.expect("send");
    let reader = tokio::spawn(async move { response.text().await.unwrap_or_default() });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    app.begin_shutdown();
    let text = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("stream ended")
        .expect("reader");
    let events = parse_sse(&text);
    assert_eq!(last(&events).name, "error", "{text}");
    assert_eq!(last(&events).data["code"], "server_shutting_down");
    assert_eq!(
        last(&events).data["assistant_message"]["status"],
        "interrupted"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_default_provider_and_model_escalation() {
    let fake = FakeAi::start(Some("platform-key")).await;
    let base = fake.base_url();
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.ai_base_url = Some(base);
        s.ai_api_key = Some("platform-key".into());
        s.ai_models = "fake-small, fake-large".into();
    })
    .await
    else {
        return;
    };
    let (o, ws, _) = owner(&app, "o@example.com").await;
    o.put(
        &format!("/api/v1/workspaces/{ws}/modules/assistant"),
        json!({ "enabled": true }),
    )
    .await;
    let models = o.get(&format!("/api/v1/workspaces/{ws}/ai/models")).await;
    assert_eq!(
        models.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        models.text
    );
    assert_eq!(models.body["items"][0]["provider_name"], "platform");
    let r = o.put(&format!("/api/v1/workspaces/{ws}/ai/settings"), json!({ "default_model": "fake-small", "small_model": "fake-small", "large_model": "fake-large" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(
        &o.put(
            &format!("/api/v1/workspaces/{ws}/ai/settings"),
            json!({ "default_model": "gpt-9" }),
        )
        .await,
        422,
        "validation_failed",
    );
    let conv = conversation(&o, &ws, json!({ "title": "Escalate" })).await;
    let small = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "easy" }),
        )
        .await;
    assert_eq!(small.body["assistant_message"]["model"], "fake-small");
    let large = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "hard", "escalate": true }),
        )
        .await;
    assert_eq!(large.body["assistant_message"]["model"], "fake-large");
    assert_error(
        &o.post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "x", "model": "nope" }),
        )
        .await,
        422,
        "validation_failed",
    );
}

/// A provider is the address it was given: a redirect is not followed, neither by the
/// live check nor by an answer, so neither the request nor its key reach another host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_do_not_follow_redirects() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    // Every request to `/v1/…` is sent on to `/elsewhere/…`, which counts what arrives.
    let arrived = Arc::new(AtomicUsize::new(0));
    let counted = arrived.clone();
    let redirector = axum::Router::new()
        .route(
            "/v1/{*rest}",
            axum::routing::any(
                |axum::extract::Path(rest): axum::extract::Path<String>| async move {
                    axum::response::Redirect::temporary(&format!("/elsewhere/{rest}"))
                },
            ),
        )
        .route(
            "/elsewhere/{*rest}",
            axum::routing::any(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { axum::Json(json!({ "data": [{ "id": "fake-small" }] })) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, redirector).await });

    let (o, ws, _) = owner(&app, "o@example.com").await;
    crate::ai_support::switch_on_assistant(&o, &ws).await;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Moved", "base_url": format!("http://{addr}/v1"), "api_key": "sk-secret", "models": ["fake-small"] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.id();
    let test = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{id}/test"),
            json!({}),
        )
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);
    // The admin is told where the address leads, to give the provider that one.
    assert!(
        test.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("redirects to /elsewhere/models")),
        "{}",
        test.text
    );
    let conv = conversation(&o, &ws, json!({ "title": "Moved" })).await;
    let answer = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "hello" }),
        )
        .await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(
        arrived.load(Ordering::SeqCst),
        0,
        "nothing went past the redirect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_managed_and_tested_live() {
    let Some(app) = app(Engine::Sqlite).await else {
        return;
    };
    let fake = FakeAi::start(Some("right-key")).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let id = enable_ai(&o, &ws, &fake, "Fake").await; // stored with the wrong key
    let test = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{id}/test"),
            json!({}),
        )
        .await;
    assert_eq!(test.body["ok"], false, "{}", test.text);
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{id}"),
            json!({ "api_key": "right-key", "priority": 5 }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["priority"], 5);
    let test = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{id}/test"),
            json!({}),
        )
        .await;
    assert_eq!(test.body["ok"], true, "{}", test.text);
    assert_eq!(test.body["missing_models"], json!([]));
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Bad", "base_url": "ftp://x", "models": ["m"] }),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Bad", "base_url": "http://u:p@host/v1", "models": ["m"] }),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/ai/providers/{id}"))
            .await
            .status,
        204
    );
    let secrets = o.get(&format!("/api/v1/workspaces/{ws}/secrets")).await;
    assert_eq!(
        secrets.body["items"],
        json!([]),
        "the key went with the provider"
    );
    let actions: Vec<String> = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=ai_provider."
        ))
        .await
        .body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        actions,
        [
            "ai_provider.deleted",
            "ai_provider.updated",
            "ai_provider.created"
        ]
    );
}

/// The provider is called while the user message's save commits. When that commit fails,
/// the client gets the error as if the provider had never been called: nothing saved,
/// nothing streamed, the reservation given back, the upstream request dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_that_fails_to_commit_leaves_nothing_behind() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    // A check PostgreSQL only runs at COMMIT: the statements succeed, the commit fails.
    let owner_db = app.owner_db().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &owner_db,
        "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.content = 'refused at commit' THEN RAISE EXCEPTION 'refused at commit'; END IF;
           RETURN NEW;
         END $$;
         CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON messages
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();",
    )
    .await
    .expect("deferred trigger");
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Refused" })).await;
    let messages = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    // Answers that would stream for a second if nothing stopped them. (Whether a request
    // reaches the provider before the commit fails is a race; nothing below depends on it.)
    fake.set_echo_delay(Duration::from_millis(250));

    let r = o
        .post(&messages, json!({ "content": "refused at commit" }))
        .await;
    assert_error(&r, 500, "internal_error");
    assert!(r.body["error"]["request_id"].is_string());
    // Streamed, the failure comes before the stream: an error answer, not an event.
    let (status, events, text) =
        send_streamed(&o, &ws, &conv, json!({ "content": "refused at commit" })).await;
    assert_eq!(status, 500, "{text}");
    assert!(events.is_empty(), "{text}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
        let reserved = usage.body["quota"]["used_tokens"].as_u64();
        if reserved == Some(0) && fake.open_streams() == 0 {
            assert_eq!(usage.body["totals"]["requests"], 0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still reserved or streaming: {reserved:?}, {} open",
            fake.open_streams()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = o.get(&messages).await;
    assert_eq!(list.body["items"], json!([]), "{}", list.text);
    let c = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations/{conv}"))
        .await;
    assert_eq!(c.body["message_count"], 0, "{}", c.text);

    // The next message is answered as usual.
    fake.set_echo_delay(Duration::ZERO);
    let r = o.post(&messages, json!({ "content": "hello" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assistant_message"]["content"], "Echo: hello");
}

/// A group of final saves whose writes the database refuses, after the group's summed
/// settlements committed: each save is written again alone, without its settlement, so
/// every answer is saved and the month's quota counts each answer once, as the ledger
/// does, with nothing left reserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_writes_fail_saves_each_alone_settled_once() {
    // Refuses the second answer completed in one transaction (so only a group), once: the
    // sequence counts the refusals and, unlike the transaction, keeps its count.
    let Some(((app, _fake, o, ws), owner_db)) = postgres_with_quota_and(
        "CREATE SEQUENCE group_refusals;
         CREATE FUNCTION refuse_a_group() RETURNS trigger
           LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN
           IF current_setting('nexus_test.answer_completed', true) = 'yes' THEN
             IF nextval('group_refusals') = 1 THEN RAISE EXCEPTION 'a group refused'; END IF;
           ELSE
             PERFORM set_config('nexus_test.answer_completed', 'yes', true);
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_a_group BEFORE UPDATE ON messages FOR EACH ROW
           WHEN (NEW.status = 'complete' AND OLD.status <> 'complete')
           EXECUTE FUNCTION refuse_a_group();",
    )
    .await
    else {
        return;
    };
    // The first row of a query, run as the database's owner.
    let value = async |sql: &str| {
        let statement =
            sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql.to_owned());
        sea_orm::ConnectionTrait::query_one_raw(&owner_db, statement)
            .await
            .expect(sql)
            .expect("a row")
    };
    let refused = async || {
        let row = value("SELECT is_called FROM group_refusals").await;
        row.try_get::<bool>("", "is_called").expect("is_called")
    };
    // Answers ending together, until some were grouped (every round so far).
    let mut convs = Vec::new();
    for round in 0..5 {
        let mut sends = Vec::new();
        for i in 0..24 {
            let title = format!("Round {round} question {i}");
            let conv = conversation(&o, &ws, json!({ "title": title })).await;
            let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
            let content = format!("round {round} question {i}");
            convs.push(conv);
            let o = o.clone();
            let answer = format!("Echo: {content}");
            sends.push(tokio::spawn(async move {
                (o.post(&url, json!({ "content": content })).await, answer)
            }));
        }
        for send in sends {
            let (r, answer) = send.await.expect("send");
            assert_eq!(r.status, 201, "{}", r.text);
            let saved = &r.body["assistant_message"];
            assert_eq!(saved["status"], "complete", "{saved}");
            assert_eq!(saved["content"], answer.as_str());
        }
        if refused().await {
            break;
        }
    }
    assert!(refused().await, "no group of final saves was refused");

    for id in &convs {
        let conv = o
            .get(&format!("/api/v1/workspaces/{ws}/conversations/{id}"))
            .await;
        assert_answer_counted(&o, &ws, &conv.body).await;
    }
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    assert_eq!(
        usage.body["totals"]["requests"].as_u64(),
        Some(convs.len() as u64),
        "{}",
        usage.text
    );
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    assert_eq!(
        Some(used),
        usage.body["totals"]["total_tokens"].as_u64(),
        "settled once each"
    );
    assert_nothing_reserved(&app, &ws, LIMIT, used).await;
    let held = value("SELECT count(*) AS held FROM messages WHERE reserved_tokens <> 0").await;
    let held: i64 = held.try_get("", "held").expect("held");
    assert_eq!(held, 0, "every answer's reservation was settled");
}

/// A client that leaves while its message is being saved (the save made slow here, on
/// PostgreSQL, where the reservation commits before it): the turn's start runs to its end
/// regardless, and once its answer ends nothing is left reserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_during_the_save_leaves_nothing_reserved() {
    let Some(((app, _fake, o, ws), _)) = postgres_with_quota_and(
        "CREATE FUNCTION slow_save() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN PERFORM pg_sleep(0.6); RETURN NEW; END $$;
         CREATE TRIGGER slow_save BEFORE INSERT ON messages FOR EACH ROW
           WHEN (NEW.role = 'user') EXECUTE FUNCTION slow_save();",
    )
    .await
    else {
        return;
    };
    let conv = conversation(&o, &ws, json!({ "title": "Leaving" })).await;
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    let gone = o
        .request(reqwest::Method::POST, &url)
        .header("accept", "text/event-stream")
        .json(&json!({ "content": "hello" }))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gone.is_err(), "the client left before the save ended");
    // The message is saved all the same, and its answer ends.
    assert_all_settled(&app, &o, &ws, &[conv], 2, LIMIT).await;
}

/// A turn that ends after the recovery of answers left `streaming` may take its answer
/// for abandoned (here its first save dawdles two and a half seconds, with a stream
/// timeout of one: the recovery waits two). Such a turn claims its reservation off the
/// answer's row before its final save, slowly here, and the recovery comes for the
/// answer meanwhile (and waits for the row): it finds nothing left there to give back,
/// and the reservation is given back once, by the turn's settlement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_turn_and_the_recovery_give_its_reservation_back_once() {
    let Some(((app, _fake, o, ws), owner_db)) = postgres_with_quota_tweaked(
        "CREATE FUNCTION dawdle() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN PERFORM pg_sleep(TG_ARGV[0]::float); RETURN NEW; END $$;
         CREATE TRIGGER slow_first_save BEFORE INSERT ON messages FOR EACH ROW
           WHEN (NEW.role = 'user') EXECUTE FUNCTION dawdle('2.5');
         CREATE TRIGGER slow_claim BEFORE UPDATE ON messages FOR EACH ROW
           WHEN (NEW.status = 'streaming' AND OLD.reserved_tokens > 0 AND NEW.reserved_tokens = 0)
           EXECUTE FUNCTION dawdle('1');",
        |s| s.ai_stream_timeout_secs = 1,
    )
    .await
    else {
        return;
    };
    let conv = conversation(&o, &ws, json!({ "title": "Late" })).await;
    let sent = crate::ai_support::send_in_background(&o, &ws, &conv, "hello");
    // The claim under way: the answer saved, still holding its reservation, and a
    // session asleep in the claim's trigger.
    let claiming = "SELECT count(*) AS n FROM messages
         WHERE role = 'assistant' AND status = 'streaming' AND reserved_tokens > 0
           AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep')";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let statement = sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            claiming.to_owned(),
        );
        let row = sea_orm::ConnectionTrait::query_one_raw(&owner_db, statement)
            .await
            .expect("look")
            .expect("a row");
        if row.try_get::<i64>("", "n").expect("n") == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no claim");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let workspace: uuid::Uuid = ws.parse().expect("uuid");
    nexus_ai::messages::recovery::recover_now(&app.state, workspace)
        .await
        .expect("recovery");
    let sent = sent.await.expect("the request");
    assert!(sent.status < 500, "{}", sent.text);
    assert_all_settled(&app, &o, &ws, &[conv], 2, LIMIT).await;
}

/// A final save the database refuses after the answer's settlement committed: the
/// answer's row gives up its reservation too. Left on it, the recovery of answers left
/// `streaming` would give the reservation back a second time, and the workspace could
/// spend it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_final_save_leaves_no_reservation_to_give_back_twice() {
    let Some(((app, _fake, o, ws), owner_db)) = postgres_with_quota_and(
        "CREATE FUNCTION refuse_final_saves() RETURNS trigger
           LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN RAISE EXCEPTION 'final save refused'; END $$;
         CREATE TRIGGER refuse_final_saves BEFORE UPDATE ON messages FOR EACH ROW
           WHEN (NEW.status = 'complete' AND OLD.status <> 'complete')
           EXECUTE FUNCTION refuse_final_saves();",
    )
    .await
    else {
        return;
    };
    let conv = conversation(&o, &ws, json!({ "title": "Refused" })).await;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "hello" }),
        )
        .await;
    assert_error(&r, 500, "internal_error");

    let statement = sea_orm::Statement::from_string(
        sea_orm::DatabaseBackend::Postgres,
        "SELECT count(*) AS held FROM messages WHERE reserved_tokens <> 0".to_owned(),
    );
    let held = sea_orm::ConnectionTrait::query_one_raw(&owner_db, statement)
        .await
        .expect("count")
        .expect("a row");
    let held: i64 = held.try_get("", "held").expect("held");
    assert_eq!(held, 0, "the refused answer still holds its reservation");
    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    let used = usage.body["quota"]["used_tokens"].as_u64().expect("used");
    assert_nothing_reserved(&app, &ws, LIMIT, used).await;
}

nexus_testkit::both_engines!(an_answer_whose_conversation_is_deleted_is_still_metered);

/// A conversation deleted while its answer streams: the stream ends with `not_found`,
/// and what the answer cost stays in the usage ledger and the month's quota.
async fn an_answer_whose_conversation_is_deleted_is_still_metered(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Going" })).await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(20)).delay(Duration::from_millis(20)),
    ));
    let mut body = open_stream(&o, &ws, &conv, json!({ "content": "answer slowly" }))
        .await
        .bytes_stream();
    let mut seen = String::new();
    let mut deleted = false;
    while let Some(Ok(chunk)) = body.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if !deleted && seen.contains("event: delta") {
            let r = o
                .delete(&format!("/api/v1/workspaces/{ws}/conversations/{conv}"))
                .await;
            assert_eq!(r.status, 204, "{}", r.text);
            deleted = true;
        }
    }
    let events = parse_sse(&seen);
    let end = last(&events);
    assert_eq!(end.name, "error", "{seen}");
    assert_eq!(end.data["code"], "not_found", "{seen}");

    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    assert_eq!(usage.body["totals"]["requests"], 1, "{}", usage.text);
    let used = usage.body["quota"]["used_tokens"].as_u64().unwrap_or(0);
    let ledger = usage.body["totals"]["prompt_tokens"].as_u64().unwrap_or(0)
        + usage.body["totals"]["completion_tokens"]
            .as_u64()
            .unwrap_or(0);
    assert!(used > 0, "{}", usage.text);
    assert_eq!(used, ledger, "the month counts what the ledger does");
}
