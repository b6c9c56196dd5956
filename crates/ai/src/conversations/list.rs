use nexus_identity::extract::Member;
use nexus_kernel::ApiError;
use nexus_kernel::ApiResult;
use nexus_kernel::pagination::List;
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use serde::Deserialize;
use utoipa::IntoParams;

use super::matches::newest_matches;
use super::{ConversationView, ListCursor, assistant_on, search_visible};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConversationsParams {
    /// Words in the title or in any message. Each result found by a message's text says
    /// which, and shows the text around the words (`matched`).
    pub q: Option<String>,
    /// Show archived conversations instead of current ones.
    pub archived: Option<bool>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Conversations the caller can see: pinned first, then most recently active.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/conversations", tag = "assistant",
    params(("workspace_id" = uuid::Uuid, Path), ListConversationsParams),
    responses((status = 200, body = List<ConversationView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_conversations(
    member: Member,
    ApiQuery(params): ApiQuery<ListConversationsParams>,
) -> ApiResult<axum::Json<List<ConversationView>>> {
    assistant_on(&member).await?;
    member.require(Permission::ReadWorkspace)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    if let Some(q) = &params.q {
        super::check_search(q).map_err(|why| ApiError::field("q", why))?;
    }
    let after = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(ListCursor::parse)
        .transpose()?;
    let mut rows = search_visible(
        member.tx(),
        &member.ctx,
        params.q.as_deref(),
        params.archived.unwrap_or(false),
        after,
        limit + 1,
    )
    .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|c| ListCursor::of(c).encode())
    } else {
        None
    };
    let mut items: Vec<ConversationView> = rows
        .iter()
        .map(|c| ConversationView::new(c, &member.ctx))
        .collect();
    if let Some(text) = params.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let ids: Vec<_> = rows.iter().map(|c| c.id).collect();
        let mut found = newest_matches(member.tx(), &member.ctx, text, &ids).await?;
        for item in &mut items {
            item.matched = found.remove(&item.id);
        }
    }
    Ok(axum::Json(List { items, next_cursor }))
}
