//! Reading the audit log: list with filters, export (CSV, JSON Lines, streamed), verify
//! the hash chain. There is deliberately no route that changes or deletes an event.

mod export;
mod list;
mod verify;

use chrono::{DateTime, Utc};
use nexus_kernel::entities::audit_event;
use nexus_kernel::{ApiError, AppState};
use sea_orm::{ColumnTrait, QueryFilter, Select};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_audit_events))
        .routes(routes!(export::export_audit_events))
        .routes(routes!(verify::verify_audit_events))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only events by this user or API key.
    pub actor_id: Option<Uuid>,
    /// An exact action (`member.role_changed`) or a prefix ending in `.` (`member.`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// The smallest UUIDv7 of a millisecond: event ids are UUIDv7, so a time range is an id
/// range and uses the primary key index on both engines.
fn first_id_at(t: DateTime<Utc>) -> Uuid {
    let ms = t.timestamp_millis().max(0) as u64;
    uuid::Builder::from_unix_timestamp_millis(ms, &[0u8; 10]).into_uuid()
}

/// A text filter: short, and free of control characters (PostgreSQL refuses NUL in text,
/// and nothing we store contains any).
fn filter_text<'a>(field: &str, value: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if v.len() > 200 => Err(ApiError::field(field, "is too long")),
        Some(v) if v.chars().any(char::is_control) => Err(ApiError::field(
            field,
            "must not contain control characters",
        )),
        other => Ok(other),
    }
}

impl AuditFilter {
    /// No filter at all (an empty text filter is none, as in [`AuditFilter::apply`]).
    pub fn is_empty(&self) -> bool {
        let blank = |t: &Option<String>| t.as_deref().is_none_or(str::is_empty);
        self.actor_id.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && blank(&self.action)
            && blank(&self.target_type)
            && blank(&self.target_id)
    }

    pub fn apply(
        &self,
        mut q: Select<audit_event::Entity>,
    ) -> Result<Select<audit_event::Entity>, ApiError> {
        if let Some(actor) = self.actor_id {
            q = q.filter(audit_event::Column::ActorId.eq(actor));
        }
        if let Some(action) = filter_text("action", self.action.as_deref())? {
            q = if action.ends_with('.') {
                q.filter(audit_event::Column::Action.starts_with(action))
            } else {
                q.filter(audit_event::Column::Action.eq(action))
            };
        }
        if let Some(t) = filter_text("target_type", self.target_type.as_deref())? {
            q = q.filter(audit_event::Column::TargetType.eq(t));
        }
        if let Some(t) = filter_text("target_id", self.target_id.as_deref())? {
            q = q.filter(audit_event::Column::TargetId.eq(t));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(ApiError::field("from", "must not be after `to`"));
        }
        if let Some(from) = self.from {
            q = q.filter(audit_event::Column::Id.gte(first_id_at(from)));
        }
        if let Some(to) = self.to {
            q = q.filter(audit_event::Column::Id.lt(first_id_at(to)));
        }
        Ok(q)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    /// `user`, `api_key` or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<Uuid>,
    /// The user's email or the key's name at the time.
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: Uuid,
    /// Position in the workspace's chain, from 1.
    pub seq: i64,
    pub actor: AuditActor,
    pub action: String,
    pub target: AuditTarget,
    /// What changed; never secret values.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub hash: String,
    pub prev_hash: String,
}

impl From<audit_event::Model> for AuditEventView {
    fn from(e: audit_event::Model) -> Self {
        Self {
            id: e.id,
            seq: e.seq,
            actor: AuditActor {
                kind: e.actor_type,
                id: e.actor_id,
                label: e.actor_label,
            },
            action: e.action,
            target: AuditTarget {
                kind: e.target_type,
                id: e.target_id,
            },
            summary: e.summary,
            ip: e.ip,
            user_agent: e.user_agent,
            request_id: e.request_id,
            created_at: e.created_at,
            hash: e.hash,
            prev_hash: e.prev_hash,
        }
    }
}
