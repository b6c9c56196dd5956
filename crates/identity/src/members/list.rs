use axum::response::{IntoResponse, Response};
use nexus_kernel::ApiResult;
use nexus_kernel::json::JsonBody;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::{Permission, Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

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
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Response> {
    member.require(Permission::ReadMembers)?;
    let page = params.parse()?;
    match page.after {
        Some(after) => {
            let rows = load(&member, Some(after), page.limit).await?;
            Ok(JsonBody::new(&List::from_rows(rows, page.limit, |m| m.user_id))?.into_response())
        }
        None => Ok(first_page(&member, page.limit).await?.into_response()),
    }
}

/// The hot-cache kind of a workspace's first page of members.
const FIRST_PAGE_CACHE: &str = "members_first_page";

/// A page, serialised, with the users it shows (its cache tags).
struct CachedPage {
    body: JsonBody,
    users: Vec<Uuid>,
}

/// The first page is what member pickers and the members screen ask for, again and
/// again, so it is cached, serialised. Tagged with the workspace (every membership change
/// is audited there) and each member's user (their name and email).
async fn first_page(member: &Member, limit: u64) -> ApiResult<JsonBody> {
    let page = member
        .tx()
        .cache()
        .get_or_load_tagged(
            FIRST_PAGE_CACHE,
            format!("{}:{limit}", member.workspace_id()),
            || async {
                let rows = load(member, None, limit).await?;
                let users = rows.iter().map(|m| m.user_id).collect();
                let body = JsonBody::new(&List::from_rows(rows, limit, |m| m.user_id))?;
                ApiResult::Ok(CachedPage { body, users })
            },
            |page| {
                std::iter::once(member.workspace_id())
                    .chain(page.users.iter().copied())
                    .collect()
            },
        )
        .await?;
    Ok(page.body.clone())
}

/// Up to `limit + 1` members after `after` (one more than a page, for the cursor).
async fn load(member: &Member, after: Option<Uuid>, limit: u64) -> ApiResult<Vec<MemberView>> {
    let mut q =
        member::Entity::find().filter(member::Column::WorkspaceId.eq(member.workspace_id()));
    if let Some(after) = after {
        q = q.filter(member::Column::UserId.gt(after));
    }
    let rows = q
        .order_by_asc(member::Column::UserId)
        .limit(limit + 1)
        .all(member.tx())
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|m| m.user_id)))
        .all(member.tx())
        .await?;
    Ok(rows
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
        .collect())
}
