//! Response shapes shared by several routes.

use chrono::{DateTime, Utc};
use nexus_kernel::roles::Role;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::user;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// A platform operator: may list and suspend workspaces, not read their content.
    pub is_system_admin: bool,
    pub created_at: DateTime<Utc>,
}

impl UserView {
    pub fn new(u: &user::Model, settings: &nexus_kernel::config::Settings) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            is_system_admin: u.is_system_admin || settings.is_admin_email(&u.email),
            created_at: u.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkspaceSummary {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// The caller's role in it.
    pub role: Role,
}
