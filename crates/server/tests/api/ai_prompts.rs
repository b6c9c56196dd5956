//! Saved prompts: kept by their creator or shared with the workspace, seen and changed by
//! the conversations' rule, and refused whole when wrong.

use nexus_testkit::{Client, Engine, TestApp, both_engines, member_with_role};
use serde_json::{Value, json};

use crate::ai_support::{enable_ai, switch_on_assistant};
use crate::{assert_error, owner};

both_engines!(
    prompts_are_kept_and_shared_as_conversations_are,
    bad_prompts_change_nothing,
    a_person_keeps_500_prompts,
);

fn prompts(ws: &str) -> String {
    format!("/api/v1/workspaces/{ws}/ai/prompts")
}

async fn save(c: &Client, ws: &str, body: Value) -> String {
    let r = c.post(&prompts(ws), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.id()
}

/// The titles `c` is offered, in order.
async fn titles(c: &Client, ws: &str) -> Vec<String> {
    let r = c.get(&prompts(ws)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["next_cursor"], Value::Null);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["title"].as_str().map(str::to_owned))
        .collect()
}

async fn prompts_are_kept_and_shared_as_conversations_are(app: TestApp) {
    let fake = nexus_testkit::fake_ai::FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (m, m_id) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;

    // Kept as written: the text's lines and indentation are the point of it.
    let text = "Review this change:\n\n  1. Is it correct?\n  2. Is it tested?\n";
    let mine = m
        .post(
            &prompts(&ws),
            json!({ "title": "  review  ", "content": text }),
        )
        .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    assert_eq!(mine.body["title"], "review", "the title is trimmed");
    assert_eq!(mine.body["content"], text);
    assert_eq!(mine.body["visibility"], "private");
    assert_eq!(mine.body["created_by"], m_id.as_str());
    assert_eq!(mine.body["can_write"], true);
    let mine = mine.id();
    let shared = save(
        &m,
        &ws,
        json!({ "title": "Translate", "content": "Translate into French:", "visibility": "workspace" }),
    )
    .await;
    save(
        &o,
        &ws,
        json!({ "title": "Answer briefly", "content": "Be brief." }),
    )
    .await;

    // Each is offered its own and the workspace's, by title whatever the case.
    assert_eq!(titles(&m, &ws).await, ["review", "Translate"]);
    assert_eq!(titles(&o, &ws).await, ["Answer briefly", "Translate"]);
    assert_eq!(titles(&v, &ws).await, ["Translate"]);
    let seen = v.get(&prompts(&ws)).await;
    assert_eq!(seen.body["items"][0]["can_write"], false);

    // Someone else's private prompt does not exist for them.
    let url = |id: &str| format!("{}/{id}", prompts(&ws));
    assert_error(
        &o.patch(&url(&mine), json!({ "title": "x" })).await,
        404,
        "not_found",
    );
    assert_error(&o.delete(&url(&mine)).await, 404, "not_found");
    // A shared one: its creator and admins change it; a viewer does not, nor may an admin
    // change who sees it.
    let renamed = o
        .patch(&url(&shared), json!({ "title": "Translate to French" }))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["title"], "Translate to French");
    assert_error(
        &o.patch(&url(&shared), json!({ "visibility": "private" }))
            .await,
        403,
        "not_prompt_creator",
    );
    assert_error(
        &v.patch(&url(&shared), json!({ "title": "Mine now" })).await,
        403,
        "forbidden",
    );
    assert_error(&v.delete(&url(&shared)).await, 403, "forbidden");
    let private = m
        .patch(
            &url(&shared),
            json!({ "visibility": "private", "content": "Translate into German:" }),
        )
        .await;
    assert_eq!(private.status, 200, "{}", private.text);
    assert_eq!(private.body["content"], "Translate into German:");
    assert_eq!(titles(&o, &ws).await, ["Answer briefly"]);

    // Deleted: gone for its creator too.
    let r = m.delete(&url(&mine)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&m.delete(&url(&mine)).await, 404, "not_found");
    assert_eq!(titles(&m, &ws).await, ["Translate to French"]);

    // Audited, without titles or texts (a private prompt's are the member's).
    let events = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=prompt."
        ))
        .await;
    let actions: Vec<&str> = events.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "prompt.deleted",
            "prompt.updated",
            "prompt.updated",
            "prompt.created",
            "prompt.created",
            "prompt.created",
        ]
    );
    assert!(!events.text.contains("Translate") && !events.text.contains("review"));
}

