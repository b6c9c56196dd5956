use nexus_kernel::db::Scope;
use nexus_kernel::modules::{Module, require_module};
use nexus_testkit::{TestApp, both_engines, member_with_role};
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(modules_switch_on_and_off);

async fn modules_switch_on_and_off(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let list = o.get(&format!("/api/v1/workspaces/{ws}/modules")).await;
    let states: Vec<(String, bool)> = list.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["module"].as_str().unwrap_or_default().to_owned(),
                m["enabled"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("assistant".into(), false),
            ("support".into(), true),
            ("crm".into(), true),
            ("apps".into(), true),
            ("analytics".into(), true)
        ]
    );
    let workspace_id = ws.parse().expect("uuid");
    let scope = Scope {
        workspace_id,
        user_id: None,
    };
    let tx = app.state.db.tenant(scope, false).await.expect("tx");
    let err = require_module(&tx, workspace_id, Module::Assistant)
        .await
        .expect_err("off by default");
    drop(tx);
    assert_eq!(err.status().as_u16(), 403);

    let r = o
        .put(
            &format!("/api/v1/workspaces/{ws}/modules/assistant"),
            json!({ "enabled": true }),
        )
        .await;
    assert_eq!(r.body, json!({ "module": "assistant", "enabled": true }));
    let tx = app.state.db.tenant(scope, false).await.expect("tx");
    require_module(&tx, workspace_id, Module::Assistant)
        .await
        .expect("on now");
    drop(tx);
    // Setting the same state again changes nothing and records nothing.
    o.put(
        &format!("/api/v1/workspaces/{ws}/modules/assistant"),
        json!({ "enabled": true }),
    )
    .await;
    let audit = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=module."
        ))
        .await;
    assert_eq!(audit.body["items"].as_array().map(Vec::len), Some(1));

    assert_error(
        &o.put(
            &format!("/api/v1/workspaces/{ws}/modules/teleport"),
            json!({ "enabled": true }),
        )
        .await,
        404,
        "not_found",
    );
    let (m, _) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    assert_eq!(
        m.get(&format!("/api/v1/workspaces/{ws}/modules"))
            .await
            .status,
        200
    );
    assert_error(
        &m.put(
            &format!("/api/v1/workspaces/{ws}/modules/crm"),
            json!({ "enabled": false }),
        )
        .await,
        403,
        "forbidden",
    );
}
