use nexus_testkit::{Engine, PASSWORD, TestApp, both_engines};
use serde_json::json;

use crate::assert_error;

both_engines!(
    signup_me_logout_login,
    emails_are_unique_whatever_their_case,
    wrong_email_and_wrong_password_look_the_same,
    csrf_is_required_for_cookie_writes,
    change_password_ends_other_sessions,
    logout_everywhere,
    api_keys_cannot_act_as_users
);

async fn signup_me_logout_login(app: TestApp) {
    let c = app.client();
    let r = c
        .post(
            "/api/v1/auth/signup",
            json!({ "email": " Ada@Example.COM ", "password": PASSWORD, "name": "Ada" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(r.body["user"]["email"], "ada@example.com");
    assert!(r.body.get("password_hash").is_none() && !r.text.contains("argon2"));
    c.set_csrf(r.body["csrf_token"].as_str().map(str::to_owned));

    let me = c.get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["workspaces"], json!([]));
    assert_eq!(me.body["csrf_token"], r.body["csrf_token"]);

    assert_eq!(c.post("/api/v1/auth/logout", json!({})).await.status, 204);
    assert_error(&c.get("/api/v1/me").await, 401, "unauthenticated");

    let r = c.login("ADA@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(c.get("/api/v1/me").await.status, 200);
}

async fn emails_are_unique_whatever_their_case(app: TestApp) {
    app.client().signup("bo@example.com").await;
    let r = app
        .client()
        .post(
            "/api/v1/auth/signup",
            json!({ "email": "BO@example.com", "password": PASSWORD, "name": "Bo" }),
        )
        .await;
    assert_error(&r, 409, "email_taken");
}

async fn wrong_email_and_wrong_password_look_the_same(app: TestApp) {
    app.client().signup("cy@example.com").await;
    let wrong_pw = app
        .client()
        .login("cy@example.com", "not the password")
        .await;
    let wrong_email = app.client().login("nobody@example.com", PASSWORD).await;
    assert_error(&wrong_pw, 401, "unauthenticated");
    assert_error(&wrong_email, 401, "unauthenticated");
    assert_eq!(
        wrong_pw.body["error"]["message"],
        wrong_email.body["error"]["message"]
    );
}

async fn csrf_is_required_for_cookie_writes(app: TestApp) {
    let c = app.client();
    c.signup("di@example.com").await;
    let token = c.get("/api/v1/me").await.body["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    c.set_csrf(None);
    assert_error(
        &c.post("/api/v1/workspaces", json!({ "name": "X" })).await,
        403,
        "csrf_failed",
    );
    c.set_csrf(Some("forged".into()));
    assert_error(
        &c.post("/api/v1/workspaces", json!({ "name": "X" })).await,
        403,
        "csrf_failed",
    );
    c.set_csrf(Some(token));
    assert_eq!(
        c.post("/api/v1/workspaces", json!({ "name": "X" }))
            .await
            .status,
        201
    );
    // Reads need no token.
    c.set_csrf(None);
    assert_eq!(
        c.get("/api/v1/workspaces").await.body["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn change_password_ends_other_sessions(app: TestApp) {
    let laptop = app.client();
    laptop.signup("ed@example.com").await;
    let phone = app.client();
    assert_eq!(phone.login("ed@example.com", PASSWORD).await.status, 200);

    let r = laptop
        .post(
            "/api/v1/auth/password",
            json!({ "current_password": "wrong one!", "new_password": "a new passphrase" }),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    assert!(r.body["error"]["details"]["fields"]["current_password"].is_string());
    let r = laptop
        .post(
            "/api/v1/auth/password",
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_error(&r, 422, "validation_failed");
    let r = laptop
        .post(
            "/api/v1/auth/password",
            json!({ "current_password": PASSWORD, "new_password": "a new passphrase" }),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);

    assert_eq!(
        laptop.get("/api/v1/me").await.status,
        200,
        "the session that changed it stays"
    );
    assert_eq!(
        phone.get("/api/v1/me").await.status,
        401,
        "other sessions end"
    );
    assert_eq!(
        app.client().login("ed@example.com", PASSWORD).await.status,
        401
    );
    assert_eq!(
        app.client()
            .login("ed@example.com", "a new passphrase")
            .await
            .status,
        200
    );
}

async fn logout_everywhere(app: TestApp) {
    let a = app.client();
    a.signup("fa@example.com").await;
    let b = app.client();
    b.login("fa@example.com", PASSWORD).await;
    assert_eq!(
        a.post("/api/v1/auth/logout-all", json!({})).await.status,
        204
    );
    assert_eq!(a.get("/api/v1/me").await.status, 401);
    assert_eq!(b.get("/api/v1/me").await.status, 401);
}

async fn api_keys_cannot_act_as_users(app: TestApp) {
    let (c, ws, _) = crate::owner(&app, "gi@example.com").await;
    let key = c.create_key(&ws, "admin").await;
    let k = nexus_testkit::Client::with_key(&app.base, &key);
    assert_error(&k.get("/api/v1/me").await, 401, "unauthenticated");
    assert_error(&k.get("/api/v1/workspaces").await, 401, "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_login_failures_are_throttled_per_account() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    app.client().signup("ha@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            app.client()
                .login("ha@example.com", "wrong password")
                .await
                .status,
            401
        );
    }
    let r = app.client().login("ha@example.com", PASSWORD).await;
    assert_error(&r, 429, "too_many_attempts");
    assert!(r.headers.get("retry-after").is_some());
    // Unknown accounts are throttled the same way, so the answer reveals nothing.
    for _ in 0..5 {
        app.client()
            .login("ghost@example.com", "wrong password")
            .await;
    }
    assert_error(
        &app.client()
            .login("ghost@example.com", "wrong password")
            .await,
        429,
        "too_many_attempts",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_routes_are_rate_limited_per_ip() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.auth_rate_per_minute = 3).await
    else {
        return;
    };
    for i in 0..3 {
        app.client().signup(&format!("ip{i}@example.com")).await;
    }
    let r = app
        .client()
        .post(
            "/api/v1/auth/signup",
            json!({ "email": "ip9@example.com", "password": PASSWORD, "name": "x" }),
        )
        .await;
    assert_error(&r, 429, "rate_limited");
    assert!(r.headers.get("retry-after").is_some());
}
