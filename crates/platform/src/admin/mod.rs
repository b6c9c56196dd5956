//! What platform operators do: list every workspace, suspend or restore one, change its
//! plan. Operators see workspace metadata only, never content.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use nexus_identity::extract::SystemAdmin;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::db::Scope;
use nexus_kernel::entities::workspace;
use nexus_kernel::json::ApiJson;
use nexus_kernel::modules::Plan;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::query::ApiQuery;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_all_workspaces))
        .routes(routes!(update_workspace_as_admin))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminWorkspaceView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub plan: Plan,
    pub suspended: bool,
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
}

impl From<workspace::Model> for AdminWorkspaceView {
    fn from(w: workspace::Model) -> Self {
        Self {
            id: w.id,
            name: w.name,
            slug: w.slug,
            plan: Plan::from_db(&w.plan),
            suspended: w.suspended_at.is_some(),
            deleted: w.deleted_at.is_some(),
            created_at: w.created_at,
        }
    }
}

/// Every workspace of the installation (operators only).
#[utoipa::path(get, path = "/admin/workspaces", tag = "admin", params(PageParams),
    responses((status = 200, body = List<AdminWorkspaceView>), (status = 403, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all)]
pub async fn list_all_workspaces(
    State(state): State<AppState>,
    _admin: SystemAdmin,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<List<AdminWorkspaceView>>> {
    let page = params.parse()?;
    let mut q = workspace::Entity::find();
    if let Some(after) = page.after {
        q = q.filter(workspace::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(workspace::Column::Id)
        .limit(page.limit + 1)
        .all(state.db.conn())
        .await?;
    let items = rows.into_iter().map(AdminWorkspaceView::from).collect();
    Ok(axum::Json(List::from_rows(
        items,
        page.limit,
        |w: &AdminWorkspaceView| w.id,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminUpdateWorkspaceRequest {
    /// Suspend (true) or restore (false). A suspended workspace answers 403
    /// `workspace_suspended` to its members and keys.
    pub suspended: Option<bool>,
    pub plan: Option<Plan>,
}

/// Suspend or restore a workspace, or change its plan (operators only).
#[utoipa::path(patch, path = "/admin/workspaces/{workspace_id}", tag = "admin",
    params(("workspace_id" = Uuid, Path)), request_body = AdminUpdateWorkspaceRequest,
    responses((status = 200, body = AdminWorkspaceView), (status = 403, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all)]
pub async fn update_workspace_as_admin(
    State(state): State<AppState>,
    SystemAdmin(admin): SystemAdmin,
    Path(workspace_id): Path<Uuid>,
    ApiJson(body): ApiJson<AdminUpdateWorkspaceRequest>,
) -> ApiResult<axum::Json<AdminWorkspaceView>> {
    let tx = state
        .db
        .tenant(
            Scope {
                workspace_id,
                user_id: Some(admin.user.id),
            },
            true,
        )
        .await?;
    let ws = workspace::Entity::find_by_id(workspace_id)
        .one(&tx)
        .await?
        .filter(|w| w.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    let actor = admin.actor();
    let mut update =
        workspace::Entity::update_many().filter(workspace::Column::Id.eq(workspace_id));
    let mut changed = false;
    if let Some(suspend) = body.suspended
        && suspend != ws.suspended_at.is_some()
    {
        let at = if suspend { Some(Utc::now()) } else { None };
        update = update.col_expr(workspace::Column::SuspendedAt, Expr::value(at));
        let action = if suspend {
            "workspace.suspended"
        } else {
            "workspace.unsuspended"
        };
        audit::record_as(
            &tx,
            workspace_id,
            &actor,
            &admin.meta,
            Event::new(action, "workspace", workspace_id),
        )
        .await?;
        changed = true;
    }
    if let Some(plan) = body.plan
        && plan.as_str() != ws.plan
    {
        update = update.col_expr(workspace::Column::Plan, Expr::value(plan.as_str()));
        audit::record_as(
            &tx,
            workspace_id,
            &actor,
            &admin.meta,
            Event::new("workspace.plan_changed", "workspace", workspace_id)
                .summary(json!({ "from": ws.plan, "to": plan.as_str() })),
        )
        .await?;
        changed = true;
    }
    if changed {
        update
            .col_expr(workspace::Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(&tx)
            .await?;
    }
    let ws = workspace::Entity::find_by_id(workspace_id)
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(axum::Json(AdminWorkspaceView::from(ws)))
}
