//! Deleting a message: `DELETE …/conversations/{cid}/messages/{mid}`. A message goes with
//! everything that followed it in its branch: a question with its answers and the rest of
//! the conversation after them, an answer with what was asked after it. An answer that is
//! its question's only version takes the question with it, so that every question keeps
//! an answer (one to read, regenerate or rate). The conversation then shows the newest
//! remaining version in that place, or ends just above it.
//!
//! What the answers cost stays in the usage ledger: tokens spent are spent.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{SubsecRound, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter};
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

use super::{leaf_under, load_all, siblings};
use crate::conversations::{self, assistant_on, links};
use crate::entities::{conversation, message};

/// Rows deleted per statement: well under SQLite's and PostgreSQL's limits on bound
/// values, whatever the conversation's length.
const DELETE_CHUNK: usize = 500;

/// Delete a message and what followed it in its branch.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted, with the messages after it in its branch (and its question, for an answer that was the only version)"),
        (status = 403, description = "Only the conversation's creator and admins change it", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "`answer_streaming`: an answer among them is still being written", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_message(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, conversation_id, message_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let (ctx, tx) = member.write(&state).await?;
    // The conversation's row is held until the commit: a turn saves its messages after
    // updating that row, so none is added under the messages being deleted between
    // reading and deleting them. A turn that read the conversation before this deletion
    // and saves after it is refused by the `prune_count` its update names (bumped below).
    let conv = conversations::find_writable_locked(&tx, &ctx, conversation_id).await?;
    let all = load_all(&tx, ctx.workspace_id, conversation_id).await?;
    let target = all
        .iter()
        .find(|m| m.id == message_id)
        .ok_or(ApiError::NotFound)?;
    let cut = cut_at(&all, target);
    let doomed = under(&all, cut.id);
    if all
        .iter()
        .any(|m| doomed.contains(&m.id) && m.status == "streaming")
    {
        return Err(ApiError::conflict(
            "answer_streaming",
            "An answer there is still being written; stop it, then delete.",
        ));
    }
    let head = match conv.head_message_id {
        Some(head) if doomed.contains(&head) => head_after(&all, cut),
        kept => kept,
    };

    // A public link showing any of them is taken down: it would show a conversation that
    // is no longer there.
    let link_removed = match links::find(&tx, &ctx, conversation_id).await? {
        Some(link) if doomed.contains(&link.message_id) => {
            links::remove(&tx, &ctx, conversation_id).await?
        }
        _ => false,
    };
    // Their ratings go with them (`ai_feedback`'s key cascades).
    let ids: Vec<Uuid> = doomed.iter().copied().collect();
    for chunk in ids.chunks(DELETE_CHUNK) {
        message::Entity::delete_many()
            .filter(message::Column::WorkspaceId.eq(ctx.workspace_id))
            .filter(message::Column::ConversationId.eq(conversation_id))
            .filter(message::Column::Id.is_in(chunk.iter().copied()))
            .exec(&tx)
            .await?;
    }
    conversation::Entity::update_many()
        .col_expr(conversation::Column::HeadMessageId, Expr::value(head))
        .col_expr(
            conversation::Column::MessageCount,
            Expr::col(conversation::Column::MessageCount).sub(ids.len() as i32),
        )
        // A turn that read the conversation before this must not save under what went.
        .col_expr(
            conversation::Column::PruneCount,
            Expr::col(conversation::Column::PruneCount).add(1),
        )
        .col_expr(
            conversation::Column::UpdatedAt,
            Expr::value(Utc::now().trunc_subsecs(6)),
        )
        .filter(conversation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(conversation::Column::Id.eq(conversation_id))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("message.deleted", "message", cut.id)
            .summary(json!({
                "conversation_id": conversation_id,
                "messages": ids.len(),
                "link_removed": link_removed,
            }))
            .content(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where the branch is cut for deleting `target`: there, or at its question when it is the
/// question's only answer.
fn cut_at<'a>(all: &'a [message::Model], target: &'a message::Model) -> &'a message::Model {
    if target.role == "assistant"
        && siblings(all, target).len() == 1
        && let Some(question) = all.iter().find(|m| Some(m.id) == target.parent_id)
    {
        return question;
    }
    target
}

/// The ids of `root` and every message under it.
fn under(all: &[message::Model], root: Uuid) -> HashSet<Uuid> {
    let mut found = HashSet::from([root]);
    let mut frontier = vec![root];
    while let Some(id) = frontier.pop() {
        for child in all.iter().filter(|m| m.parent_id == Some(id)) {
            if found.insert(child.id) {
                frontier.push(child.id);
            }
        }
    }
    found
}

/// What the conversation shows once the branch at `cut` is gone: the newest other version
/// in its place (to the end of its branch), else the message above it (none: the
/// conversation is empty).
fn head_after(all: &[message::Model], cut: &message::Model) -> Option<Uuid> {
    match siblings(all, cut)
        .into_iter()
        .filter(|&id| id != cut.id)
        .max()
    {
        Some(other) => Some(leaf_under(all, other)),
        None => cut.parent_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn msg(id: u128, parent: Option<u128>, role: &str) -> message::Model {
        message::Model {
            workspace_id: Uuid::nil(),
            id: Uuid::from_u128(id),
            conversation_id: Uuid::nil(),
            parent_id: parent.map(Uuid::from_u128),
            role: role.into(),
            content: String::new(),
            status: "complete".into(),
            model: None,
            provider_id: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            latency_ms: None,
            ttft_ms: None,
            reasoning: None,
            cached_prompt_tokens: 0,
            reserved_tokens: 0,
            reserved_for: None,
            attachments: None,
            cached: false,
            tool_calls: None,
            error: None,
            created_by: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// q1 → a2 → q3 → {a4, a5 (regenerated)} → q6 (under a5) → a7; q8 an edit of q3 → a9.
    fn tree() -> Vec<message::Model> {
        vec![
            msg(1, None, "user"),
            msg(2, Some(1), "assistant"),
            msg(3, Some(2), "user"),
            msg(4, Some(3), "assistant"),
            msg(5, Some(3), "assistant"),
            msg(6, Some(5), "user"),
            msg(7, Some(6), "assistant"),
            msg(8, Some(2), "user"),
            msg(9, Some(8), "assistant"),
        ]
    }

    fn ids(set: &HashSet<Uuid>) -> Vec<u128> {
        let mut v: Vec<u128> = set.iter().map(|u| u.as_u128()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn an_answer_with_other_versions_goes_alone_with_what_followed_it() {
        let all = tree();
        let cut = cut_at(&all, &all[4]);
        assert_eq!(cut.id, Uuid::from_u128(5));
        assert_eq!(ids(&under(&all, cut.id)), [5, 6, 7]);
        assert_eq!(head_after(&all, cut), Some(Uuid::from_u128(4)));
    }

    #[test]
    fn an_only_answer_takes_its_question() {
        let all = tree();
        let cut = cut_at(&all, &all[8]);
        assert_eq!(cut.id, Uuid::from_u128(8), "a9 is q8's only answer");
        assert_eq!(ids(&under(&all, cut.id)), [8, 9]);
        // q3 is the other version: its branch's newest end shows.
        assert_eq!(head_after(&all, cut), Some(Uuid::from_u128(7)));
    }

    #[test]
    fn the_first_question_alone_empties_the_conversation() {
        let all = tree();
        let cut = cut_at(&all, &all[0]);
        assert_eq!(under(&all, cut.id).len(), all.len());
        assert_eq!(head_after(&all, cut), None);
    }

    #[test]
    fn a_question_without_other_versions_ends_the_branch_above_it() {
        let all = tree();
        let cut = cut_at(&all, &all[5]);
        assert_eq!(ids(&under(&all, cut.id)), [6, 7]);
        assert_eq!(head_after(&all, cut), Some(Uuid::from_u128(5)));
    }
}
