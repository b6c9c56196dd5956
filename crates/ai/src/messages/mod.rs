//! Messages: the active branch of a conversation, sending (streamed as Server-Sent Events
//! or answered as JSON), regenerating an answer, and editing a message (a new branch; the
//! old one is kept).

mod checkpoints;
mod delete;
pub mod engine;
mod export;
pub mod feedback;
mod generate;
mod list;
pub mod recovery;
pub mod respond;
mod saves;
mod send;
pub mod stop;
pub mod title;
mod turn;

pub use checkpoints::Checkpoints;
pub use saves::FinalSaves;
pub use turn::{MAX_CONTENT_CHARS, Options, TurnKind, prepare};

use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Utc};
use nexus_kernel::db::Tx;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, AppState};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryTrait, Select,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::attachments::{self, AttachmentMeta};
use crate::conversations;
use crate::entities::{conversation, message};

/// The routes that run a turn, as their matched paths end: answered as one JSON document
/// they last as long as the answer, so the server's request timeout must not cut them
/// (the AI's own timeouts bound them: first token, stream).
pub const TURN_ROUTES: [&str; 3] = [
    "/conversations/{conversation_id}/messages",
    "/conversations/{conversation_id}/messages/{message_id}/regenerate",
    "/conversations/{conversation_id}/messages/{message_id}/edit",
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_messages))
        // A message's body carries its attachments: more than the server's usual limit.
        .merge(
            OpenApiRouter::new()
                .routes(routes!(send::send_message))
                .layer(DefaultBodyLimit::max(attachments::MAX_SEND_BODY))
                .layer(axum::middleware::from_fn(attachments::upload_deadline)),
        )
        .routes(routes!(send::regenerate_message))
        .routes(routes!(send::edit_message))
        .routes(routes!(stop::stop_answer))
        .routes(routes!(delete::delete_message))
        .routes(routes!(export::export_conversation))
        .routes(routes!(feedback::put_feedback, feedback::delete_feedback))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub parent_id: Option<Uuid>,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    /// What a reasoning model thought before answering (its `reasoning` events), so far
    /// while the answer streams; none for other models and for user messages.
    pub reasoning: Option<String>,
    /// `complete`, `streaming` (still being written), `interrupted` (ended early, content
    /// kept) or `error`.
    pub status: String,
    pub model: Option<String>,
    pub provider_id: Option<Uuid>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Of `prompt_tokens`, those the provider read from its prompt cache (billed at a
    /// fraction of the input price).
    pub cached_prompt_tokens: i64,
    pub latency_ms: Option<i64>,
    /// Time to first token.
    pub ttft_ms: Option<i64>,
    /// Answered from the response cache.
    pub cached: bool,
    /// Tools the model called for this answer, with their results.
    #[schema(value_type = Option<Vec<Object>>)]
    pub tool_calls: Option<Value>,
    /// `{code, message}` when the answer failed or was interrupted.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub created_by: Option<Uuid>,
    /// A user message's images and text files, in order (their bytes at
    /// `…/messages/{id}/attachments/{position}`); empty for most messages.
    pub attachments: Vec<AttachmentMeta>,
    /// Other versions of this message (edits or regenerations), oldest first, this one
    /// included.
    pub sibling_ids: Vec<Uuid>,
    /// The caller's own rating of this answer, if they gave one (in the messages list;
    /// absent elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub feedback: Option<feedback::FeedbackView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MessageView {
    pub fn new(m: &message::Model, sibling_ids: Vec<Uuid>) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            parent_id: m.parent_id,
            role: m.role.clone(),
            content: m.content.clone(),
            reasoning: m.reasoning.clone(),
            status: m.status.clone(),
            model: m.model.clone(),
            provider_id: m.provider_id,
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
            cached_prompt_tokens: m.cached_prompt_tokens,
            latency_ms: m.latency_ms,
            ttft_ms: m.ttft_ms,
            cached: m.cached,
            tool_calls: m.tool_calls.clone(),
            error: m.error.clone(),
            created_by: m.created_by,
            attachments: attachments::of_message(m),
            sibling_ids: if sibling_ids.is_empty() {
                vec![m.id]
            } else {
                sibling_ids
            },
            feedback: None,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

pub async fn load_all(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<message::Model>, ApiError> {
    Ok(all_of(workspace_id, conversation_id).all(db).await?)
}

/// Every message of a conversation, oldest first.
fn all_of(workspace_id: Uuid, conversation_id: Uuid) -> Select<message::Entity> {
    message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(workspace_id))
        .filter(message::Column::ConversationId.eq(conversation_id))
        .order_by_asc(message::Column::Id)
}

/// A conversation the caller can read (404 if not, as [`conversations::find_readable`] says it) and all
/// its messages, read together (see [`Tx::read_together`]): one round trip on
/// PostgreSQL where reading them one by one takes four, one trip to a connection's
/// thread on SQLite where it takes two. Every message sent, and every opening of a
/// conversation, starts with these two reads.
pub async fn readable_with_messages(
    tx: &Tx,
    ctx: &TenantCtx,
    conversation_id: Uuid,
) -> Result<(conversation::Model, Vec<message::Model>), ApiError> {
    let backend = tx.get_database_backend();
    let reads = [
        conversations::find(ctx, conversation_id).build(backend),
        all_of(ctx.workspace_id, conversation_id).build(backend),
    ];
    let mut rows = tx.read_together(&reads).await?.into_iter();
    let (Some(conversation_rows), Some(message_rows)) = (rows.next(), rows.next()) else {
        return Err(ApiError::Internal(anyhow::anyhow!("a read went missing")));
    };
    let conversation = conversation_rows
        .first()
        .map(|row| conversation::Model::from_query_result(row, ""))
        .transpose()?;
    let conversation = conversations::readable_or_not_found(conversation, ctx)?;
    let messages = message_rows
        .iter()
        .map(|row| message::Model::from_query_result(row, ""))
        .collect::<Result<_, _>>()?;
    Ok((conversation, messages))
}

/// The messages from the first one down to `leaf`, in order.
pub fn path_to(all: &[message::Model], leaf: Option<Uuid>) -> Vec<&message::Model> {
    let mut path = Vec::new();
    let mut next = leaf;
    while let Some(id) = next {
        let Some(m) = all.iter().find(|m| m.id == id) else {
            break;
        };
        path.push(m);
        next = m.parent_id;
        if path.len() > all.len() {
            break; // a cycle would be a bug; never loop forever on one
        }
    }
    path.reverse();
    path
}

pub fn siblings(all: &[message::Model], m: &message::Model) -> Vec<Uuid> {
    all.iter()
        .filter(|o| o.parent_id == m.parent_id && o.role == m.role)
        .map(|o| o.id)
        .collect()
}

/// The newest leaf under `message_id`: the end of the branch that contains it.
pub async fn branch_leaf(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<Uuid, ApiError> {
    let all = load_all(db, workspace_id, conversation_id).await?;
    if !all.iter().any(|m| m.id == message_id) {
        return Err(ApiError::field(
            "active_message_id",
            "is not a message of this conversation",
        ));
    }
    Ok(leaf_under(&all, message_id))
}

/// The end of the branch through `message_id`, following the newest child at each step.
pub fn leaf_under(all: &[message::Model], message_id: Uuid) -> Uuid {
    let mut current = message_id;
    let mut steps = 0;
    while let Some(child) = all
        .iter()
        .filter(|m| m.parent_id == Some(current))
        .map(|m| m.id)
        .max()
    {
        current = child;
        steps += 1;
        if steps > all.len() {
            break; // a cycle would be a bug; never loop forever on one
        }
    }
    current
}
