//! PostgreSQL's second wall: as the app role, a query with no workspace filter sees only
//! the rows of the workspace its transaction is bound to.

use nexus_kernel::db::Scope;
use nexus_kernel::migrations::TENANT_TABLES;
use nexus_testkit::{Engine, TestApp};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;

use crate::owner;

async fn count(conn: &impl ConnectionTrait, table: &str, ws: Option<&str>) -> i64 {
    let sql = match ws {
        Some(ws) => format!("SELECT count(*) AS n FROM {table} WHERE workspace_id = '{ws}'"),
        None => format!("SELECT count(*) AS n FROM {table}"),
    };
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfiltered_queries_see_only_the_bound_workspace() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let (a, ws_a, _) = owner(&app, "a@example.com").await;
    let (b, ws_b, _) = owner(&app, "b@example.com").await;
    let fake = nexus_testkit::fake_ai::FakeAi::start(None).await;
    for (c, ws) in [(&a, &ws_a), (&b, &ws_b)] {
        crate::ai_support::enable_ai(c, ws, &fake, "Fake").await;
        c.put(
            &format!("/api/v1/workspaces/{ws}/ai/settings"),
            json!({ "default_model": "fake-small" }),
        )
        .await;
        let conv = crate::ai_support::conversation(c, ws, json!({ "title": "T" })).await;
        // The second message, right after the first, takes a quota lease; the first
        // attaches a file.
        for (content, files) in [
            (
                "hi",
                json!([{ "name": "a.txt", "media_type": "text/plain", "data": "aGk=" }]),
            ),
            ("again", json!([])),
        ] {
            let r = c
                .post(
                    &format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages"),
                    json!({ "content": content, "temperature": 0, "attachments": files }),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
            let answer = &r.body["assistant_message"]["id"];
            let rated = c
                .put(
                    &format!(
                        "/api/v1/workspaces/{ws}/conversations/{conv}/messages/{}/feedback",
                        answer.as_str().unwrap_or_default()
                    ),
                    json!({ "rating": "up" }),
                )
                .await;
            assert_eq!(rated.status, 200, "{}", rated.text);
        }
        let link = c
            .put(
                &format!("/api/v1/workspaces/{ws}/conversations/{conv}/share-link"),
                json!({}),
            )
            .await;
        assert_eq!(link.status, 200, "{}", link.text);
        let prompt = c
            .post(
                &format!("/api/v1/workspaces/{ws}/ai/prompts"),
                json!({ "title": "P", "content": "p" }),
            )
            .await;
        assert_eq!(prompt.status, 201, "{}", prompt.text);
        c.invite(ws, "guest@example.com", "viewer").await;
        c.create_key(ws, "viewer").await;
        c.put(
            &format!("/api/v1/workspaces/{ws}/secrets/K"),
            json!({ "value": "v" }),
        )
        .await;
        c.put(
            &format!("/api/v1/workspaces/{ws}/modules/crm"),
            json!({ "enabled": false }),
        )
        .await;
    }
    // The server's own pool connects as nexus_app, which cannot bypass RLS.
    let db = &app.state.db;
    assert!(
        !nexus_kernel::migrations::role_bypasses_rls(db.conn())
            .await
            .expect("role check")
    );
    for table in TENANT_TABLES
        .iter()
        .chain(nexus_ai::migrations::TENANT_TABLES)
    {
        assert_eq!(
            count(db.conn(), table, None).await,
            0,
            "{table}: no binding, no rows"
        );
        let tx = db
            .tenant(
                Scope {
                    workspace_id: ws_b.parse().expect("uuid"),
                    user_id: None,
                },
                false,
            )
            .await
            .expect("tx");
        let visible = count(&tx, table, None).await;
        assert!(visible > 0, "{table}: B sees its own rows");
        assert_eq!(
            count(&tx, table, Some(&ws_a)).await,
            0,
            "{table}: B sees none of A's rows"
        );
        tx.commit().await.expect("commit");
    }
    // And it cannot write into another workspace either.
    let tx = db
        .tenant(
            Scope {
                workspace_id: ws_b.parse().expect("uuid"),
                user_id: None,
            },
            true,
        )
        .await
        .expect("tx");
    let err = tx
        .execute_unprepared(&format!("INSERT INTO workspace_modules (workspace_id, module, enabled, updated_at) VALUES ('{ws_a}', 'apps', false, now())"))
        .await
        .expect_err("RLS WITH CHECK");
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);
    // The app role has no UPDATE or DELETE on the audit log at all.
    let tx = db.conn().begin().await.expect("tx");
    let err = tx
        .execute_unprepared("DELETE FROM audit_events")
        .await
        .expect_err("no privilege");
    assert!(err.to_string().contains("permission denied"), "{err}");
}
