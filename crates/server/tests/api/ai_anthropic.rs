//! A provider speaking Anthropic's Messages API, end to end against the fake's
//! `/v1/messages` (which refuses what the real API refuses: a request we translate wrongly
//! fails the test there).

use nexus_testkit::fake_ai::{Behavior, FakeAi, PROMPT_OVERHEAD, Reply};
use nexus_testkit::{Client, Engine, TestApp};
use serde_json::{Value, json};

use crate::ai_support::{
    conversation, last, reasoning_of, send_streamed, switch_on_assistant, text_of,
};
use crate::{assert_error, owner};

nexus_testkit::both_engines!(
    an_anthropic_provider_streams_calls_tools_and_is_metered,
    prompt_caching_reads_earlier_turns_and_can_be_switched_off,
    claudes_thinking_streams_as_reasoning
);

/// Switch the assistant on and add `fake` as an Anthropic provider; returns its id.
async fn enable_anthropic(c: &Client, ws: &str, fake: &FakeAi, key: &str) -> Value {
    switch_on_assistant(c, ws).await;
    let r = c
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Claude", "api": "anthropic", "base_url": fake.base_url(),
                    "api_key": key, "models": ["fake-small", "fake-large"] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// Claude's thinking (as a gateway that enables it passes it on) is a reasoning model's
/// thoughts like any other: streamed first, kept with the answer.
async fn claudes_thinking_streams_as_reasoning(app: TestApp) {
    let fake = FakeAi::start(Some("sk-ant-key")).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_anthropic(&o, &ws, &fake, "sk-ant-key").await;
    let conv = conversation(&o, &ws, json!({ "title": "Thinking" })).await;
    fake.push(Behavior::Reply(
        Reply::text("It is 4.").reasoning("Two and two."),
    ));
    let (status, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "2+2?" })).await;
    assert_eq!(status, 200, "{raw}");
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names.iter().position(|n| *n == "reasoning"),
        Some(1),
        "right after the user's message: {names:?}"
    );
    assert_eq!(reasoning_of(&events), "Two and two.");
    assert_eq!(text_of(&events), "It is 4.");
    let done = &last(&events).data;
    assert_eq!(done["reasoning"], "Two and two.", "{raw}");
    // Claude's output tokens include its thinking.
    assert_eq!(done["completion_tokens"], 6, "{done}");
}

