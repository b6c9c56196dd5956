use nexus_identity::extract::Member;
use nexus_kernel::ApiResult;
use nexus_kernel::pagination::List;
use nexus_kernel::roles::Permission;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::{PromptView, can_read};
use crate::conversations::{Visibility, assistant_on};
use crate::entities::prompt;

/// The prompts the caller may use: their own and the workspace's, by title. All of them
/// (a workspace keeps 500 at most), so `next_cursor` is always null.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/prompts", tag = "assistant",
    params(("workspace_id" = Uuid, Path)),
    responses((status = 200, body = List<PromptView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_prompts(member: Member) -> ApiResult<axum::Json<List<PromptView>>> {
    assistant_on(&member).await?;
    member.require(Permission::ReadWorkspace)?;
    let ctx = &member.ctx;
    let mut visible =
        Condition::any().add(prompt::Column::Visibility.eq(Visibility::Workspace.as_str()));
    if let Some(me) = ctx.actor.id() {
        visible = visible.add(prompt::Column::CreatedBy.eq(me));
    }
    let mut rows: Vec<prompt::Model> = prompt::Entity::find()
        .filter(prompt::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(visible)
        .all(member.tx())
        .await?
        .into_iter()
        .filter(|p| can_read(p, ctx))
        .collect();
    // In Rust: the engines' collations order titles differently.
    rows.sort_by_cached_key(|p| (p.title.to_lowercase(), p.id));
    Ok(axum::Json(List {
        items: rows.iter().map(|p| PromptView::new(p, ctx)).collect(),
        next_cursor: None,
    }))
}
