use axum::Extension;
use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::pagination::List;
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use std::sync::Arc;

use super::ProviderView;
use crate::AiService;
use crate::entities::provider;

/// The workspace's AI providers, in the order they are tried.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/providers", tag = "ai",
    params(("workspace_id" = uuid::Uuid, Path)),
    responses((status = 200, body = List<ProviderView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_ai_providers(
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
) -> ApiResult<axum::Json<List<ProviderView>>> {
    member.require(Permission::ManageAi)?;
    let rows = provider::Entity::find()
        .filter(provider::Column::WorkspaceId.eq(member.workspace_id()))
        .order_by_asc(provider::Column::Priority)
        .order_by_asc(provider::Column::Id)
        .all(member.tx())
        .await?;
    let items = rows
        .iter()
        .map(|p| ProviderView::new(p, ai.resilience.breakers.state(p.id)))
        .collect();
    Ok(axum::Json(List {
        items,
        next_cursor: None,
    }))
}
