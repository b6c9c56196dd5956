//! Public links: `GET|PUT|DELETE …/conversations/{cid}/share-link`. A link lets anyone
//! holding it read the conversation's messages as they were when it was made (the branch
//! shown, down to its last message), without signing in (see `crate::shared`); later
//! messages are not in it until the link is moved on (`PUT` again, same address). Whoever
//! may write the conversation manages its link: its creator, and admins in a shared one.
//!
//! The token is a random secret. Its digest finds the link; the token itself is sealed with
//! the workspace's secrets (as providers' API keys are), to be shown again to those who
//! manage the link. A link goes with its conversation, and with the messages it showed.
//! It works only while whoever last made or moved it may still write the conversation
//! (see [`vouched`]): a member removed, made a viewer, or no longer its writer (a shared
//! conversation made private again) takes their links down with them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, SubsecRound, Utc};
use nexus_identity::entities::{api_key, member};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::entities::secret;
use nexus_kernel::pagination::List;
use nexus_kernel::roles::{Permission, Role};
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, ApiResult, AppState, secrets, token};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Visibility, assistant_on, can_write, find_writable, find_writable_locked};
use crate::entities::{ai_settings, conversation, message, share_link};
use crate::messages::{load_all, path_to};

/// The name of the workspace secret that keeps a conversation's link token.
pub fn token_secret_name(conversation_id: Uuid) -> String {
    format!("{TOKEN_SECRET_PREFIX}{conversation_id}")
}

const TOKEN_SECRET_PREFIX: &str = "ai_share_link.";

/// A conversation's public link, as those who manage it see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLinkView {
    /// The secret in the link's address: the web app's `/shared/{token}`, the API's
    /// `GET /api/v1/shared/{token}`.
    pub token: String,
    /// The last message the link shows.
    pub message_id: Uuid,
    /// How many messages the link shows.
    pub message_count: usize,
    pub created_at: DateTime<Utc>,
    /// When the link was last moved on to the conversation's latest message.
    pub updated_at: DateTime<Utc>,
}

/// A conversation that can be read by its public link.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicConversation {
    pub conversation_id: Uuid,
    pub title: String,
    /// When its link was made or last moved on.
    pub shared_at: DateTime<Utc>,
}

/// The most links [`list_share_links`] gives.
const MAX_LISTED: usize = 500;

