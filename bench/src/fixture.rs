//! The data a run needs, made through the public API as a customer would make it: one
//! person per virtual user (VU), each with a browser session and a workspace of their
//! own, and one shared workspace (with a few members and a page or more of audit events)
//! that every VU reaches with an API key of its own.

use anyhow::{Context, Result, bail};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};
use std::time::Duration;

pub const PASSWORD: &str = "bench password 1234";

/// Members of the shared workspace: the free plan has 5 seats (owner + 4).
const SHARED_MEMBERS: usize = 4;
/// Enough events that listing the audit log returns a full page of 50.
const SEED_AUDIT_EVENTS: usize = 60;

pub struct Vu {
    pub email: String,
    /// Cookie jar + CSRF token: how the web app calls the API.
    pub browser: Client,
    pub csrf: String,
    /// No cookie jar: logins (their cookie is thrown away) and API-key requests.
    pub program: Client,
    pub own_ws: String,
    pub own_key: String,
    pub shared_key: String,
}

pub struct Fixture {
    pub base: String,
    pub shared_ws: String,
    pub vus: Vec<Vu>,
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// One client per VU and purpose; keep-alive is reqwest's default, so each VU reuses
/// its connection as a real client would.
fn http(cookies: bool) -> Result<Client> {
    Ok(Client::builder()
        .cookie_store(cookies)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Send a set-up request; anything but 2xx stops the benchmark with the server's answer.
async fn call(rb: RequestBuilder) -> Result<Value> {
    let res = rb.send().await?;
    let status = res.status();
    let text = res.text().await?;
    if !status.is_success() {
        bail!("{status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn field(v: &Value, key: &str) -> Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {key:?} in {v}"))
}

async fn create_key(base: &str, owner: &Vu, ws: &str, name: &str) -> Result<String> {
    let r = call(
        owner
            .browser
            .post(format!("{base}/api/v1/workspaces/{ws}/api-keys"))
            .header("x-csrf-token", &owner.csrf)
            .json(&json!({ "name": name, "role": "admin" })),
    )
    .await
    .context("create API key")?;
    field(&r, "key")
}

async fn new_vu(base: String, i: usize) -> Result<Vu> {
    let email = format!("vu{i}@bench.test");
    let browser = http(true)?;
    let r = call(
        browser
            .post(format!("{base}/api/v1/auth/signup"))
            .json(&json!({ "email": email, "password": PASSWORD, "name": format!("VU {i}") })),
    )
    .await
    .with_context(|| format!("sign up {email}"))?;
    let csrf = field(&r, "csrf_token")?;
    let ws = call(
        browser
            .post(format!("{base}/api/v1/workspaces"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "name": format!("VU {i} workspace") })),
    )
    .await
    .context("create own workspace")?;
    let mut vu = Vu {
        email,
        browser,
        csrf,
        program: http(false)?,
        own_ws: field(&ws, "id")?,
        own_key: String::new(),
        shared_key: String::new(),
    };
    vu.own_key = create_key(&base, &vu, &vu.own_ws, "bench").await?;
    Ok(vu)
}

/// Make `n` VUs and the shared workspace (owned by VU 0).
pub async fn build(base: &str, n: usize) -> Result<Fixture> {
    // Sign-ups hash passwords (argon2id): run them side by side, not one after another.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let base = base.to_owned();
        set.spawn(async move { Ok::<_, anyhow::Error>((i, new_vu(base, i).await?)) });
    }
    let mut numbered = Vec::with_capacity(n);
    while let Some(done) = set.join_next().await {
        numbered.push(done??);
    }
    // VU i must be user i in every scenario: put them back in order.
    numbered.sort_by_key(|(i, _)| *i);
    let mut vus: Vec<Vu> = numbered.into_iter().map(|(_, vu)| vu).collect();
    let owner = vus.first().context("no virtual users")?;

    let r = call(
        owner
            .browser
            .post(format!("{base}/api/v1/workspaces"))
            .header("x-csrf-token", &owner.csrf)
            .json(&json!({ "name": "Shared" })),
    )
    .await
    .context("create shared workspace")?;
    let shared_ws = field(&r, "id")?;

    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        keys.push(create_key(base, owner, &shared_ws, &format!("vu {i}")).await?);
    }

    // A few real members, so that listing members returns more than the owner.
    for vu in vus.iter().skip(1).take(SHARED_MEMBERS) {
        let inv = call(
            owner
                .browser
                .post(format!("{base}/api/v1/workspaces/{shared_ws}/invitations"))
                .header("x-csrf-token", &owner.csrf)
                .json(&json!({ "email": vu.email, "role": "member" })),
        )
        .await
        .context("invite")?;
        call(
            vu.browser
                .post(format!("{base}/api/v1/invitations/accept"))
                .header("x-csrf-token", &vu.csrf)
                .json(&json!({ "token": field(&inv, "token")? })),
        )
        .await
        .context("accept invitation")?;
    }

    let key0 = keys.first().context("no keys")?.clone();
    for i in 0..SEED_AUDIT_EVENTS {
        call(
            owner
                .program
                .patch(format!("{base}/api/v1/workspaces/{shared_ws}"))
                .bearer_auth(&key0)
                .json(&json!({ "name": format!("Shared {i}") })),
        )
        .await
        .context("seed audit events")?;
    }

    for (vu, key) in vus.iter_mut().zip(keys) {
        vu.shared_key = key;
    }
    Ok(Fixture {
        base: base.to_owned(),
        shared_ws,
        vus,
    })
}
