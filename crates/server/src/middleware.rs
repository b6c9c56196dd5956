//! The middleware every request passes through, outermost first: request id, client
//! address, metrics, timeout, security headers, and a last check that every error under
//! `/api` leaves in our envelope (even the ones axum itself produces, like 405).

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nexus_kernel::AppState;
use nexus_kernel::error::{ApiError, error_body};
use nexus_kernel::request::{ClientIp, REQUEST_ID};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A request's path as the logs keep it: a public link's token is a password, and is left out.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/shared/") {
        Some(at) => format!("{}/shared/…", &path[..at]).into(),
        None => path.into(),
    }
}

/// Take a sane incoming `X-Request-Id` (from a proxy) or make one; expose it to every
/// error built during the request and return it in the response.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.uri().path()));
    let mut response = REQUEST_ID
        .scope(
            id.clone(),
            tracing::Instrument::instrument(next.run(req), span),
        )
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// The caller's address: the socket's peer, or the first hop of `X-Forwarded-For` when
/// the operator said a proxy in front can be trusted.
pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = state
        .settings
        .trust_proxy
        .then(|| req.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(ip) = forwarded.or(peer) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// Latency histogram per route template and status.
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let in_flight = InFlight::start();
    let response = next.run(req).await;
    drop(in_flight);
    let status = response.status().as_u16().to_string();
    metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route.clone(), "status" => status.clone())
        .record(start.elapsed().as_secs_f64());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}

/// Counts a request in `http_requests_in_flight` until it is answered or dropped (a
/// client that went away drops the handler's future, and this with it).
struct InFlight(metrics::Gauge);

impl InFlight {
    fn start() -> Self {
        let gauge = metrics::gauge!("http_requests_in_flight");
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Answer 503 with the envelope when a request runs past the configured timeout. Streams
/// (exports) are bounded by this only until their headers are sent. An AI turn is not
/// bounded by it at all: awaited as one JSON document it lasts as long as its answer,
/// which the AI's own timeouts bound.
pub async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let turn = req.method() == axum::http::Method::POST
        && req.extensions().get::<MatchedPath>().is_some_and(|p| {
            nexus_ai::messages::TURN_ROUTES
                .iter()
                .any(|r| p.as_str().ends_with(r))
        });
    if turn {
        return next.run(req).await;
    }
    let limit = Duration::from_secs(state.settings.request_timeout_secs.max(1));
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("request timed out");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(error_body(
                    "timeout",
                    "The request took too long and was stopped.",
                    serde_json::json!({}),
                )),
            )
                .into_response()
        }
    }
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // A handler's own policy is stricter (a file served as itself: see
    // `nexus_ai::attachments`) and stays.
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    response
}

/// Errors under `/api` that did not come from our handlers (unknown route, wrong method,
/// body limits) are rewritten into the envelope, so clients parse one shape.
pub async fn envelope_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api");
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "Not found."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This route does not accept that method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Send JSON with Content-Type: application/json.",
        ),
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed."),
        s if s.is_server_error() => (
            "internal_error",
            "Something went wrong on our side. Quote the request id when reporting it.",
        ),
        _ => ("bad_request", "The request was refused."),
    };
    let mut rewritten = (
        status,
        axum::Json(error_body(code, message, serde_json::json!({}))),
    )
        .into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            rewritten.headers_mut().insert(name, v.clone());
        }
    }
    rewritten
}

/// A panic in a handler becomes a 500 with the envelope (and a log line with the cause).
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn a_public_links_token_stays_out_of_the_logs() {
        assert_eq!(loggable_path("/api/v1/shared/abc123"), "/api/v1/shared/…");
        assert_eq!(loggable_path("/shared/abc123"), "/shared/…");
        assert_eq!(loggable_path("/api/v1/me"), "/api/v1/me");
    }
}