/// The conversations the caller can read by public link and may manage the links of (their
/// own, and as an admin the workspace's shared ones), newest link first: what they have
/// made public. At most 500 (`next_cursor` is always null).
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/share-links", tag = "assistant",
    params(("workspace_id" = Uuid, Path)),
    responses((status = 200, body = List<PublicConversation>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_share_links(member: Member) -> ApiResult<axum::Json<List<PublicConversation>>> {
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let db = member.tx();
    // All of them, to keep the caller's: another's newer links must not push theirs out.
    let links = share_link::Entity::find()
        .filter(share_link::Column::WorkspaceId.eq(member.workspace_id()))
        .order_by_desc(share_link::Column::UpdatedAt)
        .all(db)
        .await?;
    if links.is_empty() || !allowed(db, member.workspace_id()).await? {
        return Ok(axum::Json(List {
            items: Vec::new(),
            next_cursor: None,
        }));
    }
    let mut conversations: HashMap<Uuid, conversation::Model> = HashMap::new();
    // In chunks: well under either engine's limit on bound values, however many links.
    for chunk in links.chunks(MAX_LISTED) {
        let found = conversation::Entity::find()
            .filter(conversation::Column::WorkspaceId.eq(member.workspace_id()))
            .filter(conversation::Column::Id.is_in(chunk.iter().map(|l| l.conversation_id)))
            .all(db)
            .await?;
        conversations.extend(found.into_iter().map(|c| (c.id, c)));
    }
    // The makers are the workspace's members and keys: few, whatever the links.
    let makers: HashSet<Uuid> = links.iter().map(|l| l.created_by).collect();
    let roles = roles_of(db, member.workspace_id(), makers.into_iter().collect()).await?;
    // A link whose token is gone from the secrets is down (see `token_of`).
    let kept: HashSet<String> = secret::Entity::find()
        .filter(secret::Column::WorkspaceId.eq(member.workspace_id()))
        .filter(secret::Column::Name.starts_with(TOKEN_SECRET_PREFIX))
        .select_only()
        .column(secret::Column::Name)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let items = links
        .iter()
        .filter_map(|l| {
            let c = conversations.get(&l.conversation_id)?;
            let works = kept.contains(&token_secret_name(c.id))
                && may_write(c, l.created_by, roles.get(&l.created_by).copied());
            (works && can_write(c, &member.ctx)).then(|| PublicConversation {
                conversation_id: c.id,
                title: c.title.clone(),
                shared_at: l.updated_at,
            })
        })
        .take(MAX_LISTED)
        .collect();
    Ok(axum::Json(List {
        items,
        next_cursor: None,
    }))
}

/// Whether a conversation has a public link, and the link.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLinkState {
    pub link: Option<ShareLinkView>,
    /// Whether the workspace's admins allow public links (when not, there is none).
    pub allowed: bool,
}

/// The conversation's public link, if it has one.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/share-link", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    responses(
        (status = 200, body = ShareLinkState),
        (status = 403, description = "Only those who may change the conversation manage its link", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_share_link(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ShareLinkState>> {
    let (_, conversation_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let conv = find_writable(member.tx(), &member.ctx, conversation_id).await?;
    let allowed = allowed(member.tx(), member.workspace_id()).await?;
    let none = ShareLinkState {
        link: None,
        allowed,
    };
    let Some(row) = find(member.tx(), &member.ctx, conversation_id).await? else {
        return Ok(axum::Json(none));
    };
    if !vouched(member.tx(), &conv, row.created_by).await? {
        return Ok(axum::Json(none));
    }
    let Some(token) = token_of(member.tx(), &state, &row).await? else {
        return Ok(axum::Json(none));
    };
    let all = load_all(member.tx(), member.workspace_id(), conversation_id).await?;
    Ok(axum::Json(ShareLinkState {
        link: Some(view(&row, token, &all)),
        allowed,
    }))
}

/// Make the conversation's public link, or move it on to the conversation's latest
/// message (the same address).
#[utoipa::path(put, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/share-link", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    responses(
        (status = 200, body = ShareLinkView),
        (status = 403, description = "Not the conversation's to change (`forbidden`), or the workspace's admins have switched public links off (`public_links_disabled`)", body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "`nothing_to_share` (no messages yet) or `answer_streaming` (the last answer is still being written)", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn put_share_link(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<axum::Json<ShareLinkView>> {
    let (_, conversation_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let (ctx, tx) = member.write(&state).await?;
    // Held until the commit: another PUT, a DELETE, a message deleted or the conversation
    // deleted meanwhile waits for this one, and sees its link.
    let conv = find_writable_locked(&tx, &ctx, conversation_id).await?;
    // Held too, where there are settings: switching links off waits, then takes this one
    // down with the rest.
    if !allowed_locked(&tx, ctx.workspace_id).await? {
        return Err(ApiError::forbidden(
            "public_links_disabled",
            "This workspace's admins have switched public links off (Settings → AI).",
        ));
    }
    let all = load_all(&tx, ctx.workspace_id, conversation_id).await?;
    let head = conv
        .head_message_id
        .and_then(|id| all.iter().find(|m| m.id == id))
        .ok_or_else(|| {
            ApiError::conflict(
                "nothing_to_share",
                "This conversation has no messages yet: share it once it has.",
            )
        })?;
    if head.status == "streaming" {
        return Err(ApiError::conflict(
            "answer_streaming",
            "The last answer is still being written: share the conversation once it ends.",
        ));
    }
    let created_by = ctx
        .actor
        .id()
        .ok_or_else(|| ApiError::forbidden("forbidden", "Only members and API keys share."))?;
    let existing = find(&tx, &ctx, conversation_id).await?;
    let now = Utc::now().trunc_subsecs(6);
    let secret_name = token_secret_name(conversation_id);
    // The address stays while the link works: its token is still the secret's, and whoever
    // made it still vouches for it (else the link was down, and comes back at a new one).
    let kept = match &existing {
        Some(row) if vouched(&tx, &conv, row.created_by).await? => {
            token_of(&tx, &state, row).await?
        }
        _ => None,
    };
    let renewed = kept.is_none();
    let (token, created_at) = match (kept, &existing) {
        (Some(token), Some(row)) => (token, row.created_at),
        // New, or down (its token gone from the secrets, or no longer vouched for): a new
        // address, a new link.
        _ => {
            let token = token::random_token();
            secrets::put(
                &tx,
                &state.keyring,
                ctx.workspace_id,
                &secret_name,
                &token,
                created_by,
            )
            .await?;
            (token, now)
        }
    };
    let row = share_link::Model {
        workspace_id: ctx.workspace_id,
        conversation_id,
        message_id: head.id,
        token_digest: token::digest(&token),
        // Whoever moves a link on vouches for it from then on.
        created_by,
        created_at,
        updated_at: now,
    };
    share_link::Entity::insert(share_link::ActiveModel {
        workspace_id: Set(row.workspace_id),
        conversation_id: Set(row.conversation_id),
        message_id: Set(row.message_id),
        token_digest: Set(row.token_digest.clone()),
        created_by: Set(row.created_by),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .on_conflict(
        OnConflict::columns([
            share_link::Column::WorkspaceId,
            share_link::Column::ConversationId,
        ])
        .update_columns([
            share_link::Column::MessageId,
            share_link::Column::TokenDigest,
            share_link::Column::CreatedBy,
            share_link::Column::CreatedAt,
            share_link::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(&tx)
    .await?;
    let shown = view(&row, token, &all);
    // A new address is a new link, also where a link was there but down.
    let action = if renewed {
        "conversation.link_created"
    } else {
        "conversation.link_updated"
    };
    audit::record(
        &tx,
        &ctx,
        Event::new(action, "conversation", conversation_id)
            .summary(json!({ "messages": shown.message_count }))
            .content(),
    )
    .await?;
    tx.commit().await?;
    Ok(axum::Json(shown))
}

/// Take the conversation's public link down (204 whether or not it had one): its address
/// stops working at once.
#[utoipa::path(delete, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/share-link", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)),
    responses(
        (status = 204),
        (status = 403, body = nexus_kernel::error::ErrorEnvelope),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn delete_share_link(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, conversation_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    let (ctx, tx) = member.write(&state).await?;
    find_writable_locked(&tx, &ctx, conversation_id).await?;
    if remove(&tx, &ctx, conversation_id).await? {
        audit::record(
            &tx,
            &ctx,
            Event::new("conversation.link_deleted", "conversation", conversation_id).content(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether the workspace allows public links (its AI settings; allowed if it has none).
pub async fn allowed(db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<bool, ApiError> {
    Ok(ai_settings::Entity::find_by_id(workspace_id)
        .one(db)
        .await?
        .is_none_or(|s| s.public_links))
}

/// [`allowed`], holding the settings' row (`FOR SHARE`) until the transaction ends.
async fn allowed_locked(db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<bool, ApiError> {
    Ok(ai_settings::Entity::find_by_id(workspace_id)
        .lock_shared()
        .one(db)
        .await?
        .is_none_or(|s| s.public_links))
}

/// Whether `who` (the member or API key that last made or moved a link) may still write
/// `conv`, as [`super::Visibility::writable`] says for them now.
pub async fn vouched(
    db: &impl ConnectionTrait,
    conv: &conversation::Model,
    who: Uuid,
) -> Result<bool, ApiError> {
    let roles = roles_of(db, conv.workspace_id, vec![who]).await?;
    Ok(may_write(conv, who, roles.get(&who).copied()))
}

/// Whether someone of `role` (none: no longer a member, or a key revoked or expired) may
/// write `conv`.
fn may_write(conv: &conversation::Model, who: Uuid, role: Option<Role>) -> bool {
    role.is_some_and(|role| {
        role >= Role::Member
            && (conv.created_by == who
                || (conv.visibility == Visibility::Workspace.as_str() && role >= Role::Admin))
    })
}

/// The workspace roles of members and live API keys among `ids`, in two reads.
async fn roles_of(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Role>, ApiError> {
    let mut roles: HashMap<Uuid, Role> = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::UserId.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.user_id, Role::from_db(&m.role)))
        .collect();
    let keys: Vec<Uuid> = ids
        .into_iter()
        .filter(|id| !roles.contains_key(id))
        .collect();
    if !keys.is_empty() {
        let now = Utc::now();
        for k in api_key::Entity::find()
            .filter(api_key::Column::WorkspaceId.eq(workspace_id))
            .filter(api_key::Column::Id.is_in(keys))
            .all(db)
            .await?
        {
            if k.revoked_at.is_none() && k.expires_at.is_none_or(|at| at > now) {
                roles.insert(k.id, Role::from_db(&k.role));
            }
        }
    }
    Ok(roles)
}

/// Take down every link of the workspace, with their tokens (public links switched off);
/// how many there were.
pub async fn remove_all(db: &impl ConnectionTrait, ctx: &TenantCtx) -> Result<usize, ApiError> {
    let linked: Vec<Uuid> = share_link::Entity::find()
        .filter(share_link::Column::WorkspaceId.eq(ctx.workspace_id))
        .select_only()
        .column(share_link::Column::ConversationId)
        .into_tuple()
        .all(db)
        .await?;
    for &conversation_id in &linked {
        remove(db, ctx, conversation_id).await?;
    }
    Ok(linked.len())
}

/// Take down the conversation's link and its token, if it has one; whether it had.
pub async fn remove(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    conversation_id: Uuid,
) -> Result<bool, ApiError> {
    let removed = share_link::Entity::delete_many()
        .filter(share_link::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(share_link::Column::ConversationId.eq(conversation_id))
        .exec(db)
        .await?;
    secrets::delete(db, ctx.workspace_id, &token_secret_name(conversation_id)).await?;
    Ok(removed.rows_affected > 0)
}

/// The link's token, as the workspace's secrets keep it; none if the secret is gone or no
/// longer holds the link's token (changed through the secrets API): the link is down.
pub async fn token_of(
    db: &impl ConnectionTrait,
    state: &AppState,
    row: &share_link::Model,
) -> Result<Option<String>, ApiError> {
    let name = token_secret_name(row.conversation_id);
    let Some(secret) = secrets::read(db, &state.keyring, row.workspace_id, &name).await? else {
        return Ok(None);
    };
    let token = secret.expose_secret();
    Ok(token::constant_time_eq(&token::digest(token), &row.token_digest).then(|| token.to_owned()))
}

pub async fn find(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    conversation_id: Uuid,
) -> Result<Option<share_link::Model>, ApiError> {
    Ok(share_link::Entity::find()
        .filter(share_link::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(share_link::Column::ConversationId.eq(conversation_id))
        .one(db)
        .await?)
}

fn view(row: &share_link::Model, token: String, all: &[message::Model]) -> ShareLinkView {
    ShareLinkView {
        token,
        message_id: row.message_id,
        message_count: path_to(all, Some(row.message_id)).len(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
