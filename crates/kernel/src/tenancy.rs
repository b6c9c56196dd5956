//! The tenant-scoped context: who is acting, in which workspace, with which role.
//! `nexus-identity` builds it from a session or API key; everything that touches a
//! workspace's rows takes it.

use serde::Serialize;
use uuid::Uuid;

use crate::db::Scope;
use crate::error::ApiError;
use crate::modules::Plan;
use crate::request::RequestMeta;
use crate::roles::{Permission, Role};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    User { id: Uuid, email: String },
    ApiKey { id: Uuid, name: String },
    System,
}

impl Actor {
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user",
            Actor::ApiKey { .. } => "api_key",
            Actor::System => "system",
        }
    }

    pub fn id(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. } | Actor::ApiKey { id, .. } => Some(*id),
            Actor::System => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.clone(),
            Actor::ApiKey { name, .. } => format!("api key {name}"),
            Actor::System => "system".into(),
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    pub fn api_key_id(&self) -> Option<Uuid> {
        match self {
            Actor::ApiKey { id, .. } => Some(*id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TenantCtx {
    pub workspace_id: Uuid,
    pub actor: Actor,
    pub role: Role,
    pub plan: Plan,
    pub meta: RequestMeta,
}

impl TenantCtx {
    pub fn scope(&self) -> Scope {
        Scope {
            workspace_id: self.workspace_id,
            user_id: self.actor.user_id(),
        }
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        crate::roles::require(self.role, permission)
    }
}
