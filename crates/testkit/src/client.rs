//! An HTTP client that behaves like a browser (cookie jar, CSRF header) or a program
//! (bearer API key), with helpers for the common set-up steps.

use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    base: String,
    csrf: Arc<Mutex<Option<String>>>,
    bearer: Option<String>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// The error code of an error envelope, or "" when there is none.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_owned()
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .expect("http client");
        Self {
            http,
            jar,
            base: base.to_owned(),
            csrf: Arc::new(Mutex::new(None)),
            bearer: None,
        }
    }

    /// A client that authenticates with an API key and no cookies.
    pub fn with_key(base: &str, key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            jar: Arc::new(reqwest::cookie::Jar::default()),
            base: base.to_owned(),
            csrf: Arc::new(Mutex::new(None)),
            bearer: Some(key.to_owned()),
        }
    }

    /// The same browser (cookies, CSRF token), but every request on a new connection:
    /// for tests that make the server close connections early (oversized bodies), where
    /// reusing a pooled connection would race with its closing.
    pub fn without_keep_alive(&self) -> Self {
        let http = reqwest::Client::builder()
            .cookie_provider(self.jar.clone())
            .pool_max_idle_per_host(0)
            .build()
            .expect("http client");
        Self {
            http,
            ..self.clone()
        }
    }

    /// The same browser or program (cookies, CSRF token, key) talking to another server:
    /// a second replica behind the same load balancer.
    pub fn against(&self, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            ..self.clone()
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn set_csrf(&self, token: Option<String>) {
        *self.csrf.lock().expect("csrf lock") = token;
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = self.csrf.lock().expect("csrf lock").clone() {
            rb = rb.header("x-csrf-token", token);
        }
        if let Some(key) = &self.bearer {
            rb = rb.bearer_auth(key);
        }
        rb
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        self.try_send(rb).await.expect("request failed")
    }

    /// Like `send`, but a transport error (the server closed the connection) is returned.
    pub async fn try_send(&self, rb: reqwest::RequestBuilder) -> Result<Resp, reqwest::Error> {
        let res = rb.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Resp {
            status,
            body,
            text,
            headers,
        })
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.request(method, path);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.send(rb).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    /// Sign up (and stay signed in). Returns the user's id.
    pub async fn signup(&self, email: &str) -> String {
        let name = email.split('@').next().unwrap_or("someone");
        let r = self
            .post(
                "/api/v1/auth/signup",
                json!({ "email": email, "password": crate::PASSWORD, "name": name }),
            )
            .await;
        assert_eq!(r.status, 201, "signup {email}: {}", r.text);
        self.set_csrf(r.body["csrf_token"].as_str().map(str::to_owned));
        r.body["user"]["id"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        let r = self
            .post(
                "/api/v1/auth/login",
                json!({ "email": email, "password": password }),
            )
            .await;
        if r.status == 200 {
            self.set_csrf(r.body["csrf_token"].as_str().map(str::to_owned));
        }
        r
    }

    /// Create a workspace; returns its id.
    pub async fn create_workspace(&self, name: &str) -> String {
        let r = self
            .post("/api/v1/workspaces", json!({ "name": name }))
            .await;
        assert_eq!(r.status, 201, "create workspace: {}", r.text);
        r.id()
    }

    /// Invite `email` with `role`; returns the token.
    pub async fn invite(&self, ws: &str, email: &str, role: &str) -> String {
        let r = self
            .post(
                &format!("/api/v1/workspaces/{ws}/invitations"),
                json!({ "email": email, "role": role }),
            )
            .await;
        assert_eq!(r.status, 201, "invite {email}: {}", r.text);
        r.body["token"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn accept(&self, token: &str) -> Resp {
        self.post("/api/v1/invitations/accept", json!({ "token": token }))
            .await
    }

    /// Create an API key with `role`; returns the secret.
    pub async fn create_key(&self, ws: &str, role: &str) -> String {
        let r = self
            .post(
                &format!("/api/v1/workspaces/{ws}/api-keys"),
                json!({ "name": format!("{role} key"), "role": role }),
            )
            .await;
        assert_eq!(r.status, 201, "create key: {}", r.text);
        r.body["key"].as_str().unwrap_or_default().to_owned()
    }
}

/// Sign up a new person in `ws` with `role` (invited by `inviter`); returns their client
/// and user id.
pub async fn member_with_role(
    base: &str,
    inviter: &Client,
    ws: &str,
    email: &str,
    role: &str,
) -> (Client, String) {
    let c = Client::new(base);
    let id = c.signup(email).await;
    let token = inviter.invite(ws, email, role).await;
    let r = c.accept(&token).await;
    assert_eq!(r.status, 200, "accept: {}", r.text);
    (c, id)
}
