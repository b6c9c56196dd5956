//! Invitations: a single-use token valid for 7 days, bound to an email and a role. The
//! token is returned to the inviter (email delivery comes with connectors) and only its
//! SHA-256 is stored.

mod accept;
mod create;
mod list;
mod revoke;

use chrono::{DateTime, Utc};
use nexus_kernel::roles::Role;
use nexus_kernel::{ApiError, AppState};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::entities::{invitation, member};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_invitation, list::list_invitations))
        .routes(routes!(revoke::revoke_invitation))
        .routes(routes!(accept::accept_invitation))
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: InvitationStatus,
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<&invitation::Model> for InvitationView {
    fn from(i: &invitation::Model) -> Self {
        Self {
            id: i.id,
            email: i.email.clone(),
            role: Role::from_db(&i.role),
            status: status_of(i),
            invited_by: i.invited_by,
            expires_at: i.expires_at,
            created_at: i.created_at,
        }
    }
}

pub fn status_of(i: &invitation::Model) -> InvitationStatus {
    if i.accepted_at.is_some() {
        InvitationStatus::Accepted
    } else if i.revoked_at.is_some() {
        InvitationStatus::Revoked
    } else if i.expires_at <= Utc::now() {
        InvitationStatus::Expired
    } else {
        InvitationStatus::Pending
    }
}

/// Seats in use: members, plus pending invitations when `count_pending`.
pub async fn seats_used(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    count_pending: bool,
) -> Result<u64, ApiError> {
    let members = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .count(db)
        .await?;
    if !count_pending {
        return Ok(members);
    }
    let pending = invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(workspace_id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .count(db)
        .await?;
    Ok(members + pending)
}

pub(crate) fn seat_limit_error(seats: u32) -> ApiError {
    ApiError::conflict(
        "seat_limit_reached",
        format!(
            "This workspace's plan allows {seats} seats (members and pending invitations); upgrade the plan or remove someone first."
        ),
    )
}
