use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nexus_identity::domain::parse_name;
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::db::Tx;
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Permission;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ConversationView, Visibility, assistant_on};
use crate::catalog::Catalog;
use crate::entities::conversation;

pub const MAX_SYSTEM_PROMPT: usize = 20_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationRequest {
    /// Optional; generated after the first exchange when empty.
    pub title: Option<String>,
    /// Default: the workspace's default model.
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    /// Default `private`.
    pub visibility: Option<Visibility>,
}

/// Start a conversation.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/conversations", tag = "assistant",
    params(("workspace_id" = Uuid, Path)), request_body = CreateConversationRequest,
    responses(
        (status = 201, body = ConversationView),
        (status = 403, description = "Assistant switched off", body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "No AI provider configured", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn create_conversation(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<CreateConversationRequest>,
) -> ApiResult<(StatusCode, axum::Json<ConversationView>)> {
    let new = NewConversation::check(
        &state,
        &member,
        Settings {
            title: body.title,
            model: body.model,
            system_prompt: body.system_prompt,
            visibility: body.visibility,
        },
        UnofferedModel::Refuse,
    )
    .await?;
    let (ctx, tx) = member.write(&state).await?;
    let model_row = new.row(&ctx, Utc::now());
    insert(&tx, &model_row).await?;
    // The title can be private; the log records that a conversation exists, not its content.
    audit::record(
        &tx,
        &ctx,
        Event::new("conversation.created", "conversation", model_row.id)
            .summary(json!({ "visibility": model_row.visibility, "model": model_row.model }))
            .content(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ConversationView::new(&model_row, &ctx)),
    ))
}

/// What a new conversation is asked to start with (created, or imported).
pub(super) struct Settings {
    pub title: Option<String>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub visibility: Option<Visibility>,
}

/// What to do with a model the workspace does not offer.
pub(super) enum UnofferedModel {
    /// Say so (someone chose it here).
    Refuse,
    /// Answer with the workspace's default instead (it came from somewhere else).
    UseDefault,
}

/// A new conversation's settings, checked: the title and instructions within their
/// limits, the assistant on and usable by the member, and a model the workspace offers.
pub(super) struct NewConversation {
    title: String,
    model: String,
    system_prompt: String,
    visibility: Visibility,
}

impl NewConversation {
    pub(super) async fn check(
        state: &AppState,
        member: &Member,
        asked: Settings,
        unoffered: UnofferedModel,
    ) -> Result<Self, ApiError> {
        assistant_on(member).await?;
        member.require(Permission::UseAssistant)?;
        let title = match asked
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => parse_name("title", t, 200)?,
            None => String::new(),
        };
        let system_prompt = asked.system_prompt.unwrap_or_default();
        if system_prompt.chars().count() > MAX_SYSTEM_PROMPT {
            return Err(ApiError::field(
                "system_prompt",
                format!("must be at most {MAX_SYSTEM_PROMPT} characters"),
            ));
        }
        let catalog = Catalog::load(member.tx(), state, member.workspace_id()).await?;
        if !catalog.is_configured() {
            return Err(Catalog::not_configured());
        }
        let model = match (asked.model, unoffered) {
            (Some(m), _) if catalog.offers(&m) => m,
            (Some(_), UnofferedModel::Refuse) => {
                return Err(ApiError::field(
                    "model",
                    "is not offered by this workspace's AI providers",
                ));
            }
            _ => catalog
                .default_model()
                .ok_or_else(Catalog::not_configured)?,
        };
        Ok(Self {
            title,
            model,
            system_prompt,
            visibility: asked.visibility.unwrap_or(Visibility::Private),
        })
    }

    /// The conversation's row, empty, as `ctx`'s actor's.
    pub(super) fn row(self, ctx: &TenantCtx, now: DateTime<Utc>) -> conversation::Model {
        conversation::Model {
            workspace_id: ctx.workspace_id,
            id: Uuid::now_v7(),
            created_by: ctx.actor.id().unwrap_or_default(),
            title_generated: !self.title.is_empty(),
            title: self.title,
            model: self.model,
            system_prompt: self.system_prompt,
            visibility: self.visibility.as_str().into(),
            pinned: false,
            archived: false,
            head_message_id: None,
            message_count: 0,
            tokens_used: 0,
            created_at: now,
            updated_at: now,
            prune_count: 0,
        }
    }
}

/// Insert `c` as it is.
pub(super) async fn insert(tx: &Tx, c: &conversation::Model) -> Result<(), ApiError> {
    conversation::Entity::insert(conversation::ActiveModel {
        workspace_id: Set(c.workspace_id),
        id: Set(c.id),
        created_by: Set(c.created_by),
        title: Set(c.title.clone()),
        title_generated: Set(c.title_generated),
        model: Set(c.model.clone()),
        system_prompt: Set(c.system_prompt.clone()),
        visibility: Set(c.visibility.clone()),
        pinned: Set(c.pinned),
        archived: Set(c.archived),
        head_message_id: Set(c.head_message_id),
        message_count: Set(c.message_count),
        tokens_used: Set(c.tokens_used),
        created_at: Set(c.created_at),
        updated_at: Set(c.updated_at),
        prune_count: Set(c.prune_count),
    })
    .exec_without_returning(tx)
    .await?;
    Ok(())
}
