//! Deleting a message: it goes with what followed it in its branch, an only answer takes
//! its question, and the conversation shows what remains.

use nexus_testkit::fake_ai::{Behavior, Reply};
use nexus_testkit::{Client, TestApp, both_engines, member_with_role};
use serde_json::{Value, json};
use std::time::Duration;

use crate::ai_support::{
    ai_owner, conversation, send_in_background, share_with_workspace, wait_for_message,
};
use crate::assert_error;

both_engines!(
    a_message_goes_with_what_followed_it,
    bad_deletes_change_nothing
);

fn messages_url(ws: &str, conv: &str) -> String {
    format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages")
}

/// Ask and wait for the answer; (question's id, answer's id).
async fn ask(c: &Client, ws: &str, conv: &str, question: &str) -> (String, String) {
    let r = crate::ai_support::ask(c, ws, conv, question).await;
    (
        r["user_message"]["id"].as_str().expect("id").to_owned(),
        r["assistant_message"]["id"]
            .as_str()
            .expect("id")
            .to_owned(),
    )
}

/// The branch shown: each message's content, and the conversation's message count.
async fn shown(c: &Client, ws: &str, conv: &str) -> (Vec<Value>, i64) {
    let list = c.get(&messages_url(ws, conv)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().cloned().expect("items");
    let one = c
        .get(&format!("/api/v1/workspaces/{ws}/conversations/{conv}"))
        .await;
    (items, one.body["message_count"].as_i64().expect("count"))
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().filter_map(|m| m["id"].as_str()).collect()
}

async fn a_message_goes_with_what_followed_it(app: TestApp) {
    let (_fake, o, ws, conv) = ai_owner(&app, "Trimmed").await;
    let (q1, a1) = ask(&o, &ws, &conv, "one").await;
    let (q2, a2) = ask(&o, &ws, &conv, "two").await;
    let again = o
        .post(
            &format!("{}/{a2}/regenerate", messages_url(&ws, &conv)),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    let a2b = again.body["assistant_message"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = o
        .put(
            &format!("{}/{a2b}/feedback", messages_url(&ws, &conv)),
            json!({ "rating": "up" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A version among others goes alone: the other shows in its place.
    let r = o
        .delete(&format!("{}/{a2b}", messages_url(&ws, &conv)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (items, count) = shown(&o, &ws, &conv).await;
    assert_eq!(ids(&items), [&q1, &a1, &q2, &a2]);
    assert_eq!(items[3]["sibling_ids"], json!([a2]));
    assert_eq!(count, 4);
    let report = o.get(&format!("/api/v1/workspaces/{ws}/ai/feedback")).await;
    assert_eq!(report.body["up"], 0, "its rating went with it");

    // An only answer takes its question: no question is left without one.
    let r = o
        .delete(&format!("{}/{a2}", messages_url(&ws, &conv)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (items, count) = shown(&o, &ws, &conv).await;
    assert_eq!(ids(&items), [&q1, &a1]);
    assert_eq!(count, 2);

    // The conversation goes on from what remains; its history is what remains.
    let (q3, a3) = ask(&o, &ws, &conv, "three").await;
    let (items, _) = shown(&o, &ws, &conv).await;
    assert_eq!(ids(&items), [&q1, &a1, &q3, &a3]);
    assert_eq!(items[2]["parent_id"], a1.as_str());

    // The first question takes everything; the conversation stays, empty, and can start
    // again.
    let r = o
        .delete(&format!("{}/{q1}", messages_url(&ws, &conv)))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let (items, count) = shown(&o, &ws, &conv).await;
    assert!(items.is_empty(), "{items:?}");
    assert_eq!(count, 0);
    let (q4, _) = ask(&o, &ws, &conv, "four").await;
    let (items, count) = shown(&o, &ws, &conv).await;
    assert_eq!(items[0]["id"], q4.as_str());
    assert_eq!(items[0]["parent_id"], Value::Null);
    assert_eq!(count, 2);

    // Audited once each, at the message the branch was cut at, with how many went and
    // no words of theirs.
    let events = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=message.deleted"
        ))
        .await;
    let events = events.body["items"].as_array().cloned().unwrap_or_default();
    let cut: Vec<(&str, i64)> = events
        .iter()
        .map(|e| {
            (
                e["target"]["id"].as_str().unwrap_or_default(),
                e["summary"]["messages"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(cut, [(q1.as_str(), 4), (q2.as_str(), 2), (a2b.as_str(), 1)]);
    assert!(
        events
            .iter()
            .all(|e| e["summary"]["conversation_id"] == conv.as_str())
    );
    assert!(!events.iter().any(|e| e.to_string().contains("three")));
}

async fn bad_deletes_change_nothing(app: TestApp) {
    let (fake, o, ws, conv) = ai_owner(&app, "Kept").await;
    let (q1, a1) = ask(&o, &ws, &conv, "one").await;
    let before = shown(&o, &ws, &conv).await;

    // Not a message of this conversation, or not one to see: 404.
    let other = conversation(&o, &ws, json!({ "title": "Other" })).await;
    let nobody = uuid::Uuid::now_v7().to_string();
    for url in [
        format!("{}/{nobody}", messages_url(&ws, &conv)),
        format!("{}/{a1}", messages_url(&ws, &other)),
        format!("{}/{a1}", messages_url(&ws, &nobody)),
    ] {
        assert_error(&o.delete(&url).await, 404, "not_found");
    }
    let url = format!("{}/{q1}", messages_url(&ws, &conv));
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    assert_error(&m.delete(&url).await, 404, "not_found");

    // Shared, it is readable by members but theirs to change only if they started it.
    share_with_workspace(&o, &ws, &conv).await;
    assert_error(&m.delete(&url).await, 403, "forbidden");
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    assert_error(&v.delete(&url).await, 403, "forbidden");

    // Another workspace's owner: 404.
    let (x, _, _) = crate::owner(&app, "x@example.com").await;
    assert_error(&x.delete(&url).await, 404, "not_found");
    assert_eq!(shown(&o, &ws, &conv).await, before, "nothing changed");

    // An answer still being written is not deleted, nor anything above it.
    fake.push(Behavior::Reply(
        Reply::text("slowly").delay(Duration::from_millis(1500)),
    ));
    let sent = send_in_background(&o, &ws, &conv, "take your time");
    let streaming = wait_for_message(&o, &ws, &conv, 3, "streaming").await;
    let streaming = streaming["id"].as_str().expect("id").to_owned();
    for cut in [&streaming, &q1] {
        assert_error(
            &o.delete(&format!("{}/{cut}", messages_url(&ws, &conv)))
                .await,
            409,
            "answer_streaming",
        );
    }
    assert_eq!(sent.await.expect("the request").status, 201);
    let (items, count) = shown(&o, &ws, &conv).await;
    assert_eq!(items.len(), 4);
    assert_eq!(count, 4);

    // Once written it can go; gone, it is not found again.
    let url = format!("{}/{streaming}", messages_url(&ws, &conv));
    assert_eq!(o.delete(&url).await.status, 204);
    assert_error(&o.delete(&url).await, 404, "not_found");
    assert_eq!(shown(&o, &ws, &conv).await, before);
}
