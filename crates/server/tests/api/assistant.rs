use nexus_testkit::fake_ai::{Behavior, FakeAi, Quirks, Reply};
use nexus_testkit::{TestApp, both_engines, member_with_role};
use serde_json::json;

use crate::ai_support::{conversation, enable_ai, last, send_streamed, text_of, wait_for_title};
use crate::{assert_error, owner};

both_engines!(
    answers_stream_and_are_saved,
    switched_off_and_not_configured,
    provider_quirks_do_not_break_answers,
    private_conversations_stay_private,
    tools_run_with_the_members_rights,
    regenerate_and_edit_keep_branches,
    identical_deterministic_requests_hit_the_cache,
    conversations_export_as_markdown_and_json,
    an_exported_conversation_imports_with_its_branches,
    search_results_show_where_the_words_were_found,
);

async fn answers_stream_and_are_saved(app: TestApp) {
    let fake = FakeAi::start(Some("sk-fake-key")).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let provider = enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({})).await;

    let (status, events, raw) =
        send_streamed(&o, &ws, &conv, json!({ "content": "hello there" })).await;
    assert_eq!(status, 200, "{raw}");
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"message"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{raw}");
    assert!(
        names.iter().filter(|n| **n == "delta").count() >= 2,
        "streamed in pieces: {names:?}"
    );
    assert_eq!(events[0].data["role"], "user");
    assert_eq!(events[0].data["content"], "hello there");
    assert_eq!(text_of(&events), "Echo: hello there");
    let done = &last(&events).data;
    assert_eq!(done["content"], "Echo: hello there");
    assert_eq!(done["status"], "complete");
    assert_eq!(done["model"], "fake-small");
    assert_eq!(done["provider_id"], provider.as_str());
    assert!(done["prompt_tokens"].as_i64().unwrap_or_default() > 0);
    assert!(done["completion_tokens"].as_i64().unwrap_or_default() > 0);
    assert!(done["latency_ms"].is_i64() && done["ttft_ms"].is_i64());
    assert_eq!(done["cached"], false);
    assert_eq!(
        events[0].data["assistant_message_id"], done["id"],
        "the answer's id is known from the start"
    );
    // The provider got the key and the conversation.
    let sent = &fake.requests()[0];
    assert_eq!(
        sent["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["content"].clone()),
        Some(json!("hello there"))
    );

    let msgs = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    let contents: Vec<&str> = msgs.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, ["hello there", "Echo: hello there"]);

    // A title follows the first exchange (from the small model, or the first words).
    wait_for_title(&o, &ws, &conv).await;

    // JSON mode: waits and answers 201 with both messages.
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "again" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assistant_message"]["content"], "Echo: again");
    assert_eq!(r.body["user_message"]["content"], "again");
    // The second turn carried the history.
    let history = fake
        .requests()
        .last()
        .map(|r| r["messages"].as_array().map(Vec::len).unwrap_or(0))
        .unwrap_or(0);
    assert!(history >= 3, "history was sent: {history}");

    let conv_view = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations/{conv}"))
        .await
        .body;
    assert_eq!(conv_view["message_count"], 4);
    assert!(conv_view["tokens_used"].as_i64().unwrap_or_default() > 0);

    let usage = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/usage?group_by=model"))
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert!(
        usage.body["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|r| r["key"] == "fake-small")),
        "{}",
        usage.text
    );
    assert!(
        usage.body["totals"]["total_tokens"]
            .as_i64()
            .unwrap_or_default()
            > 0
    );
    assert_eq!(
        usage.body["totals"]["requests"], 3,
        "two answers and the title are metered: {}",
        usage.text
    );
    assert!(
        usage.body["quota"]["used_tokens"]
            .as_u64()
            .unwrap_or_default()
            > 0
    );
    let by_member = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/usage?group_by=member"))
        .await;
    assert_eq!(
        by_member.body["items"][0]["label"], "o@example.com",
        "{}",
        by_member.text
    );
    let by_day = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/usage?group_by=day"))
        .await;
    assert_eq!(
        by_day.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        by_day.text
    );
    assert_error(
        &o.get(&format!("/api/v1/workspaces/{ws}/ai/usage?group_by=planet"))
            .await,
        422,
        "validation_failed",
    );
    // The ledger's ids keep their time in 48 bits of milliseconds: a date past them
    // would wrap, and the report would be quietly empty.
    for (query, field) in [
        (
            "from=2020-01-01T00:00:00Z&to=%2B10900-01-01T00:00:00Z",
            "to",
        ),
        ("from=1969-12-31T00:00:00Z", "from"),
    ] {
        let r = o
            .get(&format!("/api/v1/workspaces/{ws}/ai/usage?{query}"))
            .await;
        assert_error(&r, 422, "validation_failed");
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{}",
            r.text
        );
    }

    // The provider key is never shown, and the enabling is in the audit log.
    let providers = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/providers"))
        .await;
    assert!(!providers.text.contains("sk-fake-key"));
    assert_eq!(providers.body["items"][0]["has_api_key"], true);
    let audit = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events"))
        .await;
    assert!(!audit.text.contains("sk-fake-key"));
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for expected in [
        "module.enabled",
        "ai_provider.created",
        "conversation.created",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
}

