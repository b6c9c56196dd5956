//! Per-workspace module switches and plans.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::workspace_module;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    Assistant,
    Support,
    Crm,
    Apps,
    Analytics,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::Assistant,
        Module::Support,
        Module::Crm,
        Module::Apps,
        Module::Analytics,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Assistant => "assistant",
            Module::Support => "support",
            Module::Crm => "crm",
            Module::Apps => "apps",
            Module::Analytics => "analytics",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// AI spends money, so the assistant waits for an admin to switch it on.
    pub fn enabled_by_default(self) -> bool {
        !matches!(self, Module::Assistant)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "pro" => Plan::Pro,
            "enterprise" => Plan::Enterprise,
            _ => Plan::Free,
        }
    }
}

/// Every module with its effective state in one workspace.
pub async fn module_states(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> Result<Vec<(Module, bool)>, ApiError> {
    let rows = workspace_module::Entity::find()
        .filter(workspace_module::Column::WorkspaceId.eq(workspace_id))
        .all(db)
        .await?;
    Ok(Module::ALL
        .into_iter()
        .map(|m| {
            let stored = rows
                .iter()
                .find(|r| r.module == m.as_str())
                .map(|r| r.enabled);
            (m, stored.unwrap_or_else(|| m.enabled_by_default()))
        })
        .collect())
}

pub async fn set_module(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    module: Module,
    enabled: bool,
) -> Result<(), ApiError> {
    workspace_module::Entity::insert(workspace_module::ActiveModel {
        workspace_id: Set(workspace_id),
        module: Set(module.as_str().to_owned()),
        enabled: Set(enabled),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            workspace_module::Column::WorkspaceId,
            workspace_module::Column::Module,
        ])
        .update_columns([
            workspace_module::Column::Enabled,
            workspace_module::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// What a route of a switched-off module answers. Checked on every request of a module,
/// so the switches are cached (switching is audited, which invalidates them).
pub async fn require_module(
    tx: &crate::db::Tx,
    workspace_id: Uuid,
    module: Module,
) -> Result<(), ApiError> {
    let states = tx
        .cache()
        .get_or_load_ahead(
            "modules",
            workspace_id.to_string(),
            vec![workspace_id],
            || module_states(tx, workspace_id),
            || {
                let reader = tx.reader();
                async move {
                    module_states(&reader.begin().await.ok()?, workspace_id)
                        .await
                        .ok()
                }
            },
        )
        .await?;
    let on = states.iter().any(|&(m, on)| m == module && on);
    if on {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "module_disabled",
            format!(
                "The {} module is switched off in this workspace; an admin can switch it on in Settings.",
                module.as_str()
            ),
        ))
    }
}
