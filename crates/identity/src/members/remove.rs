use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::{Permission, Role};
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::{find_member, keep_an_owner};
use crate::entities::member;
use crate::extract::Member;

/// Remove a member, or leave (when `user_id` is yourself).
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/members/{user_id}", tag = "members",
    params(("workspace_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 409, description = "Would leave no owner", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn remove_member(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, user_id) = path;
    let leaving = member.ctx.actor.user_id() == Some(user_id);
    if !leaving {
        member.require(Permission::ManageMembers)?;
    }
    let (ctx, tx) = member.write(&state).await?;
    let target = find_member(&tx, ctx.workspace_id, user_id).await?;
    if !leaving && Role::from_db(&target.role) > ctx.role {
        return Err(ApiError::forbidden(
            "role_above_yours",
            "You cannot remove someone whose role is above yours.",
        ));
    }
    keep_an_owner(&tx, ctx.workspace_id, &target).await?;
    member::Entity::delete_many()
        .filter(member::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(member::Column::UserId.eq(user_id))
        .exec(&tx)
        .await?;
    let action = if leaving {
        "member.left"
    } else {
        "member.removed"
    };
    audit::record(
        &tx,
        &ctx,
        Event::new(action, "user", user_id).summary(json!({ "role": target.role })),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
