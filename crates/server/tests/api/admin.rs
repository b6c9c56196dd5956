use nexus_testkit::{ADMIN_EMAIL, Client, TestApp, both_engines, member_with_role};
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(operators_list_and_suspend_workspaces);

async fn operators_list_and_suspend_workspaces(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let key = o.create_key(&ws, "admin").await;
    let operator = app.client();
    operator.signup(ADMIN_EMAIL).await;
    assert_eq!(
        operator.get("/api/v1/me").await.body["user"]["is_system_admin"],
        true
    );

    assert_error(&o.get("/api/v1/admin/workspaces").await, 403, "forbidden");
    let all = operator.get("/api/v1/admin/workspaces").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["items"][0]["id"], ws.as_str());
    // Operators administer the installation, not workspace content.
    assert_error(
        &operator
            .get(&format!("/api/v1/workspaces/{ws}/members"))
            .await,
        404,
        "not_found",
    );

    let r = operator
        .patch(
            &format!("/api/v1/admin/workspaces/{ws}"),
            json!({ "suspended": true }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["suspended"], true);
    for client in [&o, &m, &Client::with_key(&app.base, &key)] {
        assert_error(
            &client.get(&format!("/api/v1/workspaces/{ws}")).await,
            403,
            "workspace_suspended",
        );
    }
    operator
        .patch(
            &format!("/api/v1/admin/workspaces/{ws}"),
            json!({ "suspended": false, "plan": "pro" }),
        )
        .await;
    let got = o.get(&format!("/api/v1/workspaces/{ws}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["plan"], "pro");
    let actions: Vec<String> = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=workspace."
        ))
        .await
        .body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "workspace.plan_changed",
            "workspace.unsuspended",
            "workspace.suspended",
            "workspace.created"
        ]
    );
    assert_error(
        &operator
            .patch(
                &format!("/api/v1/admin/workspaces/{}", uuid::Uuid::now_v7()),
                json!({ "suspended": true }),
            )
            .await,
        404,
        "not_found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_admin_promotes_an_existing_account() {
    let Some(app) = TestApp::spawn(nexus_testkit::Engine::Sqlite).await else {
        return;
    };
    let c = app.client();
    c.signup("promote@example.com").await;
    assert_eq!(
        c.get("/api/v1/me").await.body["user"]["is_system_admin"],
        false
    );
    let msg =
        nexus_server::commands::create_admin(&app.state.settings, "promote@example.com", None)
            .await
            .expect("promote");
    assert!(msg.contains("now a platform operator"));
    // `create-admin` is another process: a running server sees its change when its cached
    // copy of the session expires (NEXUS_CACHE_SECONDS); clearing stands in for the wait.
    app.state.db.cache().clear();
    assert_eq!(
        c.get("/api/v1/me").await.body["user"]["is_system_admin"],
        true
    );
    let msg = nexus_server::commands::create_admin(
        &app.state.settings,
        "fresh@example.com",
        Some("a long password".into()),
    )
    .await
    .expect("create");
    assert!(msg.contains("created"));
    assert_eq!(
        app.client()
            .login("fresh@example.com", "a long password")
            .await
            .status,
        200
    );
}
