use nexus_testkit::fake_ai::FakeAi;
use nexus_testkit::{Engine, TestApp, both_engines};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::ai_support::{conversation, enable_ai};
use crate::{assert_error, owner};

both_engines!(
    every_mutation_is_audited,
    filters_and_pagination,
    exports_stream_csv_and_jsonl,
    tampering_is_detected,
    the_newest_page_follows_every_event,
    content_events_keep_the_workspace_cached,
    upgrading_moves_the_chain_head
);

async fn every_mutation_is_audited(app: TestApp) {
    let (o, ws, user) = owner(&app, "o@example.com").await;
    o.patch(
        &format!("/api/v1/workspaces/{ws}"),
        json!({ "name": "Renamed" }),
    )
    .await;
    o.invite(&ws, "i@example.com", "viewer").await;
    o.create_key(&ws, "viewer").await;
    o.put(
        &format!("/api/v1/workspaces/{ws}/secrets/TOKEN"),
        json!({ "value": "hunter2-secret" }),
    )
    .await;
    o.put(
        &format!("/api/v1/workspaces/{ws}/modules/assistant"),
        json!({ "enabled": true }),
    )
    .await;
    let r = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events"))
        .await;
    assert_eq!(r.status, 200);
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "module.enabled",
            "secret.created",
            "api_key.created",
            "invitation.created",
            "workspace.renamed",
            "workspace.created"
        ]
    );
    let first = &r.body["items"][5];
    assert_eq!(first["actor"]["id"], user.as_str());
    assert_eq!(first["actor"]["label"], "o@example.com");
    assert_eq!(first["ip"], "127.0.0.1");
    assert!(first["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        !r.text.contains("hunter2-secret"),
        "secret values never reach the log"
    );
    // The request id in the log is the one the client saw.
    let resp = o
        .patch(
            &format!("/api/v1/workspaces/{ws}"),
            json!({ "name": "Again" }),
        )
        .await;
    let rid = resp
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let last = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events?limit=1"))
        .await;
    assert_eq!(last.body["items"][0]["request_id"], rid.as_str());
    // There is no way to change or delete an event over the API.
    let id = last.body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/audit-events/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/audit-events"))
            .await
            .status,
        405
    );
}

async fn filters_and_pagination(app: TestApp) {
    let (o, ws, user) = owner(&app, "o@example.com").await;
    let key = o.create_key(&ws, "admin").await;
    let k = nexus_testkit::Client::with_key(&app.base, &key);
    for i in 0..4 {
        k.put(
            &format!("/api/v1/workspaces/{ws}/secrets/S{i}"),
            json!({ "value": "v" }),
        )
        .await;
    }
    let base = format!("/api/v1/workspaces/{ws}/audit-events");
    let by_action = o.get(&format!("{base}?action=secret.created")).await;
    assert_eq!(by_action.body["items"].as_array().map(Vec::len), Some(4));
    let by_prefix = o.get(&format!("{base}?action=api_key.")).await;
    assert_eq!(by_prefix.body["items"].as_array().map(Vec::len), Some(1));
    let by_actor = o.get(&format!("{base}?actor_id={user}")).await;
    assert_eq!(
        by_actor.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        by_actor.text
    );
    let by_target = o
        .get(&format!("{base}?target_type=secret&target_id=S2"))
        .await;
    assert_eq!(by_target.body["items"].as_array().map(Vec::len), Some(1));
    let future = o.get(&format!("{base}?from=2999-01-01T00:00:00Z")).await;
    assert_eq!(future.body["items"], json!([]));
    let past = o.get(&format!("{base}?to=2000-01-01T00:00:00Z")).await;
    assert_eq!(past.body["items"], json!([]));
    let now = o
        .get(&format!(
            "{base}?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z"
        ))
        .await;
    assert_eq!(now.body["items"].as_array().map(Vec::len), Some(6));
    assert_error(
        &o.get(&format!(
            "{base}?from=2999-01-01T00:00:00Z&to=2000-01-01T00:00:00Z"
        ))
        .await,
        422,
        "validation_failed",
    );

    let mut seqs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}?limit=4&cursor={c}"),
            None => format!("{base}?limit=4"),
        };
        let page = o.get(&url).await;
        seqs.extend(
            page.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["seq"].as_i64()),
        );
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seqs, [6, 5, 4, 3, 2, 1]);
}

