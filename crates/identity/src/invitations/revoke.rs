use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::{InvitationStatus, status_of};
use crate::entities::invitation;
use crate::extract::Member;

/// Revoke a pending invitation.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/invitations/{invitation_id}", tag = "invitations",
    params(("workspace_id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 204), (status = 409, description = "Already accepted", body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, id) = path;
    member.require(Permission::InviteMembers)?;
    let (ctx, tx) = member.write(&state).await?;
    let inv = invitation::Entity::find()
        .filter(invitation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(invitation::Column::Id.eq(id))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    match status_of(&inv) {
        InvitationStatus::Accepted => {
            return Err(ApiError::conflict(
                "invitation_used",
                "This invitation was already accepted.",
            ));
        }
        InvitationStatus::Revoked => return Ok(StatusCode::NO_CONTENT),
        _ => {}
    }
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(invitation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(invitation::Column::Id.eq(id))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("invitation.revoked", "invitation", id).summary(json!({ "email": inv.email })),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
