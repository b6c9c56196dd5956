//! Feedback on answers: `PUT|DELETE …/messages/{mid}/feedback`. Anyone who may chat and
//! can read the conversation rates its answers, thumbs up or down with an optional
//! comment; each keeps one rating per answer, which they may change or take back. The
//! messages list shows each reader their own, and admins read them all by model in the
//! feedback report (`usage::feedback`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::db::Tx;
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::{LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::conversations::{assistant_on, find_readable};
use crate::entities::{feedback, message};

/// The longest comment, in characters: room for a paragraph on what went wrong.
pub const MAX_COMMENT_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        if s == "up" { Self::Up } else { Self::Down }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub rating: Rating,
    /// What was good or wrong, for the workspace's admins; at most 2,000 characters.
    /// Empty or absent: none.
    pub comment: Option<String>,
}

/// One person's rating of an answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedbackView {
    pub rating: Rating,
    pub comment: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl FeedbackView {
    fn new(f: &feedback::Model) -> Self {
        Self {
            rating: Rating::parse(&f.rating),
            comment: f.comment.clone(),
            updated_at: f.updated_at,
        }
    }
}

/// Rate an answer, or change your rating of it.
#[utoipa::path(put, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/feedback", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path, description = "An assistant message")),
    request_body = FeedbackRequest,
    responses(
        (status = 200, body = FeedbackView),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "Not an answer to rate yet: `answer_streaming`, or `answer_failed`", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn put_feedback(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> ApiResult<axum::Json<FeedbackView>> {
    let (_, conversation_id, message_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let comment = body
        .comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(ApiError::field(
            "comment",
            format!("must be at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    let (ctx, tx) = member.write(&state).await?;
    let rated_by = rater(&ctx)?;
    let answer = rateable_answer(&tx, &ctx, conversation_id, message_id).await?;
    if answer.status == "streaming" {
        return Err(ApiError::conflict(
            "answer_streaming",
            "This answer is still being written; rate it once it is done.",
        ));
    }
    if answer.status == "error" {
        return Err(ApiError::conflict(
            "answer_failed",
            "This answer failed, so there is nothing to rate; regenerate it instead.",
        ));
    }
    let view = FeedbackView {
        rating: body.rating,
        comment,
        // As stored: PostgreSQL keeps microseconds, and a later read must say the same.
        updated_at: Utc::now().trunc_subsecs(6),
    };
    feedback::Entity::insert(feedback::ActiveModel {
        workspace_id: Set(ctx.workspace_id),
        message_id: Set(message_id),
        rated_by: Set(rated_by),
        conversation_id: Set(conversation_id),
        model: Set(answer.model),
        rating: Set(view.rating.as_str().to_owned()),
        comment: Set(view.comment.clone()),
        created_at: Set(view.updated_at),
        updated_at: Set(view.updated_at),
    })
    .on_conflict(
        OnConflict::columns([
            feedback::Column::WorkspaceId,
            feedback::Column::MessageId,
            feedback::Column::RatedBy,
        ])
        .update_columns([
            feedback::Column::Rating,
            feedback::Column::Comment,
            feedback::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(&tx)
    .await?;
    // What was rated and how, not the comment: the comment is content, and the audit log
    // is read by more people than the feedback report.
    audit::record(
        &tx,
        &ctx,
        Event::new("message.rated", "message", message_id)
            .summary(json!({
                "conversation_id": conversation_id,
                "rating": view.rating,
                "commented": view.comment.is_some(),
            }))
            .content(),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(view))
}

/// Take back your rating of an answer (204 whether or not there was one).
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/feedback", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path, description = "An assistant message")),
    responses((status = 204), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_feedback(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, conversation_id, message_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let (ctx, tx) = member.write(&state).await?;
    let rated_by = rater(&ctx)?;
    rateable_answer(&tx, &ctx, conversation_id, message_id).await?;
    let removed = feedback::Entity::delete_many()
        .filter(feedback::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(feedback::Column::MessageId.eq(message_id))
        .filter(feedback::Column::RatedBy.eq(rated_by))
        .exec(&tx)
        .await?;
    if removed.rows_affected > 0 {
        audit::record(
            &tx,
            &ctx,
            Event::new("message.rating_removed", "message", message_id)
                .summary(json!({ "conversation_id": conversation_id }))
                .content(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who rates: the member or API key calling.
fn rater(ctx: &TenantCtx) -> Result<Uuid, ApiError> {
    ctx.actor
        .id()
        .ok_or_else(|| ApiError::forbidden("forbidden", "Only members and API keys rate answers."))
}

/// An assistant message of a conversation the caller can read, or 404. Its row is locked
/// against deletion until the rating is saved (`FOR KEY SHARE` on PostgreSQL, which the
/// answer's own updates, checkpoints and saves, do not wait for): a conversation deleted
/// meanwhile waits, then takes the rating with it, instead of failing the rating's key
/// check.
async fn rateable_answer(
    tx: &Tx,
    ctx: &TenantCtx,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<message::Model, ApiError> {
    find_readable(tx, ctx, conversation_id).await?;
    message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Id.eq(message_id))
        .filter(message::Column::Role.eq("assistant"))
        .lock(LockType::KeyShare)
        .one(tx)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The caller's ratings in a conversation, by answer.
pub async fn mine_in(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    conversation_id: Uuid,
) -> Result<HashMap<Uuid, FeedbackView>, ApiError> {
    let Some(rated_by) = ctx.actor.id() else {
        return Ok(HashMap::new());
    };
    Ok(feedback::Entity::find()
        .filter(feedback::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(feedback::Column::ConversationId.eq(conversation_id))
        .filter(feedback::Column::RatedBy.eq(rated_by))
        .all(db)
        .await?
        .iter()
        .map(|f| (f.message_id, FeedbackView::new(f)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Rating;

    #[test]
    fn ratings_read_back_as_written() {
        for r in [Rating::Up, Rating::Down] {
            assert_eq!(Rating::parse(r.as_str()), r);
        }
    }
}