/// The newest unfiltered page is served from the hot cache; every event must show at
/// once, whoever writes it, and other limits, cursors and filters must not see the cached
/// page.
async fn the_newest_page_follows_every_event(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let key = o.create_key(&ws, "admin").await;
    let k = nexus_testkit::Client::with_key(&app.base, &key);
    let base = format!("/api/v1/workspaces/{ws}/audit-events");
    let newest = |page: &nexus_testkit::Resp| {
        (
            page.body["items"][0]["seq"].as_i64(),
            page.body["items"][0]["action"].as_str().map(str::to_owned),
        )
    };

    let warm = k.get(&format!("{base}?limit=2")).await;
    assert_eq!(newest(&warm), (Some(2), Some("api_key.created".into())));
    assert_eq!(warm.body, k.get(&format!("{base}?limit=2")).await.body);
    assert_eq!(
        warm.body,
        o.get(&format!("{base}?limit=2")).await.body,
        "one page for a session and a key"
    );

    // An event by the key shows to the session, and the other way round.
    k.put(
        &format!("/api/v1/workspaces/{ws}/secrets/S"),
        json!({ "value": "v" }),
    )
    .await;
    let after_key = o.get(&format!("{base}?limit=2")).await;
    assert_eq!(newest(&after_key), (Some(3), Some("secret.created".into())));
    assert_eq!(after_key.body["items"].as_array().map(Vec::len), Some(2));
    assert!(after_key.body["next_cursor"].is_string());
    o.patch(
        &format!("/api/v1/workspaces/{ws}"),
        json!({ "name": "Renamed" }),
    )
    .await;
    let after_session = k.get(&format!("{base}?limit=2")).await;
    assert_eq!(
        newest(&after_session),
        (Some(4), Some("workspace.renamed".into()))
    );

    // Each limit is its own page; filters and cursors never read the cached one.
    assert_eq!(
        k.get(&format!("{base}?limit=10")).await.body["items"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    let filtered = k
        .get(&format!("{base}?limit=2&action=secret.created"))
        .await;
    assert_eq!(filtered.body["items"].as_array().map(Vec::len), Some(1));
    let cursor = after_session.body["next_cursor"].as_str().expect("cursor");
    let older = k.get(&format!("{base}?limit=2&cursor={cursor}")).await;
    assert_eq!(older.body["items"][0]["seq"], 2);
    assert_eq!(older.body["items"][1]["seq"], 1);

    // The page is the same answer, with the same type, whether cached or not.
    assert_eq!(
        after_session
            .headers
            .get("content-type")
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
}

/// A conversation's events forget only the cached audit page; a settings change forgets
/// every cached read of the workspace. A row changed behind the server's back shows which
/// reads were forgotten.
async fn content_events_keep_the_workspace_cached(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let fake = FakeAi::start(None).await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let name = || async {
        let r = o.get(&format!("/api/v1/workspaces/{ws}")).await;
        r.body["name"].as_str().map(str::to_owned)
    };
    let newest = || async {
        let r = o
            .get(&format!("/api/v1/workspaces/{ws}/audit-events?limit=1"))
            .await;
        r.body["items"][0]["action"].as_str().map(str::to_owned)
    };
    assert_eq!(name().await.as_deref(), Some("Acme"));
    assert_eq!(newest().await.as_deref(), Some("ai_provider.created"));

    let db = app.owner_db().await;
    if app.engine == Engine::Postgres {
        db.execute_unprepared(&format!("SET app.workspace_id = '{ws}'"))
            .await
            .expect("scope");
    }
    // By name: SQLite keeps ids as blobs. This test's database holds one workspace.
    db.execute_unprepared("UPDATE workspaces SET name = 'Behind' WHERE name = 'Acme'")
        .await
        .expect("rename behind the server's back");

    let c = conversation(&o, &ws, json!({ "title": "t" })).await;
    assert_eq!(newest().await.as_deref(), Some("conversation.created"));
    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/conversations/{c}"),
            json!({ "title": "t2" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(newest().await.as_deref(), Some("conversation.updated"));
    assert_eq!(
        name().await.as_deref(),
        Some("Acme"),
        "content events keep the cached workspace"
    );

    let r = o
        .put(
            &format!("/api/v1/workspaces/{ws}/secrets/S"),
            json!({ "value": "v" }),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    assert_eq!(newest().await.as_deref(), Some("secret.created"));
    assert_eq!(
        name().await.as_deref(),
        Some("Behind"),
        "a settings change forgets the workspace's cached reads"
    );
}

async fn exports_stream_csv_and_jsonl(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    for i in 0..3 {
        o.put(
            &format!("/api/v1/workspaces/{ws}/secrets/S{i}"),
            json!({ "value": "v" }),
        )
        .await;
    }
    let csv = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events/export?format=csv"
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .contains("attachment")
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 5, "header + 4 events:\n{}", csv.text);
    assert!(lines[0].starts_with("id,seq,created_at"));
    assert!(lines[1].contains("workspace.created"));

    let jsonl = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events/export?format=jsonl&action=secret.created"
        ))
        .await;
    let events: Vec<serde_json::Value> = jsonl
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["target"]["id"], "S0", "oldest first");
    assert_error(
        &o.get(&format!(
            "/api/v1/workspaces/{ws}/audit-events/export?format=xml"
        ))
        .await,
        422,
        "validation_failed",
    );
}

async fn tampering_is_detected(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    for i in 0..3 {
        o.put(
            &format!("/api/v1/workspaces/{ws}/secrets/S{i}"),
            json!({ "value": "v" }),
        )
        .await;
    }
    let verify = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events/verify"))
        .await;
    assert_eq!(
        verify.body,
        json!({ "ok": true, "events_checked": 4, "first_broken_seq": null })
    );

    // Someone with direct database access rewrites history.
    let db = app.owner_db().await;
    if app.engine == Engine::Postgres {
        // Even the owner needs to switch the append-only trigger off first.
        db.execute_unprepared("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            .await
            .expect("disable");
        db.execute_unprepared(&format!("SET app.workspace_id = '{ws}'"))
            .await
            .expect("scope");
    }
    db.execute_unprepared("UPDATE audit_events SET actor_label = 'someone else' WHERE seq = 3")
        .await
        .expect("tamper");
    let verify = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events/verify"))
        .await;
    assert_eq!(verify.body["ok"], false);
    assert_eq!(verify.body["first_broken_seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_to_rewrite_the_log() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let (o, ws, _) = owner(&app, "o@example.com").await;
    o.patch(&format!("/api/v1/workspaces/{ws}"), json!({ "name": "B" }))
        .await;
    let db = app.owner_db().await;
    db.execute_unprepared(&format!("SET app.workspace_id = '{ws}'"))
        .await
        .expect("scope");
    let err = db
        .execute_unprepared("DELETE FROM audit_events")
        .await
        .expect_err("trigger blocks the owner");
    assert!(err.to_string().contains("append-only"), "{err}");
}

/// An installation from before the chain's head had a table of its own (the
/// `m0006_audit_heads` migration): upgrading moves each workspace's head there, and the
/// chain still verifies and goes on from it.
async fn upgrading_moves_the_chain_head(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    // A second workspace, whose head moves too.
    owner(&app, "p@example.com").await;
    for i in 0..2 {
        let r = o
            .put(
                &format!("/api/v1/workspaces/{ws}/secrets/S{i}"),
                json!({ "value": "v" }),
            )
            .await;
        assert!(r.status < 300, "{}", r.text);
    }
    // The schema as it was: the head on the workspace's row, and no `audit_heads`.
    let db = app.owner_db().await;
    for sql in [
        "ALTER TABLE workspaces ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE workspaces ADD COLUMN audit_head VARCHAR NOT NULL DEFAULT ''",
        "UPDATE workspaces SET
           audit_seq = COALESCE((SELECT seq FROM audit_heads h WHERE h.workspace_id = workspaces.id), 0),
           audit_head = COALESCE((SELECT head FROM audit_heads h WHERE h.workspace_id = workspaces.id), '')",
        "DROP TABLE audit_heads",
        "DELETE FROM seaql_migrations WHERE version = 'm0006_audit_heads'",
    ] {
        db.execute_unprepared(sql).await.expect(sql);
    }
    nexus_server::bootstrap::migrate(&app.state.settings)
        .await
        .expect("upgrade");

    let r = o
        .put(
            &format!("/api/v1/workspaces/{ws}/secrets/S2"),
            json!({ "value": "v" }),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    let verify = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events/verify"))
        .await;
    assert_eq!(
        verify.body,
        json!({ "ok": true, "events_checked": 4, "first_broken_seq": null }),
        "the workspace's creation, three secrets"
    );
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM audit_heads",
        ))
        .await
        .expect("count")
        .expect("row");
    assert_eq!(
        row.try_get::<i64>("", "n").expect("n"),
        2,
        "one head per workspace"
    );
}

/// Every action the server records by name is one the audit page's filter offers: a new
/// kind of event must not be findable only by typing its name.
#[test]
fn the_web_filter_offers_every_recorded_action() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let filters = std::fs::read_to_string(root.join("web/src/pages/audit/filters.ts"))
        .expect("the audit page's filters");
    let mut missing = Vec::new();
    let mut found = 0;
    let mut dirs = vec![root.join("crates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                if path
                    .file_name()
                    .is_some_and(|n| n != "tests" && n != "target")
                {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("a source file");
            for (at, _) in source.match_indices("Event::new(\"") {
                let rest = &source[at + "Event::new(\"".len()..];
                let action = &rest[..rest.find('"').expect("a closing quote")];
                found += 1;
                if !filters.contains(&format!("\"{action}\"")) {
                    missing.push(format!("{action} ({})", path.display()));
                }
            }
        }
    }
    assert!(
        found > 20,
        "only {found} actions found: is the scan looking in the right place?"
    );
    assert!(missing.is_empty(), "not in the audit filter: {missing:?}");
}
