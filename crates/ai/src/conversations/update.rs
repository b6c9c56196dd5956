use axum::extract::{Path, State};
use chrono::Utc;
use nexus_identity::domain::parse_name;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::create::MAX_SYSTEM_PROMPT;
use super::{ConversationView, Visibility, assistant_on, find_writable};
use crate::catalog::Catalog;
use crate::messages::branch_leaf;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversationRequest {
    pub title: Option<String>,
    pub pinned: Option<bool>,
    pub archived: Option<bool>,
    pub model: Option<String>,
    pub visibility: Option<Visibility>,
    pub system_prompt: Option<String>,
    /// Show the branch that contains this message (after an edit or a regeneration).
    pub active_message_id: Option<Uuid>,
}

/// Rename, pin, archive, change model, visibility or system prompt, or switch branch.
#[utoipa::path(patch, path = "/workspaces/{workspace_id}/conversations/{conversation_id}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)), request_body = UpdateConversationRequest,
    responses(
        (status = 200, body = ConversationView),
        (status = 403, description = "Visibility changed by someone other than the creator", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "Shared while an answer is being written", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_conversation(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<UpdateConversationRequest>,
) -> ApiResult<axum::Json<ConversationView>> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    if let Some(m) = &body.model {
        let catalog = Catalog::load(member.tx(), &state, member.workspace_id()).await?;
        if !catalog.offers(m) {
            return Err(ApiError::field(
                "model",
                "is not offered by this workspace's AI providers",
            ));
        }
    }
    if body
        .system_prompt
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_SYSTEM_PROMPT)
    {
        return Err(ApiError::field(
            "system_prompt",
            format!("must be at most {MAX_SYSTEM_PROMPT} characters"),
        ));
    }
    let title = body
        .title
        .as_deref()
        .map(|t| parse_name("title", t, 200))
        .transpose()?;
    let (ctx, tx) = member.write(&state).await?;
    // Switching branch holds the row: a message deletion meanwhile waits, so the branch's
    // end is read after it (or the deletion reads the new head).
    let current = if body.active_message_id.is_some() {
        super::find_writable_locked(&tx, &ctx, id).await?
    } else {
        find_writable(&tx, &ctx, id).await?
    };
    let mut changed = Vec::new();
    let mut row = current.clone().into_active_model();
    if let Some(t) = title {
        row.title = Set(t);
        row.title_generated = Set(true);
        changed.push("title");
    }
    if let Some(p) = body.pinned {
        row.pinned = Set(p);
        changed.push("pinned");
    }
    if let Some(a) = body.archived {
        row.archived = Set(a);
        changed.push("archived");
    }
    if let Some(m) = body.model {
        row.model = Set(m);
        changed.push("model");
    }
    if let Some(v) = body.visibility {
        // Who sees a conversation is its creator's call: an admin who made a member's
        // shared conversation private would hide it from everyone, themselves included.
        if v.as_str() != current.visibility && ctx.actor.id() != Some(current.created_by) {
            return Err(ApiError::forbidden(
                "not_conversation_creator",
                "Only the conversation's creator can change who can see it.",
            ));
        }
        if v.as_str() == "workspace" && current.visibility != "workspace" {
            super::sharing::make_shareable(&tx, &ctx, id).await?;
        }
        row.visibility = Set(v.as_str().into());
        changed.push("visibility");
    }
    if let Some(p) = body.system_prompt {
        row.system_prompt = Set(p);
        changed.push("system_prompt");
    }
    if let Some(mid) = body.active_message_id {
        row.head_message_id = Set(Some(branch_leaf(&tx, ctx.workspace_id, id, mid).await?));
        changed.push("branch");
    }
    row.updated_at = Set(Utc::now());
    let updated = row.update(&tx).await?;
    if changed.iter().any(|f| *f != "branch" && *f != "pinned") {
        audit::record(
            &tx,
            &ctx,
            Event::new("conversation.updated", "conversation", id)
                .summary(json!({ "fields": changed }))
                .content(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(axum::Json(ConversationView::new(&updated, &ctx)))
}
