//! The integration suite: the real server over HTTP, each test on a fresh SQLite file and
//! a fresh PostgreSQL database (see `nexus_testkit`).

mod admin;
mod ai_anthropic;
mod ai_attachments;
mod ai_channels;
mod ai_delete;
mod ai_feedback;
mod ai_prompts;
mod ai_reasoning;
mod ai_resilience;
mod ai_share_links;
mod ai_support;
mod api_keys;
mod assistant;
mod audit;
mod auth;
mod bad_input;
mod crash;
mod cross_tenant;
mod hot_cache;
mod invitations;
mod limits;
mod members;
mod modules;
mod openapi;
mod ops;
mod permissions;
mod replicas;
mod rls;
mod secrets;
mod transactions;
mod workspaces;

use nexus_testkit::{Client, TestApp};

/// A signed-up owner with one workspace: (client, workspace id, user id).
pub async fn owner(app: &TestApp, email: &str) -> (Client, String, String) {
    let c = app.client();
    let user = c.signup(email).await;
    let ws = c.create_workspace("Acme").await;
    (c, ws, user)
}

/// Assert the response is an error envelope with this status and code.
#[track_caller]
pub fn assert_error(r: &nexus_testkit::Resp, status: u16, code: &str) {
    assert_eq!(
        r.status, status,
        "expected {status} {code}, got: {}",
        r.text
    );
    assert_eq!(r.code(), code, "expected code {code}, got: {}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "envelope without message: {}",
        r.text
    );
    assert!(
        r.body["error"]["request_id"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "envelope without request id: {}",
        r.text
    );
}
