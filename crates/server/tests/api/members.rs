use nexus_testkit::{TestApp, both_engines, member_with_role};
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(
    roles_change_within_limits,
    a_workspace_always_keeps_an_owner,
    members_leave_and_are_removed,
    the_workspace_list_follows_every_change,
    the_member_list_follows_every_change
);

async fn roles_change_within_limits(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let (admin, _) = member_with_role(&app.base, &o, &ws, "a@example.com", "admin").await;
    let (_, viewer_id) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    let members = o.get(&format!("/api/v1/workspaces/{ws}/members")).await;
    assert_eq!(members.body["items"].as_array().map(Vec::len), Some(3));

    let path = format!("/api/v1/workspaces/{ws}/members/{viewer_id}");
    let r = admin.patch(&path, json!({ "role": "member" })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "member");
    // Nobody grants a role above their own.
    assert_error(
        &admin.patch(&path, json!({ "role": "owner" })).await,
        403,
        "role_above_yours",
    );
    assert_error(
        &admin.patch(&path, json!({ "role": "superuser" })).await,
        422,
        "validation_failed",
    );

    let audit = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=member.role_changed"
        ))
        .await;
    assert_eq!(
        audit.body["items"][0]["summary"],
        json!({ "email": "v@example.com", "from": "viewer", "to": "member" })
    );
}

async fn a_workspace_always_keeps_an_owner(app: TestApp) {
    let (o, ws, owner_id) = owner(&app, "o@example.com").await;
    let (admin, _) = member_with_role(&app.base, &o, &ws, "a@example.com", "admin").await;
    let me = format!("/api/v1/workspaces/{ws}/members/{owner_id}");
    assert_error(
        &o.patch(&me, json!({ "role": "admin" })).await,
        409,
        "last_owner",
    );
    assert_error(&o.delete(&me).await, 409, "last_owner");
    // An admin cannot act on an owner at all.
    assert_error(
        &admin.patch(&me, json!({ "role": "viewer" })).await,
        403,
        "role_above_yours",
    );
    assert_error(&admin.delete(&me).await, 403, "role_above_yours");
    // With a second owner, the first may step down.
    let (_, second) = member_with_role(&app.base, &o, &ws, "o2@example.com", "owner").await;
    assert_eq!(o.patch(&me, json!({ "role": "admin" })).await.status, 200);
    assert_error(
        &o.patch(
            &format!("/api/v1/workspaces/{ws}/members/{second}"),
            json!({ "role": "admin" }),
        )
        .await,
        403,
        "role_above_yours",
    );
}

async fn members_leave_and_are_removed(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let (m, m_id) = member_with_role(&app.base, &o, &ws, "m@example.com", "member").await;
    let (_, v_id) = member_with_role(&app.base, &o, &ws, "v@example.com", "viewer").await;
    // A member may not remove others, but may leave.
    assert_error(
        &m.delete(&format!("/api/v1/workspaces/{ws}/members/{v_id}"))
            .await,
        403,
        "forbidden",
    );
    assert_eq!(
        m.delete(&format!("/api/v1/workspaces/{ws}/members/{m_id}"))
            .await
            .status,
        204
    );
    assert_error(
        &m.get(&format!("/api/v1/workspaces/{ws}")).await,
        404,
        "not_found",
    );
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/members/{v_id}"))
            .await
            .status,
        204
    );
    assert_error(
        &o.delete(&format!("/api/v1/workspaces/{ws}/members/{v_id}"))
            .await,
        404,
        "not_found",
    );
    let actions: Vec<String> = o
        .get(&format!(
            "/api/v1/workspaces/{ws}/audit-events?action=member."
        ))
        .await
        .body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(actions, ["member.removed", "member.left"]);
}

/// `GET /me` and `GET /workspaces` come from the hot cache; every way a user's list can
/// change shows at once, without waiting out the cache.
async fn the_workspace_list_follows_every_change(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let m = app.client();
    let m_id = m.signup("m@example.com").await;
    let list = |c: &nexus_testkit::Client| {
        let c = c.clone();
        async move {
            let me = c.get("/api/v1/me").await.body["workspaces"].clone();
            let paged = c.get("/api/v1/workspaces").await.body["items"].clone();
            assert_eq!(me, paged, "both routes read the same list");
            me.as_array()
                .into_iter()
                .flatten()
                .map(|w| {
                    format!(
                        "{} {}",
                        w["name"].as_str().unwrap_or_default(),
                        w["role"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert!(list(&m).await.is_empty(), "warm, and empty");

    let token = o.invite(&ws, "m@example.com", "viewer").await;
    assert_eq!(m.accept(&token).await.status, 200);
    assert_eq!(list(&m).await, ["Acme viewer"], "after accepting");

    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}/members/{m_id}"),
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(list(&m).await, ["Acme member"], "after a role change");

    let r = o
        .patch(
            &format!("/api/v1/workspaces/{ws}"),
            json!({ "name": "Acme 2" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(list(&m).await, ["Acme 2 member"], "after a rename");

    let own = m.create_workspace("Mine").await;
    let mut now = list(&m).await;
    now.sort();
    assert_eq!(now, ["Acme 2 member", "Mine owner"], "after creating one");

    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/members/{m_id}"))
            .await
            .status,
        204
    );
    assert_eq!(list(&m).await, ["Mine owner"], "after being removed");

    assert_eq!(
        m.delete(&format!("/api/v1/workspaces/{own}")).await.status,
        204
    );
    assert!(list(&m).await.is_empty(), "after deleting it");
}

/// The first page of members comes from the hot cache; every change shows at once.
async fn the_member_list_follows_every_change(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let key = o.create_key(&ws, "viewer").await;
    let by_key = nexus_testkit::Client::with_key(&app.base, &key);
    let path = format!("/api/v1/workspaces/{ws}/members");
    let list = |c: &nexus_testkit::Client| {
        let (c, path) = (c.clone(), path.clone());
        async move {
            let r = c.get(&path).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    format!(
                        "{} {}",
                        m["email"].as_str().unwrap_or_default(),
                        m["role"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(&o).await, ["o@example.com owner"], "warm");
    assert_eq!(list(&by_key).await, ["o@example.com owner"]);

    let (_, m_id) = member_with_role(&app.base, &o, &ws, "m@example.com", "viewer").await;
    let mut now = list(&by_key).await;
    now.sort();
    assert_eq!(
        now,
        ["m@example.com viewer", "o@example.com owner"],
        "after joining"
    );

    let r = o
        .patch(&format!("{path}/{m_id}"), json!({ "role": "admin" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut now = list(&o).await;
    now.sort();
    assert_eq!(
        now,
        ["m@example.com admin", "o@example.com owner"],
        "after a role change"
    );

    assert_eq!(o.delete(&format!("{path}/{m_id}")).await.status, 204);
    assert_eq!(
        list(&by_key).await,
        ["o@example.com owner"],
        "after a removal"
    );
}
