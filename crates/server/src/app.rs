//! The router: every module's routes under `/api/v1`, the OpenAPI document and its docs
//! page, health and metrics, and the middleware stack.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Router, middleware as mw};
use nexus_kernel::AppState;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{docs, metrics, middleware, openapi::ApiDoc, web};

/// Every `/api/v1` route, with its OpenAPI description.
pub fn api_routes(ai: Arc<nexus_ai::AiService>) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        nexus_identity::router()
            .merge(nexus_platform::router())
            .merge(nexus_ai::router(ai)),
    )
}

/// The OpenAPI document as served at `/api/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_routes(nexus_ai::AiService::new(&Default::default())).into_openapi()
}

pub fn build_router(state: AppState) -> Router {
    let _ = metrics::handle();
    let ai = nexus_ai::AiService::new(&state.settings);
    nexus_ai::messages::stop::hear_stops(&ai, &state);
    let (api, doc) = api_routes(ai).split_for_parts();
    let doc_json: Arc<str> = doc.to_json().unwrap_or_else(|_| "{}".into()).into();
    let body_limit = state.settings.body_limit_bytes;

    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || serve_openapi(doc_json.clone())),
        )
        .route("/api/docs", get(|| async { Html(docs::PAGE) }))
        .route(
            "/api/docs/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    docs::SCRIPT,
                )
            }),
        )
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { metrics::render(&state) }),
        )
        .fallback_service(
            Router::new()
                .fallback(web::serve)
                .layer(CompressionLayer::new()),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(mw::from_fn_with_state(state.clone(), middleware::timeout))
        .layer(mw::from_fn(middleware::envelope_errors))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(mw::from_fn(middleware::security_headers))
        .layer(mw::from_fn(middleware::record_metrics))
        .layer(mw::from_fn_with_state(state.clone(), middleware::client_ip))
        .layer(mw::from_fn(middleware::request_id))
        .with_state(state)
}

async fn serve_openapi(doc: Arc<str>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "database unreachable" })),
            )
                .into_response()
        }
    }
}
