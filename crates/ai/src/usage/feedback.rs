//! The feedback report: how members rated the answers of each model over a period, and
//! what they wrote (`GET …/ai/feedback`), for the admins choosing the workspace's models.

use chrono::{DateTime, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::report::{member_labels, period};
use crate::conversations::can_read;
use crate::entities::{conversation, feedback};
use crate::messages::feedback::Rating;

/// The most comments a report lists, newest first.
pub const MAX_COMMENTS: u64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackParams {
    /// Start (RFC 3339); default: the first day of this month.
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (RFC 3339); default: now.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema, FromQueryResult)]
pub struct ModelFeedback {
    /// None for answers that named no model.
    pub model: Option<String>,
    pub up: i64,
    pub down: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackComment {
    pub message_id: Uuid,
    /// The conversation, when the caller can open it (not someone else's private one).
    pub conversation_id: Option<Uuid>,
    pub model: Option<String>,
    pub rating: Rating,
    pub comment: String,
    /// The member or API key who rated the answer.
    pub rated_by: Uuid,
    /// Their email, or the key's name.
    pub rated_by_label: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Ratings given or changed in the period, by the model that wrote the answer.
    pub models: Vec<ModelFeedback>,
    pub up: i64,
    pub down: i64,
    /// The period's ratings that came with a comment, newest first, at most 100.
    pub comments: Vec<FeedbackComment>,
}

/// How members rated the answers of each model over a period, with their comments.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/feedback", tag = "ai",
    params(("workspace_id" = Uuid, Path), FeedbackParams),
    responses((status = 200, body = FeedbackReport)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_ai_feedback(
    member: Member,
    ApiQuery(params): ApiQuery<FeedbackParams>,
) -> ApiResult<axum::Json<FeedbackReport>> {
    member.require(Permission::ReadAiUsage)?;
    let (from, to) = period(params.from, params.to)?;
    let db = member.tx();
    let workspace_id = member.workspace_id();
    let in_period = || {
        feedback::Entity::find()
            .filter(feedback::Column::WorkspaceId.eq(workspace_id))
            .filter(feedback::Column::UpdatedAt.gte(from))
            .filter(feedback::Column::UpdatedAt.lt(to))
    };
    let count = |rating: Rating| {
        Expr::cust(format!(
            "CAST(SUM(CASE WHEN rating = '{}' THEN 1 ELSE 0 END) AS BIGINT)",
            rating.as_str()
        ))
    };
    let mut models = in_period()
        .select_only()
        .column(feedback::Column::Model)
        .column_as(count(Rating::Up), "up")
        .column_as(count(Rating::Down), "down")
        .group_by(feedback::Column::Model)
        .into_model::<ModelFeedback>()
        .all(db)
        .await?;
    // In Rust, so that both engines agree where the answers without a model go (last).
    models.sort_by(|a, b| (a.model.is_none(), &a.model).cmp(&(b.model.is_none(), &b.model)));
    let rows = in_period()
        .filter(feedback::Column::Comment.is_not_null())
        .order_by_desc(feedback::Column::UpdatedAt)
        .limit(MAX_COMMENTS)
        .all(db)
        .await?;
    let mut raters: Vec<Uuid> = rows.iter().map(|f| f.rated_by).collect();
    raters.sort_unstable();
    raters.dedup();
    let labels = member_labels(db, workspace_id, raters).await?;
    let openable = conversation::Entity::find()
        .filter(conversation::Column::WorkspaceId.eq(workspace_id))
        .filter(conversation::Column::Id.is_in(rows.iter().map(|f| f.conversation_id)))
        .all(db)
        .await?
        .into_iter()
        .filter(|c| can_read(c, &member.ctx))
        .map(|c| c.id)
        .collect::<std::collections::HashSet<_>>();
    let comments = rows
        .into_iter()
        .map(|f| FeedbackComment {
            message_id: f.message_id,
            conversation_id: openable
                .contains(&f.conversation_id)
                .then_some(f.conversation_id),
            model: f.model,
            rating: Rating::parse(&f.rating),
            comment: f.comment.unwrap_or_default(),
            // Members and keys are never deleted, only removed or revoked: an id with
            // no name is kept as it is, as the usage report does.
            rated_by_label: labels
                .get(&f.rated_by)
                .cloned()
                .unwrap_or_else(|| f.rated_by.to_string()),
            rated_by: f.rated_by,
            updated_at: f.updated_at,
        })
        .collect();
    Ok(axum::Json(FeedbackReport {
        from,
        to,
        up: models.iter().map(|m| m.up).sum(),
        down: models.iter().map(|m| m.down).sum(),
        models,
        comments,
    }))
}
