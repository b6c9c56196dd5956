use axum::extract::Query;
use nexus_kernel::ApiResult;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::roles::{Permission, Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::MemberView;
use crate::entities::{member, user};
use crate::extract::Member;

/// The workspace's members.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/members", tag = "members",
    params(("workspace_id" = uuid::Uuid, Path), PageParams),
    responses((status = 200, body = List<MemberView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_members(
    member: Member,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<List<MemberView>>> {
    member.require(Permission::ReadMembers)?;
    let page = params.parse()?;
    let mut q =
        member::Entity::find().filter(member::Column::WorkspaceId.eq(member.workspace_id()));
    if let Some(after) = page.after {
        q = q.filter(member::Column::UserId.gt(after));
    }
    let rows = q
        .order_by_asc(member::Column::UserId)
        .limit(page.limit + 1)
        .all(member.tx())
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|m| m.user_id)))
        .all(member.tx())
        .await?;
    let items = rows
        .into_iter()
        .filter_map(|m| {
            let u = users.iter().find(|u| u.id == m.user_id)?;
            Some(MemberView {
                user_id: m.user_id,
                email: u.email.clone(),
                name: u.name.clone(),
                role: Role::from_db(&m.role),
                joined_at: m.created_at,
            })
        })
        .collect();
    Ok(axum::Json(List::from_rows(items, page.limit, |m| {
        m.user_id
    })))
}
