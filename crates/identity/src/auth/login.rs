use axum::extract::State;
use axum::response::IntoResponse;
use nexus_kernel::json::ApiJson;
use nexus_kernel::request::RequestMeta;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;

use super::{AuthResponse, cookie_headers, limit_ip};
use crate::domain::Email;
use crate::entities::user;
use crate::views::UserView;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// How long repeated failures for one account are remembered.
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Sign in with email and password.
///
/// A wrong email and a wrong password give the same answer in the same time. After
/// repeated failures an account is throttled (429 with `Retry-After`), whether it exists
/// or not.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = AuthResponse),
        (status = 401, description = "Wrong email or password", body = nexus_kernel::error::ErrorEnvelope),
        (status = 429, description = "Too many attempts", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    limit_ip(&state, &meta, "login").await?;
    let wrong = ApiError::Unauthenticated {
        message: "Wrong email or password.",
    };
    let Ok(email) = Email::parse("email", &body.email) else {
        return Err(wrong);
    };
    if body.password.len() > 1024 {
        return Err(wrong);
    }
    let throttle_key = format!("login-failures:{}", email.as_str());
    let max_failures = state.settings.login_failures_before_lockout.max(1) as u32;
    state
        .limiter
        .check(&throttle_key, max_failures, FAILURE_WINDOW)
        .await
        .map_err(|secs| ApiError::RateLimited {
            retry_after_secs: secs,
            code: "too_many_attempts",
        })?;

    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(state.db.conn())
        .await?;
    let ok = crate::password::verify(
        body.password,
        found.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let Some(user) = found.filter(|_| ok) else {
        let _ = state
            .limiter
            .hit(&throttle_key, u32::MAX, FAILURE_WINDOW)
            .await;
        return Err(wrong);
    };
    state.limiter.reset(&throttle_key).await;
    let session = crate::session::create(state.db.conn(), &state, user.id, &meta).await?;
    Ok((
        cookie_headers(crate::session::set_cookie(&state, &session.token)),
        axum::Json(AuthResponse {
            user: UserView::new(&user, &state.settings),
            csrf_token: session.csrf_token,
        }),
    ))
}
