//! The one error type at the HTTP edge. Every failure a client can see is an `ApiError`,
//! answered as `{"error": {code, message, details, request_id}}` with a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, SqlErr};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::request::current_request_id;

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {message}")]
    BadRequest { code: &'static str, message: String },
    /// 422 with the offending fields and why each is wrong.
    #[error("validation failed")]
    Validation { fields: BTreeMap<String, String> },
    #[error("authentication required")]
    Unauthenticated { message: &'static str },
    #[error("forbidden: {code}")]
    Forbidden { code: &'static str, message: String },
    /// Also what a resource of another workspace answers, so ids do not leak.
    #[error("not found")]
    NotFound,
    #[error("conflict: {code}")]
    Conflict { code: &'static str, message: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited {
        retry_after_secs: u64,
        code: &'static str,
    },
    /// A 429 with its own message and details (quotas: `details.resets_at`).
    #[error("rate limited: {code}")]
    RateLimitedWith {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
        details: Value,
    },
    #[error("service unavailable")]
    Unavailable,
    /// 502: a service we depend on (an AI provider) failed.
    #[error("upstream failure: {code}")]
    Upstream {
        code: &'static str,
        message: String,
        details: Value,
    },
    /// Work that started and then failed partway, answered with the status its cause
    /// calls for (an AI answer awaited as one JSON document: 504 when it ran out of time,
    /// 503 when the server stopped it, 502 when the provider failed). Its cause is logged
    /// where it happened.
    #[error("failed: {code}")]
    Failed {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A single-field validation error.
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        Self::Validation {
            fields: BTreeMap::from([(field.to_owned(), problem.into())]),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::RateLimitedWith { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::Failed { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The envelope's code, message and details (also for non-HTTP channels like the
    /// WebSocket).
    pub fn code_message_details(&self) -> (&'static str, String, Value) {
        match self {
            Self::BadRequest { code, message } => (code, message.clone(), json!({})),
            Self::Validation { fields } => (
                "validation_failed",
                "Some fields are invalid.".into(),
                json!({ "fields": fields }),
            ),
            Self::Unauthenticated { message } => ("unauthenticated", (*message).into(), json!({})),
            Self::Forbidden { code, message } => (code, message.clone(), json!({})),
            Self::NotFound => ("not_found", "Not found.".into(), json!({})),
            Self::Conflict { code, message } => (code, message.clone(), json!({})),
            Self::PayloadTooLarge => (
                "payload_too_large",
                "The request body is too large.".into(),
                json!({}),
            ),
            Self::UnsupportedMediaType => (
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json.".into(),
                json!({}),
            ),
            Self::RateLimited {
                retry_after_secs,
                code,
            } => (
                code,
                "Too many requests; try again later.".into(),
                json!({ "retry_after": retry_after_secs }),
            ),
            Self::RateLimitedWith {
                code,
                message,
                details,
                ..
            }
            | Self::Upstream {
                code,
                message,
                details,
            }
            | Self::Failed {
                code,
                message,
                details,
                ..
            } => (code, message.clone(), details.clone()),
            Self::Unavailable => (
                "unavailable",
                "The service is unavailable; try again shortly.".into(),
                json!({}),
            ),
            Self::Internal(_) => (
                "internal_error",
                "Something went wrong on our side. Quote the request id when reporting it.".into(),
                json!({}),
            ),
        }
    }
}

/// The error envelope, also usable by middleware that answers before a handler runs.
pub fn error_body(code: &str, message: &str, details: Value) -> Value {
    json!({ "error": {
        "code": code,
        "message": message,
        "details": details,
        "request_id": current_request_id(),
    }})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(err) = &self {
            tracing::error!(error = ?err, request_id = %current_request_id(), "internal error");
        }
        let (code, message, details) = self.code_message_details();
        let mut response = (
            self.status(),
            axum::Json(error_body(code, &message, details)),
        )
            .into_response();
        let retry_after = match self {
            Self::RateLimited {
                retry_after_secs, ..
            }
            | Self::RateLimitedWith {
                retry_after_secs, ..
            } => Some(retry_after_secs),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        // An update of a row that was read, found gone: a request deleted it meanwhile.
        if matches!(err, DbErr::RecordNotUpdated) {
            return Self::NotFound;
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::conflict(
                "already_exists",
                "A resource with these values already exists.",
            ),
            _ => Self::Internal(anyhow::Error::new(err)),
        }
    }
}

impl<E: Into<ApiError>> From<sea_orm::TransactionError<E>> for ApiError
where
    E: std::error::Error,
{
    fn from(err: sea_orm::TransactionError<E>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(e) => e.into(),
        }
    }
}

/// The error envelope, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: what programs branch on.
    pub code: String,
    pub message: String,
    /// `fields` for validation errors, `retry_after` for rate limits.
    #[schema(value_type = Object)]
    pub details: Value,
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_gone_before_its_update_is_not_found() {
        let err = ApiError::from(DbErr::RecordNotUpdated);
        assert_eq!(err.status(), axum::http::StatusCode::NOT_FOUND);
    }
}
