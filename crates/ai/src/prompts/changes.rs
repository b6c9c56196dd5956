use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{SubsecRound, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PromptView, check_content, check_room, check_title, find_writable};
use crate::conversations::{Visibility, assistant_on};
use crate::entities::prompt;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePromptRequest {
    pub title: Option<String>,
    pub content: Option<String>,
    /// Only its creator changes who sees a prompt.
    pub visibility: Option<Visibility>,
}

/// Change a prompt's title, text or who sees it.
#[utoipa::path(patch, path = "/workspaces/{workspace_id}/ai/prompts/{prompt_id}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("prompt_id" = Uuid, Path)), request_body = UpdatePromptRequest,
    responses(
        (status = 200, body = PromptView),
        (status = 403, description = "Not its creator or an admin; or its visibility changed by someone other than its creator", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_prompt(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdatePromptRequest>,
) -> ApiResult<axum::Json<PromptView>> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let title = body.title.as_deref().map(check_title).transpose()?;
    let content = body.content.as_deref().map(check_content).transpose()?;
    let (ctx, tx) = member.write(&state).await?;
    let current = find_writable(&tx, &ctx, id).await?;
    let mut changed = Vec::new();
    let mut row = current.clone().into_active_model();
    if let Some(t) = title.filter(|t| *t != current.title) {
        row.title = Set(t);
        changed.push("title");
    }
    if let Some(c) = content.filter(|c| *c != current.content) {
        row.content = Set(c);
        changed.push("content");
    }
    if let Some(v) = body.visibility.filter(|v| v.as_str() != current.visibility) {
        // An admin who made a member's prompt private would hide it from everyone.
        if Some(current.created_by) != ctx.actor.id() {
            return Err(ApiError::forbidden(
                "not_prompt_creator",
                "Only its creator changes who sees a prompt.",
            ));
        }
        row.visibility = Set(v.as_str().to_owned());
        changed.push("visibility");
    }
    if changed.is_empty() {
        return Ok(axum::Json(PromptView::new(&current, &ctx)));
    }
    // Recorded first: it serialises this workspace's saves for the shared count below.
    audit::record(
        &tx,
        &ctx,
        Event::new("prompt.updated", "prompt", id)
            .summary(json!({ "fields": changed }))
            .content(),
    )
    .await?;
    if body.visibility == Some(Visibility::Workspace) && changed.contains(&"visibility") {
        check_room(&tx, &ctx, None, true).await?;
    }
    row.updated_at = Set(Utc::now().trunc_subsecs(6));
    let updated = row.update(&tx).await?;
    tx.commit().await?;
    Ok(axum::Json(PromptView::new(&updated, &ctx)))
}

/// Delete a prompt.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/ai/prompts/{prompt_id}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("prompt_id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 403, description = "Not its creator or an admin", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_prompt(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let (ctx, tx) = member.write(&state).await?;
    find_writable(&tx, &ctx, id).await?;
    prompt::Entity::delete_many()
        .filter(prompt::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(prompt::Column::Id.eq(id))
        .exec(&tx)
        .await?;
    audit::record(
        &tx,
        &ctx,
        Event::new("prompt.deleted", "prompt", id).content(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
