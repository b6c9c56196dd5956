//! Workspaces: create (the creator becomes owner), list mine, get, rename, delete.

mod create;
mod delete;
mod get;
mod list;
mod update;

use chrono::{DateTime, Utc};
use nexus_kernel::AppState;
use nexus_kernel::entities::workspace;
use nexus_kernel::modules::Plan;
use nexus_kernel::roles::Role;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_workspace, list::list_workspaces))
        .routes(routes!(
            get::get_workspace,
            update::update_workspace,
            delete::delete_workspace
        ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub plan: Plan,
    /// The caller's role here.
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl WorkspaceView {
    pub fn new(w: &workspace::Model, role: Role) -> Self {
        Self {
            id: w.id,
            name: w.name.clone(),
            slug: w.slug.clone(),
            plan: Plan::from_db(&w.plan),
            role,
            created_at: w.created_at,
        }
    }
}
