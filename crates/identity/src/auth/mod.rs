//! Sign up, log in, log out, log out everywhere, change password, and `GET /me`.

mod change_password;
mod login;
mod logout;
mod logout_all;
mod me;
mod signup;

use axum::http::{HeaderMap, header};
use nexus_kernel::request::RequestMeta;
use nexus_kernel::{ApiError, AppState};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use me::my_workspaces;

use crate::views::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup::signup))
        .routes(routes!(login::login))
        .routes(routes!(logout::logout))
        .routes(routes!(logout_all::logout_all))
        .routes(routes!(change_password::change_password))
        .routes(routes!(me::get_me))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: UserView,
    /// Send as `X-CSRF-Token` on unsafe requests made with the session cookie.
    pub csrf_token: String,
}

/// Per-IP limit on the auth routes (signup, login, accepting invitations).
pub async fn limit_ip(state: &AppState, meta: &RequestMeta, route: &str) -> Result<(), ApiError> {
    let ip = meta.ip.as_deref().unwrap_or("unknown");
    state
        .limiter
        .hit(
            &format!("auth:{route}:{ip}"),
            state.settings.auth_rate_per_minute,
            std::time::Duration::from_secs(60),
        )
        .await
        .map_err(|secs| ApiError::RateLimited {
            retry_after_secs: secs,
            code: "rate_limited",
        })
}

pub fn cookie_headers(value: axum::http::HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, value);
    headers.insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    headers
}
