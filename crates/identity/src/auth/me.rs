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

/// The hot-cache kind of a user's workspace list (see [`my_workspaces`]).
pub const MY_WORKSPACES_CACHE: &str = "my_workspaces";

/// The live workspaces a user belongs to, oldest first, after `after` (a workspace id).
///
/// Every page load asks for this list, so the whole of it is cached per user. It is
/// tagged with the user and each of the workspaces: a change inside one of them (a role,
/// a rename, a removal, a deletion) is audited there and so forgets it, and the two ways
/// into a new workspace (creating one, accepting an invitation) mark the user stale.
pub async fn my_workspaces(
    state: &AppState,
    user_id: uuid::Uuid,
    after: Option<uuid::Uuid>,
    limit: u64,
) -> ApiResult<Vec<WorkspaceSummary>> {
    let all = state
        .db
        .cache()
        .get_or_load_tagged(
            MY_WORKSPACES_CACHE,
            user_id.to_string(),
            || load_my_workspaces(state, user_id),
            |all| {
                std::iter::once(user_id)
                    .chain(all.iter().map(|w| w.id))
                    .collect()
            },
        )
        .await?;
    Ok(all
        .iter()
        .filter(|w| after.is_none_or(|a| w.id > a))
        .take(limit as usize)
        .cloned()
        .collect())
}

async fn load_my_workspaces(
    state: &AppState,
    user_id: uuid::Uuid,
) -> ApiResult<Vec<WorkspaceSummary>> {
    let tx = state.db.begin_user(user_id, false).await?;
    let memberships = member::Entity::find()
        .filter(member::Column::UserId.eq(user_id))
        .order_by_asc(member::Column::WorkspaceId)
        .all(&tx)
        .await?;
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
        .collect())
}
