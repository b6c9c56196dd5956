use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use nexus_kernel::json::ApiJson;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::check_password;
use crate::entities::{session, user};
use crate::extract::CurrentUser;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// Change the signed-in user's password; every other session is ended.
#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "Wrong current password or weak new one", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all)]
pub async fn change_password(
    State(state): State<AppState>,
    me: CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    check_password("new_password", &body.new_password)?;
    if body.current_password.len() > 1024
        || !crate::password::verify(body.current_password, Some(me.user.password_hash.clone()))
            .await
    {
        return Err(ApiError::field("current_password", "is wrong"));
    }
    let hash = crate::password::hash(body.new_password).await?;
    let tx = state.db.begin_write().await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(me.user.id))
        .exec(&tx)
        .await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(me.user.id))
        .filter(session::Column::Id.ne(me.session.id))
        .exec(&tx)
        .await?;
    tx.mark_stale(me.user.id);
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
