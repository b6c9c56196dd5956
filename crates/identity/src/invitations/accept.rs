use axum::extract::State;
use chrono::Utc;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::db::Scope;
use nexus_kernel::entities::workspace;
use nexus_kernel::json::ApiJson;
use nexus_kernel::modules::Plan;
use nexus_kernel::roles::Role;
use nexus_kernel::{ApiError, ApiResult, AppState, token};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{InvitationStatus, seat_limit_error, seats_used, status_of};
use crate::entities::{invitation, member};
use crate::extract::CurrentUser;
use crate::views::WorkspaceSummary;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
}

/// Accept an invitation as the signed-in user, whose email must be the invited one.
#[utoipa::path(post, path = "/invitations/accept", tag = "invitations", request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Joined", body = WorkspaceSummary),
        (status = 403, description = "Invitation is for another email", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, description = "Unknown token", body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "Used, revoked, expired, already a member, or no seats", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(user_id = %me.user.id))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    me: CurrentUser,
    ApiJson(body): ApiJson<AcceptInvitationRequest>,
) -> ApiResult<axum::Json<WorkspaceSummary>> {
    crate::auth::limit_ip(&state, &me.meta, "accept").await?;
    if body.token.is_empty() || body.token.len() > 200 {
        return Err(ApiError::NotFound);
    }
    let digest = token::digest(&body.token);
    let tx = state.db.begin_token_lookup(&digest, true).await?;
    let inv = invitation::Entity::find()
        .filter(invitation::Column::TokenDigest.eq(&digest))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.bind_scope(Scope {
        workspace_id: inv.workspace_id,
        user_id: Some(me.user.id),
    })
    .await?;
    let ws = workspace::Entity::find_by_id(inv.workspace_id)
        .one(&tx)
        .await?
        .filter(|w| w.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    match status_of(&inv) {
        InvitationStatus::Pending => {}
        InvitationStatus::Accepted => {
            return Err(ApiError::conflict(
                "invitation_used",
                "This invitation was already used.",
            ));
        }
        InvitationStatus::Revoked => {
            return Err(ApiError::conflict(
                "invitation_revoked",
                "This invitation was revoked; ask for a new one.",
            ));
        }
        InvitationStatus::Expired => {
            return Err(ApiError::conflict(
                "invitation_expired",
                "This invitation has expired; ask for a new one.",
            ));
        }
    }
    if inv.email != me.user.email {
        return Err(ApiError::forbidden(
            "invitation_email_mismatch",
            "This invitation is for another email address; sign in as that address to accept it."
                .to_string(),
        ));
    }
    if ws.suspended_at.is_some() {
        return Err(ApiError::forbidden(
            "workspace_suspended",
            "This workspace is suspended.",
        ));
    }
    let already = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(ws.id))
        .filter(member::Column::UserId.eq(me.user.id))
        .one(&tx)
        .await?;
    if already.is_some() {
        return Err(ApiError::conflict(
            "already_member",
            "You are already a member of this workspace.",
        ));
    }
    let seats = state.settings.plan(Plan::from_db(&ws.plan)).seats;
    if seats_used(&tx, ws.id, false).await? >= u64::from(seats) {
        return Err(seat_limit_error(seats));
    }
    let now = Utc::now();
    let role = Role::from_db(&inv.role);
    member::Entity::insert(member::ActiveModel {
        workspace_id: Set(ws.id),
        user_id: Set(me.user.id),
        role: Set(role.as_str().into()),
        created_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    // A new workspace in the user's list (see `auth::me::my_workspaces`).
    tx.mark_stale(me.user.id);
    invitation::Entity::update_many()
        .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
        .col_expr(invitation::Column::AcceptedBy, Expr::value(me.user.id))
        .filter(invitation::Column::WorkspaceId.eq(ws.id))
        .filter(invitation::Column::Id.eq(inv.id))
        .exec(&tx)
        .await?;
    audit::record_as(
        &tx,
        ws.id,
        &me.actor(),
        &me.meta,
        Event::new("invitation.accepted", "invitation", inv.id)
            .summary(json!({ "email": inv.email, "role": role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(WorkspaceSummary {
        id: ws.id,
        name: ws.name,
        slug: ws.slug,
        role,
    }))
}