async fn an_anthropic_provider_streams_calls_tools_and_is_metered(app: TestApp) {
    let fake = FakeAi::start(Some("sk-ant-key")).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let provider = enable_anthropic(&o, &ws, &fake, "sk-ant-key").await;
    assert_eq!(provider["api"], "anthropic");
    let conv = conversation(
        &o,
        &ws,
        json!({ "title": "Claude", "system_prompt": "Answer in one line." }),
    )
    .await;

    let (status, events, raw) =
        send_streamed(&o, &ws, &conv, json!({ "content": "hello there" })).await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(text_of(&events), "Echo: hello there");
    let done = &last(&events).data;
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(done["status"], "complete");
    assert_eq!(done["provider_id"], provider["id"]);
    // The usage Anthropic reported: "Answer in one line." + "hello there", and "Echo:
    // hello there" (the fake counts words).
    assert_eq!(done["prompt_tokens"], 6 + PROMPT_OVERHEAD);
    assert_eq!(done["completion_tokens"], 3);
    let sent = &fake.requests()[0];
    // Marked for the prompt cache (on by default): the system prompt and the question.
    let mark = json!({"type": "ephemeral"});
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "Answer in one line.", "cache_control": mark}])
    );
    assert_eq!(
        sent["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hello there", "cache_control": mark}]}])
    );
    assert!(sent["max_tokens"].as_u64().is_some_and(|n| n > 0));

    // A tool round: what Claude says first is kept, tool_use comes back as a tool call,
    // the result goes to the model as a tool_result (the fake checks it answers that
    // tool_use).
    fake.push(Behavior::ToolCallAfterText {
        text: "Let me look.".into(),
        name: "list_members".into(),
        arguments: json!({}),
    });
    let (_, events, raw) =
        send_streamed(&o, &ws, &conv, json!({ "content": "who is here?" })).await;
    let result = events
        .iter()
        .find(|e| e.name == "tool_result")
        .map(|e| e.data["result"].clone())
        .unwrap_or_default();
    assert_eq!(result["members"][0]["email"], "o@example.com", "{raw}");
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(last(&events).data["tool_calls"][0]["name"], "list_members");
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "one answer, then a tool round of two");
    let offered = requests[1]["tools"].as_array().cloned().unwrap_or_default();
    assert!(
        offered
            .iter()
            .any(|t| t["name"] == "list_members" && t["input_schema"].is_object()),
        "{offered:?}"
    );
    let round = requests[2]["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let roles: Vec<&str> = round.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
    assert_eq!(
        round[3]["content"][0],
        json!({"type": "text", "text": "Let me look."})
    );
    assert_eq!(round[3]["content"][1]["type"], "tool_use");
    assert!(
        text_of(&events).starts_with("Let me look."),
        "{}",
        text_of(&events)
    );
    assert_eq!(round[4]["content"][0]["type"], "tool_result");

    let usage = o.get(&format!("/api/v1/workspaces/{ws}/ai/usage")).await;
    // One usage row per answer, the tool round's two calls summed into it.
    assert_eq!(usage.body["totals"]["requests"], 2, "{}", usage.text);
    assert!(
        usage.body["totals"]["prompt_tokens"].as_u64() > Some(6 + PROMPT_OVERHEAD),
        "{}",
        usage.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_provider_is_checked_live_cut_and_failed_over() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.ai_retry_base_ms = 1;
    })
    .await
    else {
        return;
    };
    let fake = FakeAi::start(Some("sk-ant-key")).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let provider = enable_anthropic(&o, &ws, &fake, "sk-ant-key").await;
    let id = provider["id"].as_str().unwrap_or_default();
    let test = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{id}/test"),
            json!({}),
        )
        .await;
    assert_eq!(test.body["ok"], true, "{}", test.text);
    assert_eq!(
        test.body["available_models"],
        json!(["fake-small", "fake-large"])
    );

    // An unknown protocol is refused and changes nothing.
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{id}"),
            json!({ "api": "gemini" }),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    let listed = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/providers"))
        .await;
    assert_eq!(
        listed.body["items"][0]["api"], "anthropic",
        "{}",
        listed.text
    );

    // The stored key only goes where it was given for: a new address or protocol needs
    // it again.
    let url = format!("/api/v1/workspaces/{ws}/ai/providers/{id}");
    for change in [
        json!({ "base_url": "https://collector.example/v1" }),
        json!({ "base_url": format!("{}/another-account", fake.base_url()) }),
        json!({ "api": "openai" }),
    ] {
        let r = o.patch(&url, change.clone()).await;
        assert_error(&r, 422, "validation_failed");
        assert!(r.text.contains("api_key"), "{change}: {}", r.text);
    }
    // The dialog sends everything on every edit: the same address and protocol keep it.
    let r = o
        .patch(
            &url,
            json!({ "name": "Claude", "api": "anthropic", "base_url": fake.base_url() }),
        )
        .await;
    assert_eq!(r.body["has_api_key"], true, "{}", r.text);
    let r = o
        .patch(&url, json!({ "api": "openai", "api_key": "sk-ant-key" }))
        .await;
    assert_eq!(r.body["api"], "openai", "{}", r.text);
    let r = o
        .patch(&url, json!({ "api": "anthropic", "api_key": "sk-ant-key" }))
        .await;
    assert_eq!(r.body["api"], "anthropic", "{}", r.text);

    // A bare Anthropic address, as its SDKs take it, gets its /v1, whether given so or
    // made Anthropic's later.
    let bare = fake.base_url().trim_end_matches("/v1").to_owned();
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Bare", "api": "anthropic", "base_url": bare, "models": ["fake-small"], "enabled": false }),
        )
        .await;
    assert_eq!(r.body["base_url"], fake.base_url(), "{}", r.text);
    let bare_id = r.id();
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Bare later", "base_url": bare, "models": ["fake-small"], "enabled": false }),
        )
        .await;
    assert_eq!(
        r.body["base_url"],
        bare.as_str(),
        "an OpenAI-compatible one stays bare"
    );
    let later = r.id();
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/ai/providers/{later}"),
            json!({ "api": "anthropic" }),
        )
        .await;
    assert_eq!(r.body["base_url"], fake.base_url(), "{}", r.text);
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/ai/providers/{later}"))
            .await
            .status,
        204
    );
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/ai/providers/{bare_id}"))
            .await
            .status,
        204
    );

    // A stream cut midway keeps what arrived.
    let conv = conversation(&o, &ws, json!({ "title": "Cut" })).await;
    fake.push(Behavior::DropMidStream {
        text: "one two three four five".into(),
        after_chunks: 2,
    });
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "count" })).await;
    assert_eq!(last(&events).name, "error", "{raw}");
    assert_eq!(last(&events).data["code"], "ai_stream_interrupted");
    assert_eq!(text_of(&events), "one two ");
    assert_eq!(
        last(&events).data["assistant_message"]["content"],
        text_of(&events)
    );

    // Overloaded (529) three times: the answer fails over to the next provider, an
    // OpenAI-compatible one.
    let other = FakeAi::start(None).await;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/ai/providers"),
            json!({ "name": "Local", "base_url": other.base_url(), "models": ["fake-small"] }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["api"], "openai", "the default protocol");
    fake.push_many((0..3).map(|_| Behavior::Status {
        code: 529,
        retry_after: None,
    }));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "again" })).await;
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(last(&events).data["provider_id"], r.body["id"]);
    assert_eq!(text_of(&events), "Echo: again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_default_provider_may_speak_anthropic() {
    let fake = FakeAi::start(Some("platform-key")).await;
    let base = fake.base_url();
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.ai_base_url = Some(base);
        s.ai_api = nexus_kernel::config::AiProviderApi::Anthropic;
        s.ai_api_key = Some("platform-key".into());
        s.ai_models = "fake-small".into();
        // NEXUS_AI_PROMPT_CACHING=false
        s.ai_prompt_caching = false;
    })
    .await
    else {
        return;
    };
    let (o, ws, _) = owner(&app, "o@example.com").await;
    switch_on_assistant(&o, &ws).await;
    let conv = conversation(&o, &ws, json!({ "title": "Platform" })).await;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "hi" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assistant_message"]["content"], "Echo: hi");
    assert_eq!(
        fake.requests()[0]["messages"][0]["content"][0],
        json!({"type": "text", "text": "hi"}),
        "the request was a Messages request, not marked for the prompt cache"
    );
}

