//! Every route from the OpenAPI document, called by workspace B (with a session and with
//! an API key) against workspace A's ids, answers 404 and changes nothing. A new route is
//! covered the moment it is registered; a route outside workspaces must be listed here.

use nexus_testkit::fake_ai::FakeAi;
use nexus_testkit::{Client, TestApp, both_engines, member_with_role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::owner;

both_engines!(another_workspace_is_invisible_and_untouchable);

/// Routes that are not about one workspace, and why they need no tenant check.
pub const PLATFORM_ROUTES: &[&str] = &[
    "/api/v1/auth/signup",
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/auth/logout-all",
    "/api/v1/auth/password",
    "/api/v1/me",
    "/api/v1/workspaces",         // lists only the caller's own
    "/api/v1/invitations/accept", // by secret token, bound to the invitee's email
    "/api/v1/ws", // a session's socket; each frame names its workspace and is checked like a request
    "/api/v1/shared/{token}", // a public link: by secret token, read-only, what its conversation's writer chose to show
];

/// Operator routes: for anyone else they answer 403.
pub const OPERATOR_PREFIX: &str = "/api/v1/admin/";

/// Ids of workspace A's resources, by path parameter name.
pub struct Fixture {
    pub ws: String,
    pub user_id: String,
    pub invitation_id: String,
    pub key_id: String,
    pub provider_id: String,
    pub conversation_id: String,
    pub message_id: String,
    pub prompt_id: String,
    _fake: FakeAi,
}

impl Fixture {
    pub async fn build(app: &TestApp, a: &Client, ws: &str) -> Self {
        let (_, user_id) = member_with_role(
            &app.base,
            a,
            ws,
            &format!("viewer-{}@example.com", &ws[..8]),
            "viewer",
        )
        .await;
        a.invite(ws, "pending@example.com", "member").await;
        a.create_key(ws, "member").await;
        a.put(
            &format!("/api/v1/workspaces/{ws}/secrets/SECRET"),
            json!({ "value": "a's secret" }),
        )
        .await;
        let invitation_id = a
            .get(&format!("/api/v1/workspaces/{ws}/invitations"))
            .await
            .body["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let key_id = a
            .get(&format!("/api/v1/workspaces/{ws}/api-keys"))
            .await
            .body["items"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let fake = FakeAi::start(None).await;
        let provider_id = crate::ai_support::enable_ai(a, ws, &fake, "Fake").await;
        let conversation_id = crate::ai_support::conversation(
            a,
            ws,
            json!({ "title": "A's chat", "visibility": "workspace" }),
        )
        .await;
        let turn = a
            .post(
                &format!("/api/v1/workspaces/{ws}/conversations/{conversation_id}/messages"),
                json!({ "content": "hello" }),
            )
            .await;
        assert_eq!(turn.status, 201, "{}", turn.text);
        let message_id = turn.body["assistant_message"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let rated = a
            .put(
                &format!("/api/v1/workspaces/{ws}/conversations/{conversation_id}/messages/{message_id}/feedback"),
                json!({ "rating": "up", "comment": "A's view" }),
            )
            .await;
        assert_eq!(rated.status, 200, "{}", rated.text);
        let prompt = a
            .post(
                &format!("/api/v1/workspaces/{ws}/ai/prompts"),
                json!({ "title": "A's prompt", "content": "a", "visibility": "workspace" }),
            )
            .await;
        assert_eq!(prompt.status, 201, "{}", prompt.text);
        let prompt_id = prompt.id();
        Self {
            ws: ws.to_owned(),
            user_id,
            invitation_id,
            key_id,
            provider_id,
            conversation_id,
            message_id,
            prompt_id,
            _fake: fake,
        }
    }

    pub fn fill(&self, path: &str) -> String {
        path.replace("{workspace_id}", &self.ws)
            .replace("{user_id}", &self.user_id)
            .replace("{invitation_id}", &self.invitation_id)
            .replace("{key_id}", &self.key_id)
            .replace("{provider_id}", &self.provider_id)
            .replace("{conversation_id}", &self.conversation_id)
            .replace("{message_id}", &self.message_id)
            .replace("{prompt_id}", &self.prompt_id)
            .replace("{position}", "0")
            .replace("{name}", "SECRET")
            .replace("{module}", "crm")
    }
}

/// A body that would be accepted by the route, so a 404 cannot come from validation.
pub fn valid_body(method: &str, path: &str) -> Option<Value> {
    let tail = path.rsplit('/').next().unwrap_or_default();
    match (method, tail) {
        ("get" | "delete", _) => None,
        ("patch", "{workspace_id}") => Some(json!({ "name": "Taken over" })),
        ("patch", "{user_id}") => Some(json!({ "role": "admin" })),
        ("post", "invitations") => Some(json!({ "email": "x@example.com", "role": "member" })),
        ("post", "api-keys") => Some(json!({ "name": "stolen", "role": "member" })),
        ("put", "{name}") => Some(json!({ "value": "overwritten" })),
        ("put", "{module}") => Some(json!({ "enabled": false })),
        ("post", "messages") => Some(json!({ "content": "hello from B" })),
        ("post", "edit") => Some(json!({ "content": "rewritten by B" })),
        ("patch", "{conversation_id}") => Some(json!({ "title": "Taken over" })),
        ("post", "providers") => {
            Some(json!({ "name": "B's", "base_url": "http://127.0.0.1:9/v1", "models": ["m"] }))
        }
        ("patch", "{provider_id}") => Some(json!({ "name": "Taken over" })),
        ("put", "feedback") => Some(json!({ "rating": "down", "comment": "B's view" })),
        ("post", "prompts") => Some(json!({ "title": "B's prompt", "content": "b" })),
        ("patch", "{prompt_id}") => Some(json!({ "title": "Taken over" })),
        ("put", "settings") => Some(json!({})),
        ("patch", _) | ("post", _) | ("put", _) => Some(json!({})),
        _ => None,
    }
}

/// Everything an owner of A can observe about A.
pub async fn snapshot(a: &Client, ws: &str) -> Value {
    let mut out = serde_json::Map::new();
    let conversations = a
        .get(&format!("/api/v1/workspaces/{ws}/conversations"))
        .await;
    let mut parts: Vec<String> = [
        "",
        "/members",
        "/invitations",
        "/api-keys",
        "/secrets",
        "/modules",
        "/audit-events/verify",
        "/ai/providers",
        "/ai/settings",
        "/ai/prompts",
        "/ai/feedback?from=2000-01-01T00:00:00Z&to=9999-01-01T00:00:00Z",
        "/conversations",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    for c in conversations.body["items"].as_array().into_iter().flatten() {
        parts.push(format!(
            "/conversations/{}/messages",
            c["id"].as_str().unwrap_or_default()
        ));
    }
    for part in parts {
        let r = a.get(&format!("/api/v1/workspaces/{ws}{part}")).await;
        out.insert(
            part.to_owned(),
            json!({ "status": r.status, "body": r.body }),
        );
    }
    Value::Object(out)
}

pub async fn operations(app: &TestApp) -> Vec<(String, String)> {
    let doc = app.client().get("/api/openapi.json").await.body;
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(m, _)| m.clone())
        {
            ops.push((method, path.clone()));
        }
    }
    ops
}

async fn another_workspace_is_invisible_and_untouchable(app: TestApp) {
    let (a, ws_a, _) = owner(&app, "a@example.com").await;
    let fixture = Fixture::build(&app, &a, &ws_a).await;
    let (b, ws_b, _) = owner(&app, "b@example.com").await;
    let b_key = Client::with_key(&app.base, &b.create_key(&ws_b, "owner").await);
    let before = snapshot(&a, &ws_a).await;

    let mut tenant_routes = 0;
    for (method, path) in operations(&app).await {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        if path.starts_with(OPERATOR_PREFIX) {
            let r = b
                .call(m, &fixture.fill(&path), valid_body(&method, &path))
                .await;
            assert_eq!(
                r.status, 403,
                "{method} {path} for a non-operator: {}",
                r.text
            );
            continue;
        }
        if !path.contains("{workspace_id}") {
            assert!(
                PLATFORM_ROUTES.contains(&path.as_str()),
                "{method} {path} is not under a workspace and not listed in PLATFORM_ROUTES: decide how it is isolated"
            );
            continue;
        }
        tenant_routes += 1;
        for (who, client) in [("session", &b), ("api key", &b_key)] {
            let r = client
                .call(m.clone(), &fixture.fill(&path), valid_body(&method, &path))
                .await;
            assert_eq!(
                r.status, 404,
                "B's {who} on {method} {path} must get 404: {}",
                r.text
            );
            assert_eq!(r.code(), "not_found");
        }
    }
    assert!(
        tenant_routes >= 15,
        "only {tenant_routes} workspace routes checked"
    );
    assert_eq!(
        snapshot(&a, &ws_a).await,
        before,
        "B changed something in A"
    );
}