async fn switched_off_and_not_configured(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    assert_error(
        &o.post(&format!("/api/v1/workspaces/{ws}/conversations"), json!({}))
            .await,
        403,
        "module_disabled",
    );
    assert_error(
        &o.get(&format!("/api/v1/workspaces/{ws}/conversations"))
            .await,
        403,
        "module_disabled",
    );
    o.put(
        &format!("/api/v1/workspaces/{ws}/modules/assistant"),
        json!({ "enabled": true }),
    )
    .await;
    let r = o
        .post(&format!("/api/v1/workspaces/{ws}/conversations"), json!({}))
        .await;
    assert_error(&r, 409, "ai_not_configured");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("NEXUS_AI_BASE_URL"))
    );
    assert_eq!(
        o.get(&format!("/api/v1/workspaces/{ws}/ai/models"))
            .await
            .body["items"],
        json!([])
    );
}

async fn provider_quirks_do_not_break_answers(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Quirky").await;
    let conv = conversation(&o, &ws, json!({ "title": "Quirks" })).await;
    let quirks = [
        Quirks {
            empty_usage_objects: true,
            ..Default::default()
        },
        Quirks {
            missing_ids: true,
            ..Default::default()
        },
        Quirks {
            no_done: true,
            ..Default::default()
        },
        Quirks {
            keep_alive_comments: true,
            ..Default::default()
        },
        Quirks {
            crlf: true,
            ..Default::default()
        },
        Quirks {
            empty_usage_objects: true,
            missing_ids: true,
            no_done: true,
            keep_alive_comments: true,
            crlf: true,
            ..Default::default()
        },
    ];
    for (i, q) in quirks.into_iter().enumerate() {
        fake.push(Behavior::Reply(
            Reply::text(format!("answer number {i} is here"))
                .quirks(q)
                .no_usage(),
        ));
        let (status, events, raw) =
            send_streamed(&o, &ws, &conv, json!({ "content": format!("q{i}") })).await;
        assert_eq!(status, 200);
        assert_eq!(last(&events).name, "done", "quirk set {i}: {raw}");
        assert_eq!(text_of(&events), format!("answer number {i} is here"));
        // Without usage from the provider, tokens are counted with the tokenizer.
        assert!(
            last(&events).data["completion_tokens"]
                .as_i64()
                .unwrap_or_default()
                >= 5,
            "{raw}"
        );
    }

    // A model can write U+0000, which PostgreSQL refuses in text: it is dropped, and the
    // answer saves as any other.
    fake.push(Behavior::Reply(
        Reply::text("a nul\u{0} inside").reasoning("think\u{0}ing"),
    ));
    let (status, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "nul" })).await;
    assert_eq!(status, 200);
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(last(&events).data["content"], "a nul inside");
    assert_eq!(last(&events).data["reasoning"], "thinking");
    let saved = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    let answer = saved.body["items"].as_array().and_then(|m| m.last());
    assert_eq!(
        answer.map(|m| &m["content"]),
        Some(&json!("a nul inside")),
        "{}",
        saved.text
    );
}

