//! Reasoning models: their thoughts (sent apart, or in `<think>` tags at the start of the
//! text) stream before the answer as `reasoning` events, are
//! kept with the answer, count as completion tokens, never go back to the model, and
//! count as the first token (a model that thinks longer than the first-token timeout
//! is not cut off).

use nexus_testkit::fake_ai::{Behavior, FakeAi, Quirks, Reply};
use nexus_testkit::{Engine, TestApp, both_engines};
use serde_json::{Value, json};
use std::time::Duration;

use crate::ai_support::{
    conversation, enable_ai, last, open_stream, parse_sse, reasoning_of, send_streamed, text_of,
    wait_for_message_where,
};
use crate::owner;

both_engines!(reasoning_streams_first_and_stays_out_of_the_history);

async fn reasoning_streams_first_and_stays_out_of_the_history(app: TestApp) {
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Sums" })).await;

    // DeepSeek's and vLLM's name for it, with usage from the provider.
    let thoughts = "Two and two make four, surely.";
    fake.push(Behavior::Reply(Reply::text("It is 4.").reasoning(thoughts)));
    let (status, events, raw) =
        send_streamed(&o, &ws, &conv, json!({ "content": "What is 2+2?" })).await;
    assert_eq!(status, 200, "{raw}");
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let first_reasoning = names.iter().position(|n| *n == "reasoning");
    let first_delta = names.iter().position(|n| *n == "delta");
    assert!(
        first_reasoning.is_some() && first_reasoning < first_delta,
        "{names:?}"
    );
    assert_eq!(reasoning_of(&events), thoughts);
    assert_eq!(text_of(&events), "It is 4.");
    let done = &last(&events).data;
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(done["reasoning"], thoughts);
    assert_eq!(done["content"], "It is 4.");
    // The fake bills the thoughts' words with the answer's: 6 + 3.
    assert_eq!(done["completion_tokens"], 9, "{done}");

    // Kept with the answer; a user message has none.
    let listed = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    let items = listed.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{}", listed.text);
    assert_eq!(items[0]["reasoning"], Value::Null);
    assert_eq!(items[1]["reasoning"], thoughts);

    // OpenRouter's and Ollama's name for it, without usage: the tokenizer counts the
    // thoughts too. The model's next request carries the answer but not the thoughts.
    fake.push(Behavior::Reply(
        Reply::text("Still 4.")
            .reasoning("They ask again; the sum has not changed.")
            .quirks(Quirks {
                reasoning_field: true,
                ..Default::default()
            })
            .no_usage(),
    ));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "Sure?" })).await;
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(
        reasoning_of(&events),
        "They ask again; the sum has not changed."
    );
    let done = &last(&events).data;
    assert!(
        done["completion_tokens"].as_i64() > Some(8),
        "thoughts counted: {done}"
    );
    let sent = fake.requests().last().cloned().unwrap_or_default();
    let history = sent["messages"].as_array().cloned().unwrap_or_default();
    assert!(
        history
            .iter()
            .any(|m| m["role"] == "assistant" && m["content"] == "It is 4."),
        "{sent}"
    );
    let body = sent.to_string();
    assert!(
        !body.contains("reasoning") && !body.contains("surely"),
        "{sent}"
    );

    // Thoughts written into the text in tags, cut anywhere: taken out of the answer.
    fake.push(Behavior::Reply(
        Reply::text("<think>\nThe same sum.\n</think>\n\nYes: 4.").chunk_chars(3),
    ));
    let (_, events, raw) = send_streamed(&o, &ws, &conv, json!({ "content": "Once more?" })).await;
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(reasoning_of(&events), "\nThe same sum.\n");
    assert_eq!(text_of(&events), "Yes: 4.");
    assert_eq!(last(&events).data["content"], "Yes: 4.");
    assert_eq!(last(&events).data["reasoning"], "\nThe same sum.\n");

    // Without a stream, the answer carries its thoughts too.
    fake.push(Behavior::Reply(Reply::text("Yes.").reasoning("Once more.")));
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "Really?" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assistant_message"]["reasoning"], "Once more.");
    assert_eq!(r.body["user_message"]["reasoning"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_thinking_is_not_cut_off_and_is_kept_as_it_comes() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.ai_first_token_timeout_secs = 1;
        s.ai_retry_base_ms = 1;
    })
    .await
    else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Thoughts" })).await;
    // Ten words of thought 300 ms apart: the answer's first word comes after 2.7 s, past
    // the 1 s a provider has to start answering.
    let thoughts = "one two three four five six seven eight nine ten";
    fake.push(Behavior::Reply(
        Reply::text("Done thinking.")
            .reasoning(thoughts)
            .delay(Duration::from_millis(300)),
    ));
    let stream = open_stream(&o, &ws, &conv, json!({ "content": "Think." })).await;
    // Checkpointed while the model still thinks: a reader who comes back sees them.
    let partial = wait_for_message_where(&o, &ws, &conv, 1, "thoughts kept", |m| {
        m["status"] == "streaming" && m["reasoning"].as_str().is_some_and(|r| !r.is_empty())
    })
    .await;
    assert!(
        thoughts.starts_with(partial["reasoning"].as_str().unwrap_or_default()),
        "{partial}"
    );
    assert_eq!(partial["content"], "", "{partial}");
    let raw = stream.text().await.expect("the rest of the stream");
    let events = parse_sse(&raw);
    assert_eq!(last(&events).name, "done", "{raw}");
    assert_eq!(text_of(&events), "Done thinking.");
    assert_eq!(reasoning_of(&events), thoughts);
    assert_eq!(fake.request_count(), 1, "answered by the first attempt");
}
