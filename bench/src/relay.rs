//! A relay that does nothing but relay: the floor under any AI gateway on the machine the
//! benchmark runs on. It takes the direct path's request, sends it to the provider with
//! an HTTP client set up as Nexus's is, and streams the answer's bytes back as they
//! arrive, without reading them: no sign-in, no database, no parsing, no saving.
//!
//! What it adds to the direct path is what one more hop costs there (an HTTP server and
//! an HTTP client in between, a second connection per stream, a second write and read of
//! every token), on cores the client, the provider and PostgreSQL share. Whatever Nexus
//! adds beyond it is Nexus's own work; where the relay alone misses a goal, no gateway
//! in between could meet it on that machine.

use anyhow::Result;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use std::sync::Arc;
use std::time::Duration;

/// Where the relay sends what it receives.
struct Upstream {
    http: reqwest::Client,
    url: String,
}

/// A running relay in front of one provider.
pub struct Relay {
    base_url: String,
}

impl Relay {
    /// Listen on a free local port and relay `POST /chat/completions` to `upstream` (a
    /// provider's base URL); runs until the process ends.
    pub async fn start(upstream: &str) -> Result<Self> {
        // As Nexus's provider client (`nexus_ai::provider::client`) and server
        // (`nexus_server::serve`) are set up: one pool, TCP_NODELAY both ways.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()?;
        let upstream = Arc::new(Upstream {
            http,
            url: format!("{}/chat/completions", upstream.trim_end_matches('/')),
        });
        let app = Router::new()
            .route("/chat/completions", post(relay))
            .with_state(upstream);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { base_url })
    }

    /// The base URL to send the direct path's requests to instead of the provider's.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// Send the body on as it is, and the answer back as it comes.
async fn relay(State(upstream): State<Arc<Upstream>>, body: Bytes) -> Response {
    let sent = upstream
        .http
        .post(&upstream.url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let Ok(answer) = sent else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
    let mut response = Response::new(Body::from_stream(answer.bytes_stream()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        content_type.unwrap_or(HeaderValue::from_static("text/event-stream")),
    );
    response
}
