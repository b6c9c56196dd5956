use axum::response::{IntoResponse, Response};
use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::audit;
use nexus_kernel::entities::audit_event;
use nexus_kernel::json::JsonBody;
use nexus_kernel::pagination::{List, Page, PageParams};
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{AuditEventView, AuditFilter};

/// The hot-cache kind of a workspace's newest page of audit events, unfiltered.
const FIRST_PAGE_CACHE: &str = "audit_first_page";

/// The audit log, newest first, with filters.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/audit-events", tag = "audit",
    params(("workspace_id" = uuid::Uuid, Path), PageParams, AuditFilter),
    responses((status = 200, body = List<AuditEventView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_audit_events(
    member: Member,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> ApiResult<Response> {
    member.require(Permission::ReadAuditLog)?;
    let page = page.parse()?;
    if page.after.is_some() || !filter.is_empty() {
        return Ok(JsonBody::new(&load(&member, &page, &filter).await?)?.into_response());
    }
    // The newest page is what the audit screen opens on and what dashboards poll. Every
    // audit event marks the workspace or its page tag stale when it commits
    // (`nexus_kernel::audit`), so the cached page is never older than the last event this
    // replica wrote.
    let body = member
        .tx()
        .cache()
        .get_or_load(
            FIRST_PAGE_CACHE,
            format!("{}:{}", member.workspace_id(), page.limit),
            vec![
                member.workspace_id(),
                audit::page_tag(member.workspace_id()),
            ],
            || async { JsonBody::new(&load(&member, &page, &filter).await?) },
        )
        .await?;
    Ok((*body).clone().into_response())
}

async fn load(
    member: &Member,
    page: &Page,
    filter: &AuditFilter,
) -> ApiResult<List<AuditEventView>> {
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
    Ok(List::from_rows(items, page.limit, |e: &AuditEventView| {
        e.id
    }))
}
