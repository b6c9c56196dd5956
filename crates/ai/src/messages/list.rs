use axum::Extension;
use axum::extract::{Path, State};
use nexus_identity::extract::Member;
use nexus_kernel::pagination::List;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, AppState};
use std::sync::Arc;
use uuid::Uuid;

use super::{MessageView, feedback, path_to, readable_with_messages, siblings};
use crate::AiService;
use crate::conversations::assistant_on;

/// The conversation's messages along the branch being shown, oldest first, each answer
/// with the caller's rating of it.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    responses((status = 200, body = List<MessageView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_messages(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<List<MessageView>>> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::ReadWorkspace)?;
    // An answer a crash left streaming is shown as what it is: interrupted.
    ai.recovery.recover(&state, member.workspace_id()).await;
    let (c, all) = readable_with_messages(member.tx(), &member.ctx, id).await?;
    let mut ratings = feedback::mine_in(member.tx(), &member.ctx, id).await?;
    let items = path_to(&all, c.head_message_id)
        .into_iter()
        .map(|m| MessageView {
            feedback: ratings.remove(&m.id),
            ..MessageView::new(m, siblings(&all, m))
        })
        .collect();
    Ok(axum::Json(List {
        items,
        next_cursor: None,
    }))
}
