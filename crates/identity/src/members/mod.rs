//! Members: list, change role, remove (or leave). A workspace always keeps an owner, and
//! nobody acts on or grants a role above their own.

mod list;
mod remove;
mod update;

use chrono::{DateTime, Utc};
use nexus_kernel::roles::Role;
use nexus_kernel::{ApiError, AppState};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::entities::member;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_members))
        .routes(routes!(update::update_member, remove::remove_member))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

pub(crate) async fn find_member(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<member::Model, ApiError> {
    member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Refuse a change that would leave the workspace without an owner.
pub(crate) async fn keep_an_owner(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    target: &member::Model,
) -> Result<(), ApiError> {
    if Role::from_db(&target.role) != Role::Owner {
        return Ok(());
    }
    let owners = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?;
    if owners <= 1 {
        return Err(ApiError::conflict(
            "last_owner",
            "A workspace needs at least one owner: make someone else owner first.",
        ));
    }
    Ok(())
}
