use axum::extract::{Path, State};
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::{Permission, Role};
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MemberView, find_member, keep_an_owner};
use crate::entities::{member, user};
use crate::extract::Member;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub role: Role,
}

/// Change a member's role.
#[utoipa::path(patch, path = "/workspaces/{workspace_id}/members/{user_id}", tag = "members",
    params(("workspace_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = UpdateMemberRequest,
    responses(
        (status = 200, body = MemberView),
        (status = 403, description = "Above your own role", body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "Would leave no owner", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_member(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdateMemberRequest>,
) -> ApiResult<axum::Json<MemberView>> {
    let (_, user_id) = path;
    member.require(Permission::ManageMembers)?;
    let (ctx, tx) = member.write(&state).await?;
    let target = find_member(&tx, ctx.workspace_id, user_id).await?;
    let from = Role::from_db(&target.role);
    if body.role > ctx.role || from > ctx.role {
        return Err(ApiError::forbidden(
            "role_above_yours",
            "You can only grant or change roles up to your own.",
        ));
    }
    if body.role != Role::Owner {
        keep_an_owner(&tx, ctx.workspace_id, &target).await?;
    }
    member::Entity::update_many()
        .col_expr(member::Column::Role, Expr::value(body.role.as_str()))
        .filter(member::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(member::Column::UserId.eq(user_id))
        .exec(&tx)
        .await?;
    let u = user::Entity::find_by_id(user_id)
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    if from != body.role {
        audit::record(
            &tx,
            &ctx,
            Event::new("member.role_changed", "user", user_id).summary(
                json!({ "email": u.email, "from": from.as_str(), "to": body.role.as_str() }),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(axum::Json(MemberView {
        user_id,
        email: u.email,
        name: u.name,
        role: body.role,
        joined_at: target.created_at,
    }))
}