async fn private_conversations_stay_private(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    let private = conversation(&m, &ws, json!({ "title": "My secret plan" })).await;
    let shared = conversation(
        &m,
        &ws,
        json!({ "title": "Team notes", "visibility": "workspace" }),
    )
    .await;
    m.post(
        &format!("/api/v1/workspaces/{ws}/conversations/{private}/messages"),
        json!({ "content": "classified words" }),
    )
    .await;

    for other in [&o, &v] {
        assert_error(
            &other
                .get(&format!("/api/v1/workspaces/{ws}/conversations/{private}"))
                .await,
            404,
            "not_found",
        );
        assert_error(
            &other
                .get(&format!(
                    "/api/v1/workspaces/{ws}/conversations/{private}/messages"
                ))
                .await,
            404,
            "not_found",
        );
        let list = other
            .get(&format!("/api/v1/workspaces/{ws}/conversations"))
            .await;
        let titles: Vec<&str> = list.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["title"].as_str())
            .collect();
        assert_eq!(titles, ["Team notes"], "{}", list.text);
        let search = other
            .get(&format!(
                "/api/v1/workspaces/{ws}/conversations?q=classified"
            ))
            .await;
        assert_eq!(
            search.body["items"],
            json!([]),
            "search must not find private messages"
        );
    }
    // The creator finds it by message text.
    let found = m
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations?q=CLASSIFIED"
        ))
        .await;
    assert_eq!(found.body["items"][0]["id"], private.as_str());
    // A shared conversation is readable by all, writable by its creator and admins.
    assert_eq!(
        v.get(&format!("/api/v1/workspaces/{ws}/conversations/{shared}"))
            .await
            .body["can_write"],
        false
    );
    assert_error(
        &v.post(
            &format!("/api/v1/workspaces/{ws}/conversations/{shared}/messages"),
            json!({ "content": "x" }),
        )
        .await,
        403,
        "forbidden",
    );
    assert_eq!(
        o.get(&format!("/api/v1/workspaces/{ws}/conversations/{shared}"))
            .await
            .body["can_write"],
        true
    );
    // An admin may rename it, but who sees it is its creator's call.
    let url = format!("/api/v1/workspaces/{ws}/conversations/{shared}");
    assert_eq!(
        o.patch(&url, json!({ "title": "Team notes (tidy)" }))
            .await
            .status,
        200
    );
    assert_error(
        &o.patch(&url, json!({ "visibility": "private" })).await,
        403,
        "not_conversation_creator",
    );
    assert_eq!(
        o.patch(&url, json!({ "visibility": "workspace" }))
            .await
            .status,
        200,
        "saying what it already is changes nothing"
    );
    assert_eq!(
        m.patch(&url, json!({ "visibility": "private" }))
            .await
            .status,
        200
    );
    assert_eq!(
        m.patch(&url, json!({ "visibility": "workspace" }))
            .await
            .status,
        200
    );
    // Viewers cannot start conversations.
    assert_error(
        &v.post(&format!("/api/v1/workspaces/{ws}/conversations"), json!({}))
            .await,
        403,
        "forbidden",
    );
    // Pinned first, archived hidden.
    m.patch(
        &format!("/api/v1/workspaces/{ws}/conversations/{shared}"),
        json!({ "pinned": true }),
    )
    .await;
    let list = m
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await;
    assert_eq!(list.body["items"][0]["id"], shared.as_str());
    m.patch(
        &format!("/api/v1/workspaces/{ws}/conversations/{private}"),
        json!({ "archived": true }),
    )
    .await;
    let list = m
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    let archived = m
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations?archived=true"
        ))
        .await;
    assert_eq!(archived.body["items"][0]["id"], private.as_str());
    assert_eq!(
        m.delete(&format!("/api/v1/workspaces/{ws}/conversations/{private}"))
            .await
            .status,
        204
    );
    assert_error(
        &m.get(&format!("/api/v1/workspaces/{ws}/conversations/{private}"))
            .await,
        404,
        "not_found",
    );
}

