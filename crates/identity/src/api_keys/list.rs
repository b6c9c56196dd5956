use nexus_kernel::ApiResult;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::ApiKeyView;
use crate::entities::api_key;
use crate::extract::Member;

/// API keys, newest first (revoked ones included, marked).
#[utoipa::path(get, path = "/workspaces/{workspace_id}/api-keys", tag = "api_keys",
    params(("workspace_id" = uuid::Uuid, Path), PageParams),
    responses((status = 200, body = List<ApiKeyView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_api_keys(
    member: Member,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<List<ApiKeyView>>> {
    member.require(Permission::ReadApiKeys)?;
    let page = params.parse()?;
    let mut q =
        api_key::Entity::find().filter(api_key::Column::WorkspaceId.eq(member.workspace_id()));
    if let Some(after) = page.after {
        q = q.filter(api_key::Column::Id.lt(after));
    }
    let rows = q
        .order_by_desc(api_key::Column::Id)
        .limit(page.limit + 1)
        .all(member.tx())
        .await?;
    let items = rows.iter().map(ApiKeyView::from).collect();
    Ok(axum::Json(List::from_rows(
        items,
        page.limit,
        |k: &ApiKeyView| k.id,
    )))
}
