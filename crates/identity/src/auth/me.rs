use axum::extract::State;
use nexus_kernel::entities::workspace;
use nexus_kernel::roles::Role;
use nexus_kernel::{ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::entities::member;
use crate::extract::CurrentUser;
use crate::views::{UserView, WorkspaceSummary};

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user: UserView,
    pub csrf_token: String,
    pub workspaces: Vec<WorkspaceSummary>,
}

/// The signed-in user, their CSRF token and their workspaces.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = MeResponse), (status = 401, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all)]
pub async fn get_me(
    State(state): State<AppState>,
    me: CurrentUser,
) -> ApiResult<axum::Json<MeResponse>> {
    let workspaces = my_workspaces(&state, me.user.id, None, 1000).await?;
    Ok(axum::Json(MeResponse {
        user: UserView::new(&me.user, &state.settings),
        csrf_token: me.session.csrf_token,
        workspaces,
    }))
}

/// The live workspaces a user belongs to, oldest first, after `after` (a workspace id).
pub async fn my_workspaces(
    state: &AppState,
    user_id: uuid::Uuid,
    after: Option<uuid::Uuid>,
    limit: u64,
) -> ApiResult<Vec<WorkspaceSummary>> {
    let tx = state.db.begin_user(user_id, false).await?;
    let mut q = member::Entity::find().filter(member::Column::UserId.eq(user_id));
    if let Some(after) = after {
        q = q.filter(member::Column::WorkspaceId.gt(after));
    }
    let memberships = q.order_by_asc(member::Column::WorkspaceId).all(&tx).await?;
    let ids: Vec<_> = memberships.iter().map(|m| m.workspace_id).collect();
    let workspaces = workspace::Entity::find()
        .filter(workspace::Column::Id.is_in(ids))
        .filter(workspace::Column::DeletedAt.is_null())
        .order_by_asc(workspace::Column::Id)
        .all(&tx)
        .await?;
    tx.commit().await?;
    Ok(workspaces
        .into_iter()
        .filter_map(|w| {
            let m = memberships.iter().find(|m| m.workspace_id == w.id)?;
            Some(WorkspaceSummary {
                id: w.id,
                name: w.name,
                slug: w.slug,
                role: Role::from_db(&m.role),
            })
        })
        .take(limit as usize)
        .collect())
}
