use axum::extract::Path;
use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::roles::Permission;
use uuid::Uuid;

use super::{ConversationView, assistant_on, find_readable};

/// One conversation.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/conversations/{conversation_id}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_conversation(
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ConversationView>> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::ReadWorkspace)?;
    let c = find_readable(member.tx(), &member.ctx, id).await?;
    Ok(axum::Json(ConversationView::new(&c, &member.ctx)))
}
