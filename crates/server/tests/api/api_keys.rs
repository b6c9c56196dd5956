use nexus_testkit::{Client, Engine, TestApp, both_engines};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(
    keys_work_in_their_workspace_only,
    keys_are_capped_by_role_and_shown_once,
    revoked_and_expired_keys_fail
);

async fn keys_work_in_their_workspace_only(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let other = o.create_workspace("Other").await;
    let key = o.create_key(&ws, "admin").await;
    assert!(key.starts_with("nxk_"));
    let k = Client::with_key(&app.base, &key);
    assert_eq!(
        k.get(&format!("/api/v1/workspaces/{ws}/members"))
            .await
            .status,
        200
    );
    assert_error(
        &k.get(&format!("/api/v1/workspaces/{other}/members")).await,
        404,
        "not_found",
    );
    let r = k
        .post(
            &format!("/api/v1/workspaces/{ws}/invitations"),
            json!({ "email": "p@example.com", "role": "member" }),
        )
        .await;
    assert_eq!(r.status, 201, "keys need no CSRF token: {}", r.text);
    let audit = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=invitation.created"
        ))
        .await;
    assert_eq!(audit.body["items"][0]["actor"]["type"], "api_key");
    // last_used_at is recorded off the request path.
    let mut used = false;
    for _ in 0..50 {
        let list = o.get(&format!("/api/v1/workspaces/{ws}/api-keys")).await;
        if list.body["items"][0]["last_used_at"].is_string() {
            used = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(used, "last_used_at was never set");
    let bogus = Client::with_key(&app.base, "nxk_not-a-real-key");
    assert_error(
        &bogus.get(&format!("/api/v1/workspaces/{ws}/members")).await,
        401,
        "unauthenticated",
    );
}

async fn keys_are_capped_by_role_and_shown_once(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let (admin, _) =
        nexus_testkit::member_with_role(&app.base, &o, &ws, "a@example.com", "admin").await;
    let r = admin
        .post(
            &format!("/api/v1/workspaces/{ws}/api-keys"),
            json!({ "name": "too strong", "role": "owner" }),
        )
        .await;
    assert_error(&r, 403, "role_above_yours");
    let r = admin
        .post(
            &format!("/api/v1/workspaces/{ws}/api-keys"),
            json!({ "name": "past", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z" }),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    let key = admin.create_key(&ws, "viewer").await;
    let list = o.get(&format!("/api/v1/workspaces/{ws}/api-keys")).await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(&key));
    assert_eq!(list.body["items"][0]["prefix"], &key[..12]);
    // A viewer key cannot do what viewers cannot.
    let k = Client::with_key(&app.base, &key);
    assert_error(
        &k.post(
            &format!("/api/v1/workspaces/{ws}/api-keys"),
            json!({ "name": "x", "role": "viewer" }),
        )
        .await,
        403,
        "forbidden",
    );
}

async fn revoked_and_expired_keys_fail(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let key = o.create_key(&ws, "member").await;
    let id = o
        .get(&format!("/api/v1/workspaces/{ws}/api-keys"))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let k = Client::with_key(&app.base, &key);
    assert_eq!(k.get(&format!("/api/v1/workspaces/{ws}")).await.status, 200);
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/api-keys/{id}"))
            .await
            .status,
        204
    );
    assert_error(
        &k.get(&format!("/api/v1/workspaces/{ws}")).await,
        401,
        "unauthenticated",
    );
    assert_error(
        &o.delete(&format!(
            "/api/v1/workspaces/{ws}/api-keys/{}",
            uuid::Uuid::now_v7()
        ))
        .await,
        404,
        "not_found",
    );

    let r = o
        .post(&format!("/api/v1/workspaces/{ws}/api-keys"), json!({ "name": "short-lived", "role": "viewer", "expires_at": "2999-01-01T00:00:00Z" }))
        .await;
    let key = r.body["key"].as_str().unwrap_or_default().to_owned();
    let db = app.owner_db().await;
    if app.engine == Engine::Postgres {
        db.execute_unprepared(&format!("SET app.workspace_id = '{ws}'"))
            .await
            .expect("scope");
    }
    let past = if app.engine == Engine::Postgres {
        "now() - interval '1 minute'"
    } else {
        "'2020-01-01T00:00:00+00:00'"
    };
    db.execute_unprepared(&format!(
        "UPDATE api_keys SET expires_at = {past} WHERE name = 'short-lived'"
    ))
    .await
    .expect("expire");
    // The server may remember the key for a few seconds; the time this row pretends has
    // passed would have ended that too.
    app.state.db.cache().clear();
    assert_error(
        &Client::with_key(&app.base, &key)
            .get(&format!("/api/v1/workspaces/{ws}"))
            .await,
        401,
        "unauthenticated",
    );
}
