use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use nexus_kernel::{ApiResult, AppState};
use sea_orm::EntityTrait;

use super::cookie_headers;
use crate::entities::session;
use crate::extract::CurrentUser;

/// End this session.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out; the cookie is cleared")))]
#[tracing::instrument(skip_all)]
pub async fn logout(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<impl IntoResponse> {
    session::Entity::delete_by_id(me.session.id)
        .exec(state.db.conn())
        .await?;
    state
        .db
        .cache()
        .forget(crate::session::CACHE_KIND, &me.session.token_digest);
    Ok((
        StatusCode::NO_CONTENT,
        cookie_headers(crate::session::clear_cookie(&state)),
    ))
}
