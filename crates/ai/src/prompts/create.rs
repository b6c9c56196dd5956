use axum::extract::State;
use axum::http::StatusCode;
use chrono::{SubsecRound, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PromptView, check_content, check_room, check_title};
use crate::conversations::{Visibility, assistant_on};
use crate::entities::prompt;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromptRequest {
    /// At most 120 characters.
    pub title: String,
    /// At most 20,000 characters, kept as written.
    pub content: String,
    /// Default `private`.
    pub visibility: Option<Visibility>,
}

/// Save a prompt.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/ai/prompts", tag = "assistant",
    params(("workspace_id" = Uuid, Path)), request_body = CreatePromptRequest,
    responses(
        (status = 201, body = PromptView),
        (status = 409, description = "`too_many_prompts` (500 of one's own at most) or `too_many_shared_prompts` (500 shared in a workspace)", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn create_prompt(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<CreatePromptRequest>,
) -> ApiResult<(StatusCode, axum::Json<PromptView>)> {
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let title = check_title(&body.title)?;
    let content = check_content(&body.content)?;
    let visibility = body.visibility.unwrap_or(Visibility::Private);
    let (ctx, tx) = member.write(&state).await?;
    let created_by = ctx.actor.id().ok_or_else(|| {
        ApiError::forbidden("forbidden", "Only members and API keys save prompts.")
    })?;
    let now = Utc::now().trunc_subsecs(6);
    let row = prompt::Model {
        workspace_id: ctx.workspace_id,
        id: Uuid::now_v7(),
        created_by,
        title,
        content,
        visibility: visibility.as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    // That a prompt exists and who sees it; its title and text can be private. Recorded
    // first: it serialises this workspace's saves for the limits' counts (`check_room`).
    audit::record(
        &tx,
        &ctx,
        Event::new("prompt.created", "prompt", row.id)
            .summary(json!({ "visibility": row.visibility }))
            .content(),
    )
    .await?;
    check_room(
        &tx,
        &ctx,
        Some(created_by),
        visibility == Visibility::Workspace,
    )
    .await?;
    prompt::Entity::insert(prompt::ActiveModel {
        workspace_id: Set(row.workspace_id),
        id: Set(row.id),
        created_by: Set(row.created_by),
        title: Set(row.title.clone()),
        content: Set(row.content.clone()),
        visibility: Set(row.visibility.clone()),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .exec_without_returning(&tx)
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(PromptView::new(&row, &ctx))))
}
