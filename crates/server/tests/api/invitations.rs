use nexus_testkit::{Engine, TestApp, both_engines};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{assert_error, owner};

both_engines!(
    invite_and_accept,
    invitations_are_single_use_and_bound_to_the_email,
    revoked_and_expired_invitations_fail
);

async fn invite_and_accept(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/invitations"),
            json!({ "email": "New@Example.com", "role": "member" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["invitation"]["email"], "new@example.com");
    assert_eq!(r.body["invitation"]["status"], "pending");
    let token = r.body["token"].as_str().unwrap_or_default().to_owned();
    assert!(token.len() >= 40);

    let list = o.get(&format!("/api/v1/workspaces/{ws}/invitations")).await;
    assert_eq!(list.body["items"][0]["status"], "pending");
    assert!(!list.text.contains(&token), "the token is shown once only");

    let n = app.client();
    n.signup("new@example.com").await;
    let joined = n.accept(&token).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    assert_eq!(joined.body["role"], "member");
    assert_eq!(
        n.get("/api/v1/me").await.body["workspaces"][0]["id"],
        ws.as_str()
    );
    assert_eq!(
        o.get(&format!("/api/v1/workspaces/{ws}/invitations"))
            .await
            .body["items"][0]["status"],
        "accepted"
    );
    // Already a member now.
    assert_error(
        &o.post(
            &format!("/api/v1/workspaces/{ws}/invitations"),
            json!({ "email": "new@example.com", "role": "viewer" }),
        )
        .await,
        409,
        "already_member",
    );
}

async fn invitations_are_single_use_and_bound_to_the_email(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let token = o.invite(&ws, "x@example.com", "viewer").await;
    let intruder = app.client();
    intruder.signup("intruder@example.com").await;
    assert_error(
        &intruder.accept(&token).await,
        403,
        "invitation_email_mismatch",
    );
    assert_error(&intruder.accept("not-a-token").await, 404, "not_found");
    let x = app.client();
    x.signup("x@example.com").await;
    assert_eq!(x.accept(&token).await.status, 200);
    assert_error(&x.accept(&token).await, 409, "invitation_used");
    // An admin cannot invite above their role.
    let (admin, _) =
        nexus_testkit::member_with_role(&app.base, &o, &ws, "a@example.com", "admin").await;
    let r = admin
        .post(
            &format!("/api/v1/workspaces/{ws}/invitations"),
            json!({ "email": "y@example.com", "role": "owner" }),
        )
        .await;
    assert_error(&r, 403, "role_above_yours");
}

async fn revoked_and_expired_invitations_fail(app: TestApp) {
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let token = o.invite(&ws, "r@example.com", "viewer").await;
    let id = o
        .get(&format!("/api/v1/workspaces/{ws}/invitations"))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        o.delete(&format!("/api/v1/workspaces/{ws}/invitations/{id}"))
            .await
            .status,
        204
    );
    let r = app.client();
    r.signup("r@example.com").await;
    assert_error(&r.accept(&token).await, 409, "invitation_revoked");

    let token = o.invite(&ws, "late@example.com", "viewer").await;
    let db = app.owner_db().await;
    let past = if app.engine == Engine::Postgres {
        "now() - interval '1 day'"
    } else {
        "'2020-01-01T00:00:00+00:00'"
    };
    // FORCE row-level security applies to the owner too: bind the workspace first.
    if app.engine == Engine::Postgres {
        db.execute_unprepared(&format!("SET app.workspace_id = '{ws}'"))
            .await
            .expect("scope");
    }
    db.execute_unprepared(&format!(
        "UPDATE invitations SET expires_at = {past} WHERE email = 'late@example.com'"
    ))
    .await
    .expect("expire");
    let late = app.client();
    late.signup("late@example.com").await;
    assert_error(&late.accept(&token).await, 409, "invitation_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seat_limit_holds_at_invite_and_accept() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.plans.free.seats = 3).await else {
        return;
    };
    let (o, ws, _) = owner(&app, "o@example.com").await;
    let t1 = o.invite(&ws, "one@example.com", "viewer").await;
    let _t2 = o.invite(&ws, "two@example.com", "viewer").await;
    // Owner + two pending = 3 seats: a third invitation is refused.
    let r = o
        .post(
            &format!("/api/v1/workspaces/{ws}/invitations"),
            json!({ "email": "three@example.com", "role": "viewer" }),
        )
        .await;
    assert_error(&r, 409, "seat_limit_reached");
    let one = app.client();
    one.signup("one@example.com").await;
    assert_eq!(one.accept(&t1).await.status, 200);
    let plan = o.get(&format!("/api/v1/workspaces/{ws}/plan")).await;
    assert_eq!(plan.body["seats_used"], 3);
    assert_eq!(plan.body["limits"]["seats"], 3);
}