async fn bad_prompts_change_nothing(app: TestApp) {
    let fake = nexus_testkit::fake_ai::FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;

    // Switched off: like every assistant route.
    assert_error(&o.get(&prompts(&ws)).await, 403, "module_disabled");
    enable_ai(&o, &ws, &fake, "Fake").await;
    let id = save(
        &o,
        &ws,
        json!({ "title": "Kept", "content": "Kept as is." }),
    )
    .await;

    for body in [
        json!({}),
        json!({ "title": "No text" }),
        json!({ "content": "No title" }),
        json!({ "title": " ", "content": "x" }),
        json!({ "title": "Blank", "content": " \n\t " }),
        json!({ "title": "t".repeat(121), "content": "x" }),
        json!({ "title": "Long", "content": "x".repeat(20_001) }),
        json!({ "title": "Bell\u{7}", "content": "x" }),
        json!({ "title": 5, "content": "x" }),
        json!({ "title": "Who", "content": "x", "visibility": "everyone" }),
        json!({ "title": "Extra", "content": "x", "tags": ["a"] }),
    ] {
        let r = o.post(&prompts(&ws), body.clone()).await;
        assert!([400, 422].contains(&r.status), "{body}: {}", r.text);
        assert!(r.body["error"]["code"].is_string(), "{body}: {}", r.text);
    }
    let url = format!("{}/{id}", prompts(&ws));
    for body in [
        json!({ "title": "" }),
        json!({ "content": "   " }),
        json!({ "content": "x".repeat(20_001) }),
        json!({ "visibility": 1 }),
        json!({ "pinned": true }),
    ] {
        let r = o.patch(&url, body.clone()).await;
        assert!([400, 422].contains(&r.status), "{body}: {}", r.text);
    }
    let at_most = o
        .post(
            &prompts(&ws),
            json!({ "title": "é".repeat(120), "content": "é".repeat(20_000) }),
        )
        .await;
    assert_eq!(
        at_most.status, 201,
        "characters, not bytes: {}",
        at_most.text
    );
    let list = o.get(&prompts(&ws)).await;
    assert_eq!(list.body["items"][0]["title"], "Kept");
    assert_eq!(list.body["items"][0]["content"], "Kept as is.");
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(2));

    // Another workspace's owner: this workspace's prompt is not theirs to see or change,
    // under either workspace.
    let (x, x_ws, _) = owner(&app, "x@example.com").await;
    switch_on_assistant(&x, &x_ws).await;
    assert_error(
        &x.patch(&url, json!({ "title": "Mine" })).await,
        404,
        "not_found",
    );
    let theirs = format!("{}/{id}", prompts(&x_ws));
    assert_error(
        &x.patch(&theirs, json!({ "title": "Mine" })).await,
        404,
        "not_found",
    );
    assert_error(&x.delete(&theirs).await, 404, "not_found");
    assert_eq!(titles(&x, &x_ws).await, Vec::<String>::new());
    assert_eq!(titles(&o, &ws).await[0], "Kept");
}

/// Save `n` prompts of `c`'s, one after another.
async fn save_many(c: &Client, ws: &str, n: usize, visibility: &str) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(
            save(
                c,
                ws,
                json!({ "title": format!("P{i}"), "content": "x", "visibility": visibility }),
            )
            .await,
        );
    }
    ids
}

/// A person keeps 500 prompts of their own: with 499 kept, of eight saved at once one
/// gets in (on PostgreSQL too, where nothing but a lock orders them), and someone else
/// still has room of their own.
async fn a_person_keeps_500_prompts(app: TestApp) {
    let fake = nexus_testkit::fake_ai::FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let ids = save_many(&o, &ws, 499, "private").await;
    let at_once = (0..8).map(|i| {
        let (o, url) = (o.clone(), prompts(&ws));
        tokio::spawn(async move {
            o.post(
                &url,
                json!({ "title": format!("Late {i}"), "content": "x" }),
            )
            .await
        })
    });
    let mut saved = 0;
    for r in futures::future::join_all(at_once).await {
        let r = r.expect("the request");
        match r.status {
            201 => saved += 1,
            _ => assert_error(&r, 409, "too_many_prompts"),
        }
    }
    assert_eq!(saved, 1, "exactly one of eight fits");
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    save(&m, &ws, json!({ "title": "Mine", "content": "x" })).await;
    // Room again once one goes.
    let r = o.delete(&format!("{}/{}", prompts(&ws), ids[0])).await;
    assert_eq!(r.status, 204, "{}", r.text);
    save(&o, &ws, json!({ "title": "Again", "content": "x" })).await;
}

/// A workspace shares 500 prompts: the 501st is refused, shared from the start or made
/// shared later; a private one still fits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_shares_500_prompts() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let fake = nexus_testkit::fake_ai::FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    save_many(&m, &ws, 500, "workspace").await;
    let shared = json!({ "title": "One more", "content": "x", "visibility": "workspace" });
    assert_error(
        &o.post(&prompts(&ws), shared).await,
        409,
        "too_many_shared_prompts",
    );
    let private = save(&o, &ws, json!({ "title": "Mine", "content": "x" })).await;
    assert_error(
        &o.patch(
            &format!("{}/{private}", prompts(&ws)),
            json!({ "visibility": "workspace" }),
        )
        .await,
        409,
        "too_many_shared_prompts",
    );
    let list = o.get(&prompts(&ws)).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(501));
}
