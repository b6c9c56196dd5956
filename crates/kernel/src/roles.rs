//! Roles and the permission matrix: the one place that says who may do what. The docs
//! (`docs/permissions.md`) and the matrix test are generated from [`Permission::ALL`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Workspace roles, lowest first so that `Ord` means "at least".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// For rows read back from the database: an unknown value there is a bug, and the
    /// safest reading of it is the least privileged role.
    pub fn from_db(s: &str) -> Self {
        Self::parse(s).unwrap_or(Role::Viewer)
    }
}

/// Everything a workspace role can be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ReadWorkspace,
    RenameWorkspace,
    DeleteWorkspace,
    ReadMembers,
    InviteMembers,
    ManageMembers,
    ReadApiKeys,
    ManageApiKeys,
    ReadAuditLog,
    ReadSecrets,
    ManageSecrets,
    ManageModules,
    UseAssistant,
    ManageAi,
    ReadAiUsage,
}

impl Permission {
    /// The matrix: each permission and the lowest role that holds it.
    pub const ALL: [(Permission, Role, &'static str); 15] = [
        (
            Permission::ReadWorkspace,
            Role::Viewer,
            "see the workspace, its modules and plan",
        ),
        (
            Permission::RenameWorkspace,
            Role::Admin,
            "rename the workspace",
        ),
        (
            Permission::DeleteWorkspace,
            Role::Owner,
            "delete the workspace",
        ),
        (Permission::ReadMembers, Role::Viewer, "list members"),
        (
            Permission::InviteMembers,
            Role::Admin,
            "invite people and see or revoke invitations",
        ),
        (
            Permission::ManageMembers,
            Role::Admin,
            "change roles and remove members",
        ),
        (Permission::ReadApiKeys, Role::Admin, "list API keys"),
        (
            Permission::ManageApiKeys,
            Role::Admin,
            "create and revoke API keys",
        ),
        (
            Permission::ReadAuditLog,
            Role::Admin,
            "read and export the audit log",
        ),
        (
            Permission::ReadSecrets,
            Role::Admin,
            "list secret names (never values)",
        ),
        (
            Permission::ManageSecrets,
            Role::Admin,
            "create, replace and delete secrets",
        ),
        (
            Permission::ManageModules,
            Role::Admin,
            "switch modules on and off",
        ),
        (
            Permission::UseAssistant,
            Role::Member,
            "start conversations and chat with AI models",
        ),
        (
            Permission::ManageAi,
            Role::Admin,
            "add, test and order AI providers; set AI defaults",
        ),
        (
            Permission::ReadAiUsage,
            Role::Admin,
            "see the workspace's AI usage by day, member and model, and how members rated answers",
        ),
    ];

    pub fn min_role(self) -> Role {
        Self::ALL
            .iter()
            .find(|(p, ..)| *p == self)
            .map(|(_, r, _)| *r)
            .unwrap_or(Role::Owner)
    }

    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Check a role against a permission; the error is what the client sees.
pub fn require(role: Role, permission: Permission) -> Result<(), ApiError> {
    if role >= permission.min_role() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            format!(
                "Your role ({}) may not {}.",
                role.as_str(),
                describe(permission)
            ),
        ))
    }
}

fn describe(permission: Permission) -> &'static str {
    Permission::ALL
        .iter()
        .find(|(p, ..)| *p == permission)
        .map(|(.., d)| *d)
        .unwrap_or("do this")
}

/// The matrix as a Markdown table, for `docs/permissions.md` (a test keeps them equal).
pub fn permissions_markdown() -> String {
    let mut out = String::from(
        "# Permissions\n\nGenerated from `crates/kernel/src/roles.rs` (`Permission::ALL`); a test fails when this file is stale.\n\n| permission | what it allows | owner | admin | member | viewer |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for (p, min, what) in Permission::ALL {
        let cells: Vec<&str> = Role::ALL
            .iter()
            .map(|r| if *r >= min { "yes" } else { "—" })
            .collect();
        out.push_str(&format!(
            "| `{}` | {what} | {} |\n",
            p.as_str(),
            cells.join(" | ")
        ));
    }
    out.push_str("\nNobody grants a role above their own, and a workspace always keeps at least one owner.\nAPI keys carry a role too, no higher than their creator's.\n");
    out
}
