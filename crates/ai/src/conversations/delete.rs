use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{assistant_on, find_writable_locked};
use crate::entities::{conversation, message};

/// Delete a conversation, its messages and their ratings.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/conversations/{conversation_id}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_conversation(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let (ctx, tx) = member.write(&state).await?;
    // Held: a public link made meanwhile would lose its row to the cascade but keep its
    // token among the secrets.
    find_writable_locked(&tx, &ctx, id).await?;
    // Its public link stops working, and the link's token goes from the secrets.
    super::links::remove(&tx, &ctx, id).await?;
    // The answers' ratings go with them (`ai_feedback`'s key cascades).
    message::Entity::delete_many()
        .filter(message::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(message::Column::ConversationId.eq(id))
        .exec(&tx)
        .await?;
    conversation::Entity::delete_many()
        .filter(conversation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(conversation::Column::Id.eq(id))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("conversation.deleted", "conversation", id).content(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
