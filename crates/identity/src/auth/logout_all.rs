use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use nexus_kernel::{ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::cookie_headers;
use crate::entities::session;
use crate::extract::CurrentUser;

/// End every session of the signed-in user, on every device.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth",
    responses((status = 204, description = "Every session ended")))]
#[tracing::instrument(skip_all)]
pub async fn logout_all(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<impl IntoResponse> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(me.user.id))
        .exec(state.db.conn())
        .await?;
    state.db.cache().forget_tagged(&[me.user.id]);
    Ok((
        StatusCode::NO_CONTENT,
        cookie_headers(crate::session::clear_cookie(&state)),
    ))
}
