//! Feedback on answers: each reader's thumbs up or down with a comment, shown to them with
//! the messages and counted by model in the admins' report.

use nexus_testkit::fake_ai::{Behavior, Reply};
use nexus_testkit::{Client, TestApp, both_engines, member_with_role};
use serde_json::{Value, json};
use std::time::Duration;

use crate::ai_support::{
    ai_owner, conversation, send_in_background, share_with_workspace, wait_for_message,
    wait_for_message_where,
};
use crate::assert_error;

both_engines!(
    readers_rate_answers_and_admins_read_the_report,
    bad_feedback_changes_nothing,
);

/// Ask in `conv` and wait for the answer (201); the answer's id.
async fn answer(c: &Client, ws: &str, conv: &str, question: &str) -> String {
    crate::ai_support::ask(c, ws, conv, question).await["assistant_message"]["id"]
        .as_str()
        .expect("an answer's id")
        .to_owned()
}

fn feedback_url(ws: &str, conv: &str, message: &str) -> String {
    format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages/{message}/feedback")
}

/// What `c` sees of the conversation's messages: each one's own rating.
async fn ratings(c: &Client, ws: &str, conv: &str) -> Vec<Value> {
    let r = c
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["feedback"].clone())
        .collect()
}

async fn report(c: &Client, ws: &str) -> Value {
    let r = c.get(&format!("/api/v1/workspaces/{ws}/ai/feedback")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn readers_rate_answers_and_admins_read_the_report(app: TestApp) {
    let (_fake, o, ws, shared) = ai_owner(&app, "Shared").await;
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{shared}"),
            json!({ "visibility": "workspace" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (m, m_id) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let first = answer(&o, &ws, &shared, "first question").await;

    // The owner likes it; a member reading the shared conversation does not, and says why.
    let url = feedback_url(&ws, &shared, &first);
    let up = o.put(&url, json!({ "rating": "up" })).await;
    assert_eq!(up.status, 200, "{}", up.text);
    assert_eq!(up.body["rating"], "up");
    assert_eq!(up.body["comment"], Value::Null);
    let down = m
        .put(
            &url,
            json!({ "rating": "down", "comment": "  Too vague.  " }),
        )
        .await;
    assert_eq!(down.status, 200, "{}", down.text);
    assert_eq!(down.body["comment"], "Too vague.", "trimmed");

    // Each sees their own rating, on the answer only.
    let mine = ratings(&o, &ws, &shared).await;
    assert_eq!(mine[0], Value::Null, "a question is not rated");
    assert_eq!(mine[1]["rating"], "up");
    assert_eq!(ratings(&m, &ws, &shared).await[1]["rating"], "down");

    // A rating changes in place, and a blank comment is none.
    let changed = o
        .put(&url, json!({ "rating": "down", "comment": "   " }))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["comment"], Value::Null);
    let changed = o
        .put(&url, json!({ "rating": "up", "comment": "Clear." }))
        .await;
    assert_eq!(changed.body["rating"], "up");
    assert_eq!(ratings(&o, &ws, &shared).await[1]["comment"], "Clear.");

    // The member's private conversation: rated, and in the report without a way in.
    let private = conversation(&m, &ws, json!({ "title": "Mine" })).await;
    let secret = answer(&m, &ws, &private, "a private question").await;
    let r = m
        .put(
            &feedback_url(&ws, &private, &secret),
            json!({ "rating": "down", "comment": "Wrong again." }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let all = report(&o, &ws).await;
    assert_eq!(all["up"], 1, "{all}");
    assert_eq!(all["down"], 2, "{all}");
    assert_eq!(
        all["models"],
        json!([{ "model": "fake-small", "up": 1, "down": 2 }])
    );
    let comments = all["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 3, "{all}");
    assert_eq!(comments[0]["comment"], "Wrong again.", "newest first");
    assert_eq!(comments[0]["rated_by"], m_id.as_str());
    assert_eq!(comments[0]["rated_by_label"], "m@example.com");
    assert_eq!(
        comments[0]["conversation_id"],
        Value::Null,
        "the admin cannot open the member's private conversation"
    );
    assert_eq!(comments[0]["message_id"], secret.as_str());
    let shared_comments: Vec<&Value> = comments[1..].iter().collect();
    assert!(
        shared_comments
            .iter()
            .all(|c| c["conversation_id"] == shared.as_str()),
        "{all}"
    );

    // The report is the admins'; a period before any rating is empty.
    assert_error(
        &m.get(&format!("/api/v1/workspaces/{ws}/ai/feedback")).await,
        403,
        "forbidden",
    );
    let old = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/ai/feedback?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z"
        ))
        .await;
    assert_eq!(old.status, 200, "{}", old.text);
    assert_eq!(old.body["models"], json!([]));
    assert_eq!(old.body["comments"], json!([]));

    // Taken back (twice: the second finds none, and is as fine).
    for _ in 0..2 {
        let r = o.delete(&url).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    assert_eq!(ratings(&o, &ws, &shared).await[1], Value::Null);
    assert_eq!(ratings(&m, &ws, &shared).await[1]["rating"], "down");

    // Each change is audited once, with the rating and without the comment's words.
    let events = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=message."
        ))
        .await;
    let events = events.body["items"].as_array().cloned().unwrap_or_default();
    let actions: Vec<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "message.rating_removed",
            "message.rated",
            "message.rated",
            "message.rated",
            "message.rated",
            "message.rated",
        ],
        "the second take-back changed nothing"
    );
    let clear = &events[2];
    assert_eq!(clear["target"]["id"], first.as_str());
    assert_eq!(clear["summary"]["rating"], "up");
    assert_eq!(clear["summary"]["commented"], true);
    assert!(
        !events
            .iter()
            .any(|e| e.to_string().contains("Clear.") || e.to_string().contains("Wrong again")),
        "no comment in the audit log"
    );

    // Deleting a conversation takes its answers' ratings with them.
    let r = m
        .delete(&format!("/api/v1/workspaces/{ws}/conversations/{private}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let left = report(&o, &ws).await;
    assert_eq!(
        left["models"],
        json!([{ "model": "fake-small", "up": 0, "down": 1 }])
    );
    assert_eq!(left["comments"].as_array().map(Vec::len), Some(1));
}

async fn bad_feedback_changes_nothing(app: TestApp) {
    let (fake, o, ws, conv) = ai_owner(&app, "Rated").await;
    let first = answer(&o, &ws, &conv, "a question").await;
    let url = feedback_url(&ws, &conv, &first);
    let r = o.put(&url, json!({ "rating": "up" })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Wrong shapes and sizes: refused (400 for a value of the wrong type, as the JSON
    // reader says it; 422 otherwise), and the rating stays.
    for body in [
        json!({}),
        json!({ "rating": "meh" }),
        json!({ "rating": 1 }),
        json!({ "rating": "down", "comment": 5 }),
        json!({ "rating": "down", "stars": 5 }),
        json!({ "rating": "down", "comment": "x".repeat(2001) }),
    ] {
        let r = o.put(&url, body.clone()).await;
        assert!([400, 422].contains(&r.status), "{body}: {}", r.text);
        assert!(r.body["error"]["code"].is_string(), "{body}: {}", r.text);
    }
    let at_most = o
        .put(&url, json!({ "rating": "up", "comment": "é".repeat(2000) }))
        .await;
    assert_eq!(
        at_most.status, 200,
        "2,000 characters, not bytes: {}",
        at_most.text
    );
    assert_eq!(ratings(&o, &ws, &conv).await[1]["rating"], "up");

    // Not an answer of this conversation, or not one to see: 404.
    let messages = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages"
        ))
        .await;
    let question = messages.body["items"][0]["id"].as_str().expect("id");
    let other = conversation(&o, &ws, json!({ "title": "Other" })).await;
    let nobody = uuid::Uuid::now_v7().to_string();
    for url in [
        feedback_url(&ws, &conv, question),
        feedback_url(&ws, &conv, &nobody),
        feedback_url(&ws, &other, &first),
        feedback_url(&ws, &nobody, &first),
    ] {
        assert_error(
            &o.put(&url, json!({ "rating": "up" })).await,
            404,
            "not_found",
        );
        assert_error(&o.delete(&url).await, 404, "not_found");
    }
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    assert_error(
        &m.put(&url, json!({ "rating": "down" })).await,
        404,
        "not_found",
    );
    assert_error(&m.delete(&url).await, 404, "not_found");

    // Viewers read shared conversations but do not rate.
    share_with_workspace(&o, &ws, &conv).await;
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    assert_error(
        &v.put(&url, json!({ "rating": "down" })).await,
        403,
        "forbidden",
    );

    // Another workspace's owner: 404 on this one's ids, under either workspace.
    let (x, x_ws, _) = crate::owner(&app, "x@example.com").await;
    assert_error(
        &x.put(&url, json!({ "rating": "down" })).await,
        404,
        "not_found",
    );
    crate::ai_support::switch_on_assistant(&x, &x_ws).await;
    assert_error(
        &x.put(
            &feedback_url(&x_ws, &conv, &first),
            json!({ "rating": "down" }),
        )
        .await,
        404,
        "not_found",
    );
    assert_eq!(report(&o, &ws).await["up"], 1, "nothing changed");

    // A failed answer has nothing to rate.
    fake.push_many((0..3).map(|_| Behavior::Status {
        code: 500,
        retry_after: None,
    }));
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
            json!({ "content": "anyone?" }),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.text);
    let failed = wait_for_message(&o, &ws, &conv, 3, "error").await;
    let failed = failed["id"].as_str().expect("id");
    assert_error(
        &o.put(
            &feedback_url(&ws, &conv, failed),
            json!({ "rating": "down" }),
        )
        .await,
        409,
        "answer_failed",
    );

    // Nor one still being written, until it is done.
    fake.push(Behavior::Reply(
        Reply::text("slowly").delay(Duration::from_millis(1500)),
    ));
    let sent = send_in_background(&o, &ws, &conv, "take your time");
    let streaming = wait_for_message(&o, &ws, &conv, 5, "streaming").await;
    let streaming = feedback_url(&ws, &conv, streaming["id"].as_str().expect("id"));
    assert_error(
        &o.put(&streaming, json!({ "rating": "up" })).await,
        409,
        "answer_streaming",
    );
    assert_eq!(sent.await.expect("the request").status, 201);
    wait_for_message_where(&o, &ws, &conv, 5, "complete", |m| {
        m["status"] == "complete" && m["feedback"].is_null()
    })
    .await;
    let r = o.put(&streaming, json!({ "rating": "up" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
