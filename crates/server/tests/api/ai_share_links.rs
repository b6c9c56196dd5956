//! Public links: a conversation's messages, as they were when the link was made, for anyone
//! holding it; nothing else of the workspace, and nothing once it is taken down.

use nexus_testkit::fake_ai::{Behavior, Reply};
use nexus_testkit::{Client, TestApp, both_engines, member_with_role};
use serde_json::{Value, json};

use crate::ai_support::{ai_owner, ask, conversation};
use crate::assert_error;

both_engines!(
    a_link_shows_the_conversation_as_it_was,
    links_are_managed_by_writers_only,
    a_link_goes_with_what_it_showed,
    admins_may_switch_public_links_off,
    a_link_needs_its_maker
);

fn link_url(ws: &str, conv: &str) -> String {
    format!("/api/v1/workspaces/{ws}/conversations/{conv}/share-link")
}

async fn share(c: &Client, ws: &str, conv: &str) -> Value {
    let r = c.put(&link_url(ws, conv), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// What a stranger (no session) reads at the link.
async fn read(app: &TestApp, token: &str) -> nexus_testkit::Resp {
    Client::new(&app.base)
        .get(&format!("/api/v1/shared/{token}"))
        .await
}

async fn a_link_shows_the_conversation_as_it_was(app: TestApp) {
    let (fake, o, ws, conv) = ai_owner(&app, "Offsite plan").await;
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}"),
            json!({ "system_prompt": "You are the planner of ACME's secret offsite." }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let none = o.get(&link_url(&ws, &conv)).await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.body, json!({ "link": null, "allowed": true }));
    assert_error(
        &o.put(&link_url(&ws, &conv), json!({})).await,
        409,
        "nothing_to_share",
    );

    // An answer that looked up the members: their addresses stay in the workspace.
    fake.push_many([
        Behavior::ToolCall {
            name: "list_members".into(),
            arguments: json!({}),
        },
        Behavior::Reply(Reply::text("Two days in Lisbon.")),
    ]);
    ask(&o, &ws, &conv, "Where do we go?").await;
    let link = share(&o, &ws, &conv).await;
    let token = link["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 43, "32 random bytes");
    assert_eq!(link["message_count"], 2);

    let shown = read(&app, &token).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    let header = |name: &str| {
        shown
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("x-robots-tag").contains("noindex"));
    assert_eq!(shown.body["title"], "Offsite plan");
    let messages = shown.body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[0]["content"], "Where do we go?");
    assert_eq!(messages[1]["content"], "Two days in Lisbon.");
    assert_eq!(messages[1]["model"], "fake-small");
    let keys: Vec<&String> = messages[1].as_object().expect("a message").keys().collect();
    assert_eq!(
        keys,
        [
            "attachments",
            "content",
            "created_at",
            "model",
            "role",
            "status"
        ]
    );
    for private in ["o@example.com", "secret offsite", &ws, &conv] {
        assert!(
            !shown.text.contains(private),
            "{private} leaked: {}",
            shown.text
        );
    }

    // Later messages are not in it until the link is moved on, at the same address.
    ask(&o, &ws, &conv, "And the hotel?").await;
    assert_eq!(
        read(&app, &token).await.body["messages"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let moved = share(&o, &ws, &conv).await;
    assert_eq!(moved["token"], token.as_str());
    assert_eq!(moved["message_count"], 4);
    assert_eq!(moved["created_at"], link["created_at"]);
    assert_eq!(
        read(&app, &token).await.body["messages"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let again = o.get(&link_url(&ws, &conv)).await;
    assert_eq!(again.body["link"]["token"], token.as_str());
    assert_eq!(again.body["link"]["message_id"], moved["message_id"]);

    // Taken down: gone at once, for everyone; taking it down again is as fine.
    for _ in 0..2 {
        assert_eq!(o.delete(&link_url(&ws, &conv)).await.status, 204);
    }
    assert_error(&read(&app, &token).await, 404, "not_found");
    assert_eq!(o.get(&link_url(&ws, &conv)).await.body["link"], Value::Null);
    // A new one is a new address.
    let fresh = share(&o, &ws, &conv).await;
    assert_ne!(fresh["token"], token.as_str());
    assert_eq!(
        read(&app, fresh["token"].as_str().unwrap_or_default())
            .await
            .status,
        200
    );

    // Unknown, malformed and huge tokens: the same 404.
    for bad in ["nope", &"x".repeat(43), &"y".repeat(5000), "%00"] {
        assert_error(&read(&app, bad).await, 404, "not_found");
    }

    // Audited, without the token.
    let events = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=conversation."
        ))
        .await;
    let actions: Vec<&str> = events.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("conversation.link"))
        .collect();
    assert_eq!(
        actions,
        [
            "conversation.link_created",
            "conversation.link_deleted",
            "conversation.link_updated",
            "conversation.link_created",
        ]
    );
    assert!(!events.text.contains(&token));
}

async fn links_are_managed_by_writers_only(app: TestApp) {
    let (_fake, o, ws, conv) = ai_owner(&app, "Shared").await;
    ask(&o, &ws, &conv, "hello").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let (v, _) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    // Private: another member does not find it; a viewer shares nothing at all.
    assert_error(&m.get(&link_url(&ws, &conv)).await, 404, "not_found");
    assert_error(
        &m.put(&link_url(&ws, &conv), json!({})).await,
        404,
        "not_found",
    );
    assert_error(
        &v.put(&link_url(&ws, &conv), json!({})).await,
        403,
        "forbidden",
    );
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}"),
            json!({ "visibility": "workspace" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Shared: members read it, but its link is its writers'.
    for c in [&m, &v] {
        assert_error(&c.get(&link_url(&ws, &conv)).await, 403, "forbidden");
        assert_error(
            &c.put(&link_url(&ws, &conv), json!({})).await,
            403,
            "forbidden",
        );
        assert_error(&c.delete(&link_url(&ws, &conv)).await, 403, "forbidden");
    }
    let token = share(&o, &ws, &conv).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    // An admin manages the links of shared conversations.
    let (a, _) = member_with_role(&app.base, &o, &ws, "a@example.com", "admin").await;
    assert_eq!(
        a.get(&link_url(&ws, &conv)).await.body["link"]["token"],
        token.as_str()
    );

    // A link works while whoever made it may write the conversation: the admin's goes
    // down when the creator makes it private again (and the creator's own link is new).
    let admins = share(&a, &ws, &conv).await;
    assert_eq!(
        admins["token"],
        token.as_str(),
        "moved on, the same address"
    );
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{conv}"),
            json!({ "visibility": "private" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&read(&app, &token).await, 404, "not_found");
    assert_eq!(o.get(&link_url(&ws, &conv)).await.body["link"], Value::Null);
    let token = share(&o, &ws, &conv).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(read(&app, &token).await.status, 200);

    // Another workspace: nothing.
    let (x, _, _) = crate::owner(&app, "x@example.com").await;
    assert_error(&x.get(&link_url(&ws, &conv)).await, 404, "not_found");

    // The assistant switched off: its links stop working, and work again when it is back.
    let module = format!("/api/v1/workspaces/{ws}/modules/assistant");
    assert_eq!(
        o.put(&module, json!({ "enabled": false })).await.status,
        200
    );
    assert_error(&read(&app, &token).await, 404, "not_found");
    assert_eq!(o.put(&module, json!({ "enabled": true })).await.status, 200);
    assert_eq!(read(&app, &token).await.status, 200);

    // The token deleted from the workspace's secrets takes the link down; sharing again
    // makes a new one.
    let secret = format!("/api/v1/workspaces/{ws}/secrets/ai_share_link.{conv}");
    let list = format!("/api/v1/workspaces/{ws}/ai/share-links");
    assert_eq!(
        o.get(&list).await.body["items"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(o.delete(&secret).await.status, 204);
    assert_error(&read(&app, &token).await, 404, "not_found");
    assert_eq!(o.get(&link_url(&ws, &conv)).await.body["link"], Value::Null);
    assert_eq!(
        o.get(&list).await.body["items"],
        json!([]),
        "down, not listed"
    );
    let fresh = share(&o, &ws, &conv).await;
    assert_ne!(fresh["token"], token.as_str());
    // A new link from now, as saved.
    assert_eq!(
        o.get(&link_url(&ws, &conv)).await.body["link"]["created_at"],
        fresh["created_at"]
    );
    assert_eq!(
        read(&app, fresh["token"].as_str().unwrap_or_default())
            .await
            .status,
        200
    );
}

async fn a_link_goes_with_what_it_showed(app: TestApp) {
    let (_fake, o, ws, conv) = ai_owner(&app, "Going").await;
    let first = ask(&o, &ws, &conv, "one").await;
    ask(&o, &ws, &conv, "two").await;
    let token = share(&o, &ws, &conv).await["token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Deleting what it does not show leaves it; deleting what it shows takes it down.
    let other = conversation(&o, &ws, json!({ "title": "Other" })).await;
    ask(&o, &ws, &other, "elsewhere").await;
    let first_question = first["user_message"]["id"].as_str().expect("id");
    let r = o
        .delete(&format!(
            "/api/v1/workspaces/{ws}/conversations/{conv}/messages/{first_question}"
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&read(&app, &token).await, 404, "not_found");
    assert_eq!(o.get(&link_url(&ws, &conv)).await.body["link"], Value::Null);

    // Deleting the conversation takes its link and the link's token with it.
    ask(&o, &ws, &conv, "three").await;
    let token = share(&o, &ws, &conv).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = o
        .delete(&format!("/api/v1/workspaces/{ws}/conversations/{conv}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&read(&app, &token).await, 404, "not_found");
    let secrets = o.get(&format!("/api/v1/workspaces/{ws}/secrets")).await;
    assert!(!secrets.text.contains("ai_share_link"), "{}", secrets.text);
}

async fn admins_may_switch_public_links_off(app: TestApp) {
    let (_fake, o, ws, conv) = ai_owner(&app, "Policy").await;
    ask(&o, &ws, &conv, "hello").await;
    let token = share(&o, &ws, &conv).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let settings_url = format!("/api/v1/workspaces/{ws}/ai/settings");
    let settings = o.get(&settings_url).await;
    assert_eq!(settings.body["public_links"], true, "allowed by default");

    // Switched off: every link goes down, for good, and none can be made.
    let mut off = settings.body.clone();
    off["public_links"] = json!(false);
    let r = o.put(&settings_url, off).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(o.get(&settings_url).await.body["public_links"], false);
    assert_error(&read(&app, &token).await, 404, "not_found");
    assert_eq!(
        o.get(&link_url(&ws, &conv)).await.body,
        json!({ "link": null, "allowed": false })
    );
    assert_error(
        &o.put(&link_url(&ws, &conv), json!({})).await,
        403,
        "public_links_disabled",
    );
    let secrets = o.get(&format!("/api/v1/workspaces/{ws}/secrets")).await;
    assert!(!secrets.text.contains("ai_share_link"), "{}", secrets.text);

    // Only admins decide. Saved without it (an older client), it stays as it was; on
    // again, old links stay down and new ones work.
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    assert_error(&m.put(&settings_url, json!({})).await, 403, "forbidden");
    let r = o
        .put(&settings_url, json!({ "default_model": "fake-small" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["public_links"], false);
    let r = o
        .put(
            &settings_url,
            json!({ "default_model": "fake-small", "public_links": true }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["public_links"], true);
    assert_error(&read(&app, &token).await, 404, "not_found");
    let fresh = share(&o, &ws, &conv).await;
    assert_eq!(
        read(&app, fresh["token"].as_str().unwrap_or_default())
            .await
            .status,
        200
    );
}

/// A member's links go down with their right to write: made a viewer, their link stops.
async fn a_link_needs_its_maker(app: TestApp) {
    let (_fake, o, ws, _) = ai_owner(&app, "Maker").await;
    let (m, m_id) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let conv = conversation(&m, &ws, json!({ "title": "Mine" })).await;
    ask(&m, &ws, &conv, "hello").await;
    let token = share(&m, &ws, &conv).await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(read(&app, &token).await.status, 200);
    // Each sees the conversations they made public and manage: not others' private ones.
    let list = format!("/api/v1/workspaces/{ws}/ai/share-links");
    let mine = m.get(&list).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine.body["items"][0]["conversation_id"], conv.as_str());
    assert_eq!(mine.body["items"][0]["title"], "Mine");
    assert_eq!(o.get(&list).await.body["items"], json!([]));
    let role = format!("/api/v1/workspaces/{ws}/members/{m_id}");
    let r = o.patch(&role, json!({ "role": "viewer" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_error(&read(&app, &token).await, 404, "not_found");
    // Back to member: the link works again (its maker may write it again), and is listed.
    let r = o.patch(&role, json!({ "role": "member" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(read(&app, &token).await.status, 200);
    assert_eq!(
        m.get(&list).await.body["items"].as_array().map(Vec::len),
        Some(1)
    );
}
