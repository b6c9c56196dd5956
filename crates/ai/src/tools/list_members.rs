use async_trait::async_trait;
use nexus_identity::entities::{member, user};
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use super::{Tool, ToolContext};

/// Who is in the workspace, with their roles.
pub struct ListMembers;

#[async_trait]
impl Tool for ListMembers {
    fn name(&self) -> &'static str {
        "list_members"
    }

    fn description(&self) -> &'static str {
        "List the members of the current workspace with their names, emails and roles."
    }

    fn parameters(&self) -> Value {
        json!({ "type": "object", "properties": {}, "additionalProperties": false })
    }

    fn permission(&self) -> Permission {
        Permission::ReadMembers
    }

    async fn call(&self, cx: &ToolContext<'_>, _args: Value) -> Result<Value, String> {
        let tx = cx
            .state
            .db
            .tenant(cx.ctx.scope(), false)
            .await
            .map_err(|e| super::storage_failed("list_members", e))?;
        let members = member::Entity::find()
            .filter(member::Column::WorkspaceId.eq(cx.ctx.workspace_id))
            .order_by_asc(member::Column::CreatedAt)
            .all(&tx)
            .await
            .map_err(|e| super::storage_failed("list_members", e))?;
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(members.iter().map(|m| m.user_id)))
            .all(&tx)
            .await
            .map_err(|e| super::storage_failed("list_members", e))?;
        let list: Vec<Value> = members
            .iter()
            .filter_map(|m| {
                let u = users.iter().find(|u| u.id == m.user_id)?;
                Some(json!({ "name": u.name, "email": u.email, "role": m.role }))
            })
            .collect();
        Ok(json!({ "members": list }))
    }
}
