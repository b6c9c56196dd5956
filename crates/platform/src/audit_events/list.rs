use axum::extract::Query;
use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::entities::audit_event;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{AuditEventView, AuditFilter};

/// The audit log, newest first, with filters.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/audit-events", tag = "audit",
    params(("workspace_id" = uuid::Uuid, Path), PageParams, AuditFilter),
    responses((status = 200, body = List<AuditEventView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_audit_events(
    member: Member,
    Query(page): Query<PageParams>,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<axum::Json<List<AuditEventView>>> {
    member.require(Permission::ReadAuditLog)?;
    let page = page.parse()?;
    let mut q = filter.apply(
        audit_event::Entity::find()
            .filter(audit_event::Column::WorkspaceId.eq(member.workspace_id())),
    )?;
    if let Some(after) = page.after {
        q = q.filter(audit_event::Column::Id.lt(after));
    }
    let rows = q
        .order_by_desc(audit_event::Column::Id)
        .limit(page.limit + 1)
        .all(member.tx())
        .await?;
    let items = rows.into_iter().map(AuditEventView::from).collect();
    Ok(axum::Json(List::from_rows(
        items,
        page.limit,
        |e: &AuditEventView| e.id,
    )))
}