async fn tools_run_with_the_members_rights(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Tools" })).await;
    fake.push_many([
        Behavior::ToolCall {
            name: "list_members".into(),
            arguments: json!({}),
        },
        Behavior::Reply(Reply::text("You are the only member.")),
    ]);
    let (_, events, raw) =
        send_streamed(&o, &ws, &conv, json!({ "content": "who is here?" })).await;
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"tool_call") && names.contains(&"tool_result"),
        "{raw}"
    );
    let result = events
        .iter()
        .find(|e| e.name == "tool_result")
        .map(|e| e.data["result"].clone())
        .unwrap_or_default();
    assert_eq!(result["members"][0]["email"], "o@example.com", "{raw}");
    assert_eq!(last(&events).data["content"], "You are the only member.");
    assert_eq!(last(&events).data["tool_calls"][0]["name"], "list_members");
    // The model was offered the tools and got the result back.
    let requests = fake.requests();
    assert!(
        requests[0]["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["function"]["name"] == "list_members"))
    );
    let second = requests[1]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(second.iter().any(|m| m["role"] == "tool"), "{second:?}");

    // Search finds what the member can see; in a conversation the workspace reads (where
    // the results are kept with the answer) the member's private ones stay out.
    conversation(
        &o,
        &ws,
        json!({ "title": "Secret plans", "visibility": "private" }),
    )
    .await;
    conversation(
        &o,
        &ws,
        json!({ "title": "Team plans", "visibility": "workspace" }),
    )
    .await;
    let shared = conversation(
        &o,
        &ws,
        json!({ "title": "Shared", "visibility": "workspace" }),
    )
    .await;
    for (conv, expected) in [
        // Each search also finds the conversation it is asked in, by its message.
        (&conv, vec!["Secret plans", "Team plans", "Tools"]),
        (&shared, vec!["Shared", "Team plans"]),
    ] {
        fake.push_many([
            Behavior::ToolCall {
                name: "search_conversations".into(),
                arguments: json!({ "query": "plans" }),
            },
            Behavior::Reply(Reply::text("Found them.")),
        ]);
        let (_, events, raw) =
            send_streamed(&o, &ws, conv, json!({ "content": "find my plans" })).await;
        let result = events
            .iter()
            .find(|e| e.name == "tool_result")
            .map(|e| e.data["result"].clone())
            .unwrap_or_default();
        let mut titles: Vec<&str> = result["conversations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["title"].as_str())
            .collect();
        titles.sort_unstable();
        assert_eq!(titles, expected, "{raw}");
    }

    // Shared later, the private conversation's kept results lose the creator's other
    // private conversations: every member reads them now.
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}"),
            json!({ "visibility": "workspace" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let kept = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    let mut titles: Vec<&str> = kept.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["tool_calls"].as_array())
        .flatten()
        .filter(|call| call["name"] == "search_conversations")
        .flat_map(|call| {
            call["result"]["conversations"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(|c| c["title"].as_str())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Team plans", "Tools"], "{}", kept.text);

    // The model's query has the limits of the list's `q` (on SQLite each letter becomes
    // a class of a GLOB, which has a limit of its own): the model is told, and tries again.
    fake.push_many([
        Behavior::ToolCall {
            name: "search_conversations".into(),
            arguments: json!({ "query": "plans ".repeat(5_000) }),
        },
        Behavior::Reply(Reply::text("Too long, sorry.")),
    ]);
    let (_, events, raw) =
        send_streamed(&o, &ws, &conv, json!({ "content": "search a lot" })).await;
    let refused = events
        .iter()
        .find(|e| e.name == "tool_result")
        .map(|e| e.data["result"]["error"].clone())
        .unwrap_or_default();
    assert_eq!(
        refused, "`query` must be at most 200 characters, without control characters",
        "{raw}"
    );
    assert_eq!(last(&events).name, "done", "{raw}");
}

async fn regenerate_and_edit_keep_branches(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Branches" })).await;
    let base = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    let first = o.post(&base, json!({ "content": "first question" })).await;
    let answer = first.body["assistant_message"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let question = first.body["user_message"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    fake.push(Behavior::Reply(Reply::text("a better answer")));
    let again = o
        .post(&format!("{base}/{answer}/regenerate"), json!({}))
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(
        again.body["assistant_message"]["content"],
        "a better answer"
    );
    let better = again.body["assistant_message"]["id"].clone();
    // The new answer says, as it is saved, which versions there are.
    assert_eq!(
        again.body["assistant_message"]["sibling_ids"],
        json!([answer, better]),
        "{}",
        again.text
    );
    let list = o.get(&base).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(list.body["items"][1]["content"], "a better answer");
    assert_eq!(
        list.body["items"][1]["sibling_ids"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "both answers are kept"
    );

    let edited = o
        .post(
            &format!("{base}/{question}/edit"),
            json!({ "content": "a changed question" }),
        )
        .await;
    assert_eq!(edited.status, 201, "{}", edited.text);
    let list = o.get(&base).await;
    let contents: Vec<&str> = list.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, ["a changed question", "Echo: a changed question"]);
    assert_eq!(
        list.body["items"][0]["sibling_ids"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Switch back to the first branch: it still ends with the regenerated answer.
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}"),
            json!({ "active_message_id": question }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = o.get(&base).await;
    let contents: Vec<&str> = list.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, ["first question", "a better answer"]);
    assert_error(
        &o.post(&format!("{base}/{question}/regenerate"), json!({}))
            .await,
        404,
        "not_found",
    );
}

async fn identical_deterministic_requests_hit_the_cache(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let a = conversation(&o, &ws, json!({ "title": "A" })).await;
    let b = conversation(&o, &ws, json!({ "title": "B" })).await;
    let first = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{a}/messages"),
            json!({ "content": "what is 2+2?", "temperature": 0 }),
        )
        .await;
    assert_eq!(first.body["assistant_message"]["cached"], false);
    let (_, events, raw) = send_streamed(
        &o,
        &ws,
        &b,
        json!({ "content": "what is 2+2?", "temperature": 0 }),
    )
    .await;
    assert_eq!(last(&events).data["cached"], true, "{raw}");
    assert_eq!(
        text_of(&events),
        "Echo: what is 2+2?",
        "a cached answer still streams"
    );
    assert_eq!(fake.request_count(), 1, "the provider was called once");
    // Not deterministic: not cached.
    o.post(
        &format!("/api/v1/workspaces/{ws}/conversations/{a}/messages"),
        json!({ "content": "what is 2+2?" }),
    )
    .await;
    assert_eq!(fake.request_count(), 2);

    // An answer by a fallback model is not kept for the model asked for: a hit would be
    // served, and billed, as that model's.
    let r = o
        .put(
            &format!("/api/v1/workspaces/{ws}/ai/settings"),
            json!({ "default_model": "fake-small", "fallback_models": ["fake-large"] }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let url = |conv: &str| format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    let question = json!({ "content": "what is 3+3?", "temperature": 0 });
    fake.push_many([500, 502, 503].map(|code| Behavior::Status {
        code,
        retry_after: None,
    }));
    let c = conversation(&o, &ws, json!({ "title": "C" })).await;
    let fell_back = o.post(&url(&c), question.clone()).await;
    assert_eq!(
        fell_back.body["assistant_message"]["model"], "fake-large",
        "{}",
        fell_back.text
    );
    let calls = fake.request_count();
    let d = conversation(&o, &ws, json!({ "title": "D" })).await;
    let again = o.post(&url(&d), question).await;
    assert_eq!(
        again.body["assistant_message"]["cached"], false,
        "{}",
        again.text
    );
    assert_eq!(again.body["assistant_message"]["model"], "fake-small");
    assert_eq!(fake.request_count(), calls + 1);
}

/// A conversation downloads as Markdown (the branch being shown, to read) or as JSON
/// (every message of every branch), for whoever may read it and nobody else.
async fn conversations_export_as_markdown_and_json(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let conv = with_two_answers(
        &o,
        &ws,
        &fake,
        json!({ "title": "Launch plan: Q3/Q4", "system_prompt": "Be brief.\nUse lists." }),
    )
    .await;
    let base = format!("/api/v1/workspaces/{ws}/conversations/{conv}");

    let md = o.get(&format!("{base}/export")).await;
    assert_eq!(md.status, 200, "{}", md.text);
    let header = |r: &nexus_testkit::Resp, name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header(&md, "content-type").starts_with("text/markdown"));
    assert_eq!(
        header(&md, "content-disposition"),
        "attachment; filename=\"launch-plan-q3-q4.md\""
    );
    for part in [
        "# Launch plan: Q3/Q4\n",
        "- Model: fake-small\n",
        "> Be brief.\n> Use lists.\n",
        "## You · ",
        "\nfirst question\n",
        "## Assistant (fake-small) · ",
        "\na **better** answer\n",
    ] {
        assert!(md.text.contains(part), "{part:?} not in:\n{}", md.text);
    }
    assert!(
        !md.text.contains("Echo: first question"),
        "only the branch being shown:\n{}",
        md.text
    );

    let js = o.get(&format!("{base}/export?format=json")).await;
    assert_eq!(js.status, 200, "{}", js.text);
    assert!(header(&js, "content-type").starts_with("application/json"));
    assert!(header(&js, "content-disposition").ends_with("launch-plan-q3-q4.json\""));
    assert_eq!(js.body["conversation"]["id"], conv.as_str());
    let contents: Vec<&str> = js.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        [
            "first question",
            "Echo: first question",
            "a **better** answer"
        ],
        "every branch, oldest first"
    );
    assert_eq!(
        js.body["messages"][2]["sibling_ids"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    assert_error(
        &o.get(&format!("{base}/export?format=pdf")).await,
        422,
        "validation_failed",
    );
    // Private: another member cannot tell it exists.
    for format in ["markdown", "json"] {
        assert_error(
            &m.get(&format!("{base}/export?format={format}")).await,
            404,
            "not_found",
        );
    }
}

/// What the JSON export wrote comes back in as a new conversation, every branch kept and
/// the same one shown, here or in another workspace; a file that is not one
/// conversation is refused and leaves nothing behind.
async fn an_exported_conversation_imports_with_its_branches(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    let conv = with_two_answers(
        &o,
        &ws,
        &fake,
        json!({ "title": "Trip notes", "system_prompt": "Be brief." }),
    )
    .await;
    let base = format!("/api/v1/workspaces/{ws}/conversations/{conv}");
    let exported = o.get(&format!("{base}/export?format=json")).await.body;

    let import = format!("/api/v1/workspaces/{ws}/conversations/import");
    let r = m.post(&import, exported.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let copy = r.id();
    assert_ne!(copy, conv);
    assert_eq!(r.body["title"], "Trip notes");
    assert_eq!(r.body["system_prompt"], "Be brief.");
    assert_eq!(r.body["model"], "fake-small");
    assert_eq!(r.body["visibility"], "private");
    assert_eq!(r.body["message_count"], 3);
    assert_eq!(r.body["tokens_used"], 0, "nothing was used here");
    let shown = m
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{copy}/messages"
        ))
        .await;
    let contents: Vec<&str> = shown.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        ["first question", "a **better** answer"],
        "the same branch"
    );
    assert_eq!(
        shown.body["items"][1]["sibling_ids"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "the other answer came too"
    );
    // The copy is the importer's own: private to them, and they can go on with it.
    assert_error(
        &o.get(&format!("/api/v1/workspaces/{ws}/conversations/{copy}"))
            .await,
        404,
        "not_found",
    );
    let next = m
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{copy}/messages"),
            json!({ "content": "and then?" }),
        )
        .await;
    assert_eq!(next.status, 201, "{}", next.text);
    // Audited as what it is, without the content.
    let audit = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=conversation.imported"
        ))
        .await;
    assert_eq!(
        audit.body["items"][0]["target"]["id"],
        copy.as_str(),
        "{}",
        audit.text
    );
    assert_eq!(audit.body["items"][0]["summary"]["messages"], 3);
    assert!(!audit.text.contains("first question"));

    // Another workspace, with a model of its own: the conversation takes that one.
    let (p, ws2, _) = owner(&app, "p@example.com").await;
    enable_ai(&p, &ws2, &fake, "Fake").await;
    let mut elsewhere = exported.clone();
    elsewhere["conversation"]["model"] = json!("a-model-nobody-offers");
    let r = p
        .post(
            &format!("/api/v1/workspaces/{ws2}/conversations/import"),
            elsewhere,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["model"], "fake-small");

    assert_error(&v.post(&import, exported.clone()).await, 403, "forbidden");
    let before = m
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await
        .body["items"]
        .as_array()
        .map(Vec::len);
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut body = exported.clone();
        edit(&mut body);
        body
    };
    for (body, field) in [
        (
            broken(&|b| b["messages"][1]["parent_id"] = json!(uuid::Uuid::now_v7().to_string())),
            "messages[1].parent_id",
        ),
        (
            broken(&|b| b["messages"][2]["parent_id"] = b["messages"][1]["id"].clone()),
            "messages[2].parent_id",
        ),
        (
            broken(&|b| b["messages"][0]["role"] = json!("system")),
            "messages[0].role",
        ),
        (
            broken(&|b| b["messages"][2]["id"] = b["messages"][1]["id"].clone()),
            "messages[2].id",
        ),
        (
            broken(&|b| b["messages"][1]["status"] = json!("done")),
            "messages[1].status",
        ),
        (
            broken(&|b| b["messages"][1]["tool_calls"] = json!([{ "name": "list_members" }])),
            "messages[1].tool_calls",
        ),
        (
            broken(&|b| b["messages"][1]["tool_calls"] = json!("calls")),
            "messages[1].tool_calls",
        ),
        (
            broken(&|b| b["messages"][0]["tool_calls"] = json!([])),
            "messages[0].tool_calls",
        ),
        (
            broken(&|b| b["messages"][1]["error"] = json!("failed")),
            "messages[1].error",
        ),
        // PostgreSQL keeps no date before 4713 BC (SQLite would have taken it).
        (
            broken(&|b| b["messages"][0]["created_at"] = json!("-10000-01-01T00:00:00Z")),
            "messages[0].created_at",
        ),
    ] {
        let r = m.post(&import, body).await;
        assert_error(&r, 422, "validation_failed");
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{field}: {}",
            r.text
        );
    }
    assert_error(
        &m.post(&import, json!({ "conversation": {}, "messages": "no" }))
            .await,
        422,
        "validation_failed",
    );
    let after = m
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await
        .body["items"]
        .as_array()
        .map(Vec::len);
    assert_eq!(before, after, "a refused import leaves nothing behind");
}

/// A conversation of `o`'s whose first question has two answers, as regenerating makes
/// them: the echo, and "a **better** answer", which is shown.
async fn with_two_answers(
    o: &nexus_testkit::Client,
    ws: &str,
    fake: &FakeAi,
    body: serde_json::Value,
) -> String {
    let conv = conversation(o, ws, body).await;
    let messages = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    let first = o
        .post(&messages, json!({ "content": "first question" }))
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let answer = first.body["assistant_message"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    fake.push(Behavior::Reply(Reply::text("a **better** answer")));
    let again = o
        .post(&format!("{messages}/{answer}/regenerate"), json!({}))
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    conv
}

/// A conversation found by a message's text says which message, with the text around
/// the words; one found by its title alone says nothing more.
async fn search_results_show_where_the_words_were_found(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let trip = conversation(&o, &ws, json!({ "title": "Trip" })).await;
    let content = format!(
        "{}we could visit the Alhambra in Granada{}",
        "first some context, ".repeat(10),
        ", and then much more after it".repeat(10)
    );
    let sent = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{trip}/messages"),
            json!({ "content": content }),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let named = conversation(&o, &ws, json!({ "title": "Alhambra tickets" })).await;

    let found = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations?q=ALHAMBRA"))
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    let items = found.body["items"].as_array().cloned().unwrap_or_default();
    let by_id = |id: &str| items.iter().find(|c| c["id"] == id).cloned();
    let trip = by_id(&trip).expect("found by its messages");
    // The newest message with the words: the answer, which echoes them.
    assert_eq!(
        trip["matched"]["message_id"],
        sent.body["assistant_message"]["id"]
    );
    let snippet = trip["matched"]["snippet"].as_str().unwrap_or_default();
    assert!(
        snippet.contains("visit the Alhambra in Granada"),
        "{snippet}"
    );
    assert!(
        snippet.starts_with('…') && snippet.ends_with('…'),
        "{snippet}"
    );
    assert!(snippet.chars().count() <= 162, "{snippet}");
    let named = by_id(&named).expect("found by its title");
    assert!(named.get("matched").is_none(), "{named}");
    // Any letter's case, not only ASCII's (SQLite's own LIKE folds ASCII only).
    let dessert = conversation(&o, &ws, json!({ "title": "Dessert" })).await;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{dessert}/messages"),
            json!({ "content": "Un Éclair au CAFÉ, s'il vous plaît" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ids = |r: &nexus_testkit::Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect()
    };
    let accented = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations?q=%C3%A9CLAIR%20au%20caf%C3%A9"
        ))
        .await;
    assert_eq!(ids(&accented), [dessert.as_str()], "{}", accented.text);
    // Wildcards are the characters they are: "f*t" is not "first … context".
    let starred = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations?q=f*t"))
        .await;
    assert_eq!(ids(&starred), Vec::<String>::new(), "{}", starred.text);
    let percent = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations?q=f%25t"))
        .await;
    assert_eq!(ids(&percent), Vec::<String>::new(), "{}", percent.text);

    // Without a search, no conversation says anything of the kind.
    let all = o
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await;
    assert!(
        all.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|c| c.get("matched").is_none()),
        "{}",
        all.text
    );
}
