//! Reading a conversation by its public link: `GET /shared/{token}`, without signing in
//! (the links themselves: `conversations::links`). It shows the branch the link was made
//! on, down to its last message: each message's words, who wrote it (a person or the
//! model) and when, and the names of the files a question attached. Nothing else leaves: not who wrote the questions, the instructions,
//! the tools the model called and what they found, its thoughts, ratings or ids.
//!
//! A link that is unknown, taken down, no longer vouched for by whoever made it, or whose
//! workspace is gone, suspended, has the assistant or public links switched off answers
//! 404, the same for all: a stranger learns nothing about
//! why. Reads are limited per address, as sign-ins are, against guessing (a token is 32
//! random bytes: guessing is hopeless anyway) and scraping.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Utc};
use nexus_kernel::db::Scope;
use nexus_kernel::entities::workspace;
use nexus_kernel::modules::{Module, require_module};
use nexus_kernel::request::RequestMeta;
use nexus_kernel::{ApiError, ApiResult, AppState, token};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::attachments::{self, AttachmentMeta};
use crate::conversations::links;
use crate::entities::{conversation, share_link};
use crate::messages::{load_all, path_to};

/// Reads of shared conversations per minute from one address.
const READS_PER_MINUTE: u32 = 120;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read_shared))
}

/// A conversation as its public link shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedConversation {
    /// Empty when the conversation has no title yet.
    pub title: String,
    /// When the link was made or last moved on.
    pub shared_at: DateTime<Utc>,
    pub messages: Vec<SharedMessage>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SharedMessage {
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    /// The model that wrote an answer.
    pub model: Option<String>,
    /// `complete`, `interrupted` (ended early) or `error`.
    pub status: String,
    /// What a question attached, by name, type and size: the files themselves are not
    /// shared.
    pub attachments: Vec<AttachmentMeta>,
    pub created_at: DateTime<Utc>,
}

/// Read a conversation shared by a public link (no sign-in).
#[utoipa::path(get, path = "/shared/{token}", tag = "assistant",
    params(("token" = String, Path, description = "The secret in the link")),
    responses(
        (status = 200, body = SharedConversation),
        (status = 404, description = "No such link (or no longer)", body = nexus_kernel::error::ErrorEnvelope),
        (status = 429, body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all)]
pub async fn read_shared(
    State(state): State<AppState>,
    meta: RequestMeta,
    Path(link_token): Path<String>,
) -> ApiResult<(HeaderMap, axum::Json<SharedConversation>)> {
    let ip = meta.ip.as_deref().unwrap_or("unknown");
    state
        .limiter
        .hit(
            &format!("shared:{ip}"),
            READS_PER_MINUTE,
            Duration::from_secs(60),
        )
        .await
        .map_err(|secs| ApiError::RateLimited {
            retry_after_secs: secs,
            code: "rate_limited",
        })?;
    if link_token.is_empty() || link_token.len() > 100 {
        return Err(ApiError::NotFound);
    }
    let digest = token::digest(&link_token);
    let tx = state.db.begin_token_lookup(&digest, false).await?;
    let link = share_link::Entity::find()
        .filter(share_link::Column::TokenDigest.eq(&digest))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.bind_scope(Scope {
        workspace_id: link.workspace_id,
        user_id: None,
    })
    .await?;
    workspace::Entity::find_by_id(link.workspace_id)
        .one(&tx)
        .await?
        .filter(|w| w.deleted_at.is_none() && w.suspended_at.is_none())
        .ok_or(ApiError::NotFound)?;
    require_module(&tx, link.workspace_id, Module::Assistant)
        .await
        .map_err(|_| ApiError::NotFound)?;
    let conv = conversation::Entity::find()
        .filter(conversation::Column::WorkspaceId.eq(link.workspace_id))
        .filter(conversation::Column::Id.eq(link.conversation_id))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Links allowed; the token still the one the workspace keeps for the link; whoever made
    // or moved it still able to write the conversation (see `links`).
    if !links::allowed(&tx, link.workspace_id).await?
        || links::token_of(&tx, &state, &link).await?.is_none()
        || !links::vouched(&tx, &conv, link.created_by).await?
    {
        return Err(ApiError::NotFound);
    }
    let all = load_all(&tx, link.workspace_id, link.conversation_id).await?;
    let messages: Vec<SharedMessage> = path_to(&all, Some(link.message_id))
        .into_iter()
        .map(|m| SharedMessage {
            role: m.role.clone(),
            content: m.content.clone(),
            model: m.model.clone(),
            status: m.status.clone(),
            attachments: attachments::of_message(m),
            created_at: m.created_at,
        })
        .collect();
    if messages.is_empty() {
        return Err(ApiError::NotFound);
    }
    tx.commit().await?;
    let mut headers = HeaderMap::new();
    // Taken down means gone at once, from every cache; and not for search engines.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    Ok((
        headers,
        axum::Json(SharedConversation {
            title: conv.title,
            shared_at: link.updated_at,
            messages,
        }),
    ))
}
