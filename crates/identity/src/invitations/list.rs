use nexus_kernel::ApiResult;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::InvitationView;
use crate::entities::invitation;
use crate::extract::Member;

/// Invitations, newest first, with their status.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/invitations", tag = "invitations",
    params(("workspace_id" = uuid::Uuid, Path), PageParams),
    responses((status = 200, body = List<InvitationView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_invitations(
    member: Member,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<List<InvitationView>>> {
    member.require(Permission::InviteMembers)?;
    let page = params.parse()?;
    let mut q = invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(member.workspace_id()));
    if let Some(after) = page.after {
        q = q.filter(invitation::Column::Id.lt(after));
    }
    let rows = q
        .order_by_desc(invitation::Column::Id)
        .limit(page.limit + 1)
        .all(member.tx())
        .await?;
    let items = rows.iter().map(InvitationView::from).collect();
    Ok(axum::Json(List::from_rows(
        items,
        page.limit,
        |i: &InvitationView| i.id,
    )))
}
