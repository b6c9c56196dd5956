//! Saved prompts: texts members keep to send again (a review checklist, a translation
//! brief), offered by the composer when a message starts with `/`. Who sees and changes
//! one follows the conversations' rule: a `private` prompt is its creator's alone (404 to
//! everyone else); a `workspace` one is offered to every member and changed by its creator
//! and admins; only the creator changes who sees it.

mod changes;
mod create;
mod list;

use chrono::{DateTime, Utc};
use nexus_identity::domain::parse_name;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, AppState};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::conversations::Visibility;
use crate::entities::prompt;

/// The longest title, in characters: a line in the composer's list.
pub const MAX_TITLE_CHARS: usize = 120;
/// The longest text, in characters: as long as a conversation's instructions.
pub const MAX_CONTENT_CHARS: usize = 20_000;
/// The most prompts one person keeps of their own (private or shared), and the most a
/// workspace shares: the composer lists a person's own and the shared ones, all of them,
/// with no paging. Per person, so that nobody's private prompts, which no one else can
/// see or delete, use up anyone else's room.
pub const MAX_OWN_PROMPTS: u64 = 500;
pub const MAX_SHARED_PROMPTS: u64 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_prompts, create::create_prompt))
        .routes(routes!(changes::update_prompt, changes::delete_prompt))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromptView {
    pub id: Uuid,
    pub title: String,
    pub content: String,
    pub visibility: Visibility,
    pub created_by: Uuid,
    /// Whether the caller may change or delete it.
    pub can_write: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PromptView {
    fn new(p: &prompt::Model, ctx: &TenantCtx) -> Self {
        Self {
            id: p.id,
            title: p.title.clone(),
            content: p.content.clone(),
            visibility: Visibility::parse(&p.visibility),
            created_by: p.created_by,
            can_write: can_write(p, ctx),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn can_read(p: &prompt::Model, ctx: &TenantCtx) -> bool {
    Visibility::readable(&p.visibility, p.created_by, ctx)
}

fn can_write(p: &prompt::Model, ctx: &TenantCtx) -> bool {
    Visibility::writable(&p.visibility, p.created_by, ctx)
}

/// A prompt the caller may change, locked until the transaction ends: 404 if they cannot
/// see it, 403 if they can but may not change it.
async fn find_writable(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    id: Uuid,
) -> Result<prompt::Model, ApiError> {
    let p = prompt::Entity::find()
        .filter(prompt::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(prompt::Column::Id.eq(id))
        .lock_exclusive()
        .one(db)
        .await?
        .filter(|p| can_read(p, ctx))
        .ok_or(ApiError::NotFound)?;
    if !can_write(&p, ctx) {
        return Err(ApiError::forbidden(
            "forbidden",
            "Only its creator and admins can change this prompt.",
        ));
    }
    Ok(p)
}

/// A title, trimmed, within its limits.
fn check_title(raw: &str) -> Result<String, ApiError> {
    parse_name("title", raw, MAX_TITLE_CHARS)
}

/// A prompt's text: kept as written (its lines and spaces are the point), but not blank
/// and within its limit.
fn check_content(raw: &str) -> Result<String, ApiError> {
    if raw.trim().is_empty() {
        return Err(ApiError::field("content", "must not be empty"));
    }
    if raw.chars().count() > MAX_CONTENT_CHARS {
        return Err(ApiError::field(
            "content",
            format!("must be at most {MAX_CONTENT_CHARS} characters"),
        ));
    }
    Ok(raw.to_owned())
}

/// Refuse a prompt the limits leave no room for: `owner`'s own, and (`shared`) the
/// workspace's shared ones. Callers record their audit event first: that locks the
/// workspace's audit chain until commit, so concurrent saves count each other's prompts.
async fn check_room(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    owner: Option<Uuid>,
    shared: bool,
) -> Result<(), ApiError> {
    let in_workspace =
        || prompt::Entity::find().filter(prompt::Column::WorkspaceId.eq(ctx.workspace_id));
    if let Some(owner) = owner {
        let own = in_workspace()
            .filter(prompt::Column::CreatedBy.eq(owner))
            .count(db)
            .await?;
        if own >= MAX_OWN_PROMPTS {
            return Err(ApiError::conflict(
                "too_many_prompts",
                format!("You keep {MAX_OWN_PROMPTS} prompts at most; delete some to save more."),
            ));
        }
    }
    if shared {
        let count = in_workspace()
            .filter(prompt::Column::Visibility.eq(Visibility::Workspace.as_str()))
            .count(db)
            .await?;
        if count >= MAX_SHARED_PROMPTS {
            return Err(ApiError::conflict(
                "too_many_shared_prompts",
                format!(
                    "This workspace shares {MAX_SHARED_PROMPTS} prompts at most; delete some shared ones first."
                ),
            ));
        }
    }
    Ok(())
}
