use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::Utc;
use nexus_kernel::json::ApiJson;
use nexus_kernel::request::RequestMeta;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{AuthResponse, cookie_headers, limit_ip};
use crate::domain::{Email, check_password, parse_name};
use crate::entities::user;
use crate::views::UserView;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    /// 8 to 256 characters.
    pub password: String,
    pub name: String,
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up; the session cookie is set", body = AuthResponse),
        (status = 409, description = "The email is taken", body = nexus_kernel::error::ErrorEnvelope),
        (status = 422, description = "Invalid fields", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all)]
pub async fn signup(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<SignupRequest>,
) -> ApiResult<impl IntoResponse> {
    limit_ip(&state, &meta, "signup").await?;
    let email = Email::parse("email", &body.email)?;
    let name = parse_name("name", &body.name, 100)?;
    check_password("password", &body.password)?;

    let taken = || {
        ApiError::conflict(
            "email_taken",
            "An account with this email already exists; sign in instead.",
        )
    };
    if user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(state.db.conn())
        .await?
        .is_some()
    {
        return Err(taken());
    }
    let password_hash = crate::password::hash(body.password).await?;
    let now = Utc::now();
    let model = user::Model {
        id: Uuid::now_v7(),
        email: email.as_str().to_owned(),
        name,
        password_hash,
        is_system_admin: false,
        created_at: now,
        updated_at: now,
    };
    let tx = state.db.begin_write().await?;
    user::Entity::insert(user::ActiveModel {
        id: Set(model.id),
        email: Set(model.email.clone()),
        name: Set(model.name.clone()),
        password_hash: Set(model.password_hash.clone()),
        is_system_admin: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict { .. } => taken(),
        other => other,
    })?;
    let session = crate::session::create(&tx, &state, model.id, &meta).await?;
    tx.commit().await?;
    tracing::info!(user_id = %model.id, "signed up");
    Ok((
        StatusCode::CREATED,
        cookie_headers(crate::session::set_cookie(&state, &session.token)),
        axum::Json(AuthResponse {
            user: UserView::new(&model, &state.settings),
            csrf_token: session.csrf_token,
        }),
    ))
}