/// With prompt caching (the default), the second turn reads the first from Anthropic's
/// cache, and every prompt token still counts; switched off, nothing is marked.
async fn prompt_caching_reads_earlier_turns_and_can_be_switched_off(app: TestApp) {
    let fake = FakeAi::start(Some("sk-ant-key")).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let provider = enable_anthropic(&o, &ws, &fake, "sk-ant-key").await;
    assert_eq!(provider["prompt_caching"], true, "on by default");
    let conv = conversation(
        &o,
        &ws,
        json!({ "title": "Cached", "system_prompt": "Answer in one line." }),
    )
    .await;
    let send = |content: &'static str| {
        let (o, ws, conv) = (&o, &ws, &conv);
        async move {
            let (status, events, raw) =
                send_streamed(o, ws, conv, json!({ "content": content })).await;
            assert_eq!(status, 200, "{raw}");
            assert_eq!(last(&events).name, "done", "{raw}");
            last(&events).data.clone()
        }
    };
    send("hello there").await;
    let done = send("and again").await;
    let marked = |request: &Value| -> usize {
        let blocks = request["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
            .chain(request["system"].as_array().cloned().unwrap_or_default());
        blocks.filter(|b| b.get("cache_control").is_some()).count()
    };
    let second = &fake.requests()[1];
    assert_eq!(
        marked(second),
        3,
        "the system prompt and both questions: {second}"
    );
    // "Answer in one line." + "hello there" + "Echo: hello there" + "and again", all of
    // them counted, though six were read from the cache and five written to it.
    assert_eq!(done["prompt_tokens"], 11 + PROMPT_OVERHEAD, "{done}");
    assert_eq!(done["cached_prompt_tokens"], 6, "{done}");
    let listed = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    assert_eq!(
        listed.body["items"][3]["cached_prompt_tokens"], 6,
        "kept with the answer: {}",
        listed.text
    );
    // The usage report says how many came from the cache, per model and in all.
    let usage = o
        .get(&format!("/api/v1/workspaces/{ws}/ai/usage?group_by=model"))
        .await;
    assert_eq!(
        usage.body["totals"]["cached_prompt_tokens"], 6,
        "{}",
        usage.text
    );
    assert_eq!(
        usage.body["items"][0]["cached_prompt_tokens"], 6,
        "{}",
        usage.text
    );

    let id = provider["id"].as_str().expect("id");
    let url = format!("/api/v1/workspaces/{ws}/ai/providers/{id}");
    let r = o.patch(&url, json!({ "prompt_caching": "yes" })).await;
    assert_error(&r, 422, "validation_failed");
    let r = o.patch(&url, json!({ "prompt_caching": false })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["prompt_caching"], false);
    let audit = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events?limit=1"))
        .await;
    assert_eq!(audit.body["items"][0]["action"], "ai_provider.updated");
    assert_eq!(
        audit.body["items"][0]["summary"]["fields"],
        json!(["prompt_caching"])
    );
    send("once more").await;
    let third = &fake.requests()[2];
    assert_eq!(marked(third), 0, "{third}");
    assert_eq!(third["system"], "Answer in one line.");
}
