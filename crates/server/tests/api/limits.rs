use nexus_testkit::{Client, Engine, TestApp, both_engines};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(
    sessions_end_when_idle_or_too_old,
    fifty_concurrent_writers_all_succeed
);

async fn sessions_end_when_idle_or_too_old(app: TestApp) {
    let db = app.owner_db().await;
    let idle = app.client();
    idle.signup("idle@example.com").await;
    let old = app.client();
    old.signup("old@example.com").await;
    assert_eq!(idle.get("/api/v1/me").await.status, 200);
    let (long_ago, now_plus) = if app.engine == Engine::Postgres {
        ("now() - interval '30 days'", "now() - interval '1 second'")
    } else {
        ("'2000-01-01T00:00:00+00:00'", "'2000-01-01T00:00:00+00:00'")
    };
    db.execute_unprepared(&format!(
        "UPDATE sessions SET last_seen_at = {long_ago} WHERE user_id = (SELECT id FROM users WHERE email = 'idle@example.com')"
    ))
    .await
    .expect("age session");
    db.execute_unprepared(&format!(
        "UPDATE sessions SET expires_at = {now_plus} WHERE user_id = (SELECT id FROM users WHERE email = 'old@example.com')"
    ))
    .await
    .expect("expire session");
    // The time these rows pretend has passed would also have ended the server's cache.
    app.state.db.cache().clear();
    assert_error(&idle.get("/api/v1/me").await, 401, "unauthenticated");
    assert_error(&old.get("/api/v1/me").await, 401, "unauthenticated");
}

/// Concurrent writes never surface a database lock error (SQLITE_BUSY on SQLite, a
/// serialisation failure on PostgreSQL), and the audit chain stays whole.
async fn fifty_concurrent_writers_all_succeed(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let key = o.create_key(&ws, "admin").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let k = Client::with_key(&app.base, &key);
        let ws = ws.clone();
        tasks.push(tokio::spawn(async move {
            let r = if i % 2 == 0 {
                k.put(
                    &format!("/api/v1/workspaces/{ws}/secrets/S{i}"),
                    json!({ "value": "v" }),
                )
                .await
            } else {
                k.patch(
                    &format!("/api/v1/workspaces/{ws}"),
                    json!({ "name": format!("Name {i}") }),
                )
                .await
            };
            (r.status, r.text)
        }));
    }
    for t in tasks {
        let (status, text) = t.await.expect("task");
        assert_eq!(status, 200, "{text}");
    }
    let verify = o
        .get(&format!("/api/v1/workspaces/{ws}/audit-events/verify"))
        .await;
    assert_eq!(verify.body["ok"], true, "{}", verify.text);
    assert_eq!(
        verify.body["events_checked"], 52,
        "workspace.created + api_key.created + 50"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_requests_are_limited_per_plan() {
    let Some(app) =
        TestApp::spawn_with(Engine::Sqlite, |s| s.plans.free.api_requests_per_minute = 5).await
    else {
        return;
    };
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let key = o.create_key(&ws, "viewer").await;
    let k = Client::with_key(&app.base, &key);
    for _ in 0..5 {
        assert_eq!(k.get(&format!("/api/v1/workspaces/{ws}")).await.status, 200);
    }
    let r = k.get(&format!("/api/v1/workspaces/{ws}")).await;
    assert_error(&r, 429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
    // Each key or user has its own budget.
    let other = Client::with_key(&app.base, &o.create_key(&ws, "viewer").await);
    assert_eq!(
        other.get(&format!("/api/v1/workspaces/{ws}")).await.status,
        200
    );
}
