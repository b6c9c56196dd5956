//! Secrets over HTTP: put, list (names and metadata only), delete. Values are never
//! returned; modules read them through `nexus_kernel::secrets::read`.

mod delete;
mod list;
mod put;

use chrono::{DateTime, Utc};
use nexus_kernel::entities::secret;
use nexus_kernel::{ApiError, AppState};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_secrets))
        .routes(routes!(put::put_secret, delete::delete_secret))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub name: String,
    pub updated_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<secret::Model> for SecretView {
    fn from(s: secret::Model) -> Self {
        Self {
            name: s.name,
            updated_by: s.updated_by,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Secret names: 1–100 of `A-Z a-z 0-9 _ - .`, so they are safe in paths, logs and env.
pub fn parse_secret_name(raw: &str) -> Result<&str, ApiError> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(raw)
    } else {
        Err(ApiError::field(
            "name",
            "must be 1–100 characters of A–Z, a–z, 0–9, _, - and .",
        ))
    }
}
