use nexus_kernel::db::Scope;
use nexus_testkit::{TestApp, both_engines};
use sea_orm::{ConnectionTrait, Statement};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(
    secrets_are_write_only_and_encrypted,
    rotating_the_master_key_keeps_secrets_readable
);

async fn secrets_are_write_only_and_encrypted(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let path = format!("/api/v1/workspaces/{ws}/secrets/OPENAI_API_KEY");
    let r = o
        .put(&path, json!({ "value": "sk-live-plaintext-value" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains("sk-live"));
    let r = o
        .put(&path, json!({ "value": "sk-live-second-value" }))
        .await;
    assert_eq!(r.status, 200);
    let list = o.get(&format!("/api/v1/workspaces/{ws}/secrets")).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.body["items"][0]["name"], "OPENAI_API_KEY");
    assert!(!list.text.contains("sk-live"));
    assert_eq!(
        o.get(&path).await.status,
        405,
        "there is no way to read a value back"
    );

    // At rest: ciphertext only.
    let db = app.owner_db().await;
    if app.engine == nexus_testkit::Engine::Postgres {
        db.execute_unprepared(&format!("SET app.workspace_id = '{ws}'"))
            .await
            .expect("scope");
    }
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT ciphertext FROM secrets",
        ))
        .await
        .expect("query")
        .expect("row");
    let bytes: Vec<u8> = row.try_get("", "ciphertext").expect("bytes");
    assert!(!String::from_utf8_lossy(&bytes).contains("sk-live"));

    // Other modules read values through the kernel.
    let value = read(&app, &ws, "OPENAI_API_KEY").await;
    assert_eq!(value.as_deref(), Some("sk-live-second-value"));

    assert_error(
        &o.put(
            &format!("/api/v1/workspaces/{ws}/secrets/bad%20name"),
            json!({ "value": "x" }),
        )
        .await,
        422,
        "validation_failed",
    );
    assert_error(
        &o.put(&path, json!({ "value": "" })).await,
        422,
        "validation_failed",
    );
    assert_eq!(o.delete(&path).await.status, 204);
    assert_error(&o.delete(&path).await, 404, "not_found");
    assert_eq!(read(&app, &ws, "OPENAI_API_KEY").await, None);
}

async fn read(app: &TestApp, ws: &str, name: &str) -> Option<String> {
    let workspace_id = ws.parse().expect("uuid");
    let tx = app
        .state
        .db
        .tenant(
            Scope {
                workspace_id,
                user_id: None,
            },
            false,
        )
        .await
        .expect("tx");
    let value = nexus_kernel::secrets::read(&tx, &app.state.keyring, workspace_id, name)
        .await
        .expect("read");
    value.map(|v| v.expose_secret().to_owned())
}

async fn rotating_the_master_key_keeps_secrets_readable(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    o.put(
        &format!("/api/v1/workspaces/{ws}/secrets/A"),
        json!({ "value": "alpha" }),
    )
    .await;
    let old_id = app.state.keyring.current().id();
    let message = nexus_server::commands::rotate_master_key(&app.state.settings)
        .await
        .expect("rotate");
    assert!(message.contains("re-wrapped 1 data keys"), "{message}");
    let ring = nexus_kernel::crypto::Keyring::load(None, &app.state.settings.master_key_file())
        .expect("load");
    assert_ne!(ring.current().id(), old_id);
    let workspace_id = ws.parse().expect("uuid");
    let tx = app
        .state
        .db
        .tenant(
            Scope {
                workspace_id,
                user_id: None,
            },
            false,
        )
        .await
        .expect("tx");
    let value = nexus_kernel::secrets::read(&tx, &ring, workspace_id, "A")
        .await
        .expect("read with the new key");
    assert_eq!(
        value.map(|v| v.expose_secret().to_owned()).as_deref(),
        Some("alpha")
    );
    assert!(
        nexus_kernel::secrets::read(&tx, &app.state.keyring, workspace_id, "A")
            .await
            .is_err(),
        "the old key no longer opens it"
    );
}
