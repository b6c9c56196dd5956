use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::{Permission, Role};
use nexus_kernel::{ApiError, ApiResult, AppState, token};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{InvitationView, seat_limit_error, seats_used};
use crate::domain::Email;
use crate::entities::{invitation, member, user};
use crate::extract::Member;

pub const VALID_FOR: Duration = Duration::days(7);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    pub email: String,
    /// At most your own role.
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    pub invitation: InvitationView,
    /// Shown once: give it to the invitee (the web app builds a link from it).
    pub token: String,
}

/// Invite someone by email with a role. A new invitation to the same email replaces a
/// pending one.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/invitations", tag = "invitations",
    params(("workspace_id" = Uuid, Path)), request_body = CreateInvitationRequest,
    responses(
        (status = 201, body = CreatedInvitation),
        (status = 409, description = "Already a member, or no seats left", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn create_invitation(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<CreateInvitationRequest>,
) -> ApiResult<(StatusCode, axum::Json<CreatedInvitation>)> {
    member.require(Permission::InviteMembers)?;
    let email = Email::parse("email", &body.email)?;
    if body.role > member.ctx.role {
        return Err(ApiError::forbidden(
            "role_above_yours",
            "You can only invite people with a role up to your own.",
        ));
    }
    let (ctx, tx) = member.write(&state).await?;
    if let Some(u) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&tx)
        .await?
    {
        let already = member::Entity::find()
            .filter(member::Column::WorkspaceId.eq(ctx.workspace_id))
            .filter(member::Column::UserId.eq(u.id))
            .one(&tx)
            .await?;
        if already.is_some() {
            return Err(ApiError::conflict(
                "already_member",
                "This person is already a member.",
            ));
        }
    }
    let now = Utc::now();
    // Replace a pending invitation to the same address rather than stacking them.
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(now))
        .filter(invitation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(&tx)
        .await?;
    let seats = state.settings.plan(ctx.plan).seats;
    if seats_used(&tx, ctx.workspace_id, true).await? >= u64::from(seats) {
        return Err(seat_limit_error(seats));
    }
    let secret = token::random_token();
    let model = invitation::Model {
        workspace_id: ctx.workspace_id,
        id: Uuid::now_v7(),
        email: email.as_str().to_owned(),
        role: body.role.as_str().to_owned(),
        token_digest: token::digest(&secret),
        invited_by: ctx.actor.id().unwrap_or_default(),
        expires_at: now + super::create::VALID_FOR,
        accepted_at: None,
        accepted_by: None,
        revoked_at: None,
        created_at: now,
    };
    invitation::Entity::insert(invitation::ActiveModel {
        workspace_id: Set(model.workspace_id),
        id: Set(model.id),
        email: Set(model.email.clone()),
        role: Set(model.role.clone()),
        token_digest: Set(model.token_digest.clone()),
        invited_by: Set(model.invited_by),
        expires_at: Set(model.expires_at),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("invitation.created", "invitation", model.id)
            .summary(json!({ "email": model.email, "role": model.role })),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedInvitation {
            invitation: InvitationView::from(&model),
            token: secret,
        }),
    ))
}
