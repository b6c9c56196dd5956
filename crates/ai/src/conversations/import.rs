//! A conversation brought in from a file: what `…/export?format=json` writes, from this
//! workspace, another one or another Nexus. Every message of every branch comes in under
//! new ids, as the importing member's; nothing is sent to a model and nothing is charged.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::json::ApiJson;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use super::create::{NewConversation, Settings, UnofferedModel, insert};
use super::{ConversationView, Visibility};
use crate::attachments::{AttachmentMeta, MAX_ATTACHMENTS};
use crate::entities::{conversation, message};
use crate::messages::MAX_CONTENT_CHARS;

/// Messages one import may bring (every branch counted).
pub const MAX_IMPORTED_MESSAGES: usize = 5_000;
/// Rows per INSERT: SQLite binds at most 32,766 values in one statement.
const INSERT_CHUNK: usize = 500;

/// An exported conversation (`…/export?format=json`). Fields the export has and this
/// does not name (counts, usage, who may write) are ignored: they describe the
/// conversation where it came from.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportConversationRequest {
    pub conversation: ImportedConversation,
    /// Oldest first: a message's parent comes before it.
    pub messages: Vec<ImportedMessage>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportedConversation {
    pub title: Option<String>,
    /// Kept if this workspace offers it; otherwise its default model answers from now on.
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    /// Default `private`.
    pub visibility: Option<Visibility>,
    /// The branch to show; default the last message.
    pub head_message_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportedMessage {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    /// What a question attached, as exported: the files themselves are not in an export,
    /// so they are not imported; a question of files alone is imported as their names.
    #[serde(default)]
    pub attachments: Vec<AttachmentMeta>,
    /// `complete` (the default), `interrupted` or `error`; `streaming` comes in as
    /// `interrupted`.
    pub status: Option<String>,
    pub model: Option<String>,
    pub reasoning: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub tool_calls: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A message's words as imported: a question that had only files says which, so that a
/// model reading the history later sees a question, not an empty message.
fn imported_content(m: &ImportedMessage) -> String {
    if !m.content.trim().is_empty() || m.attachments.is_empty() {
        return m.content.clone();
    }
    // As many names as a message may carry files, each as long as a file's name may be.
    let names: Vec<String> = m
        .attachments
        .iter()
        .take(MAX_ATTACHMENTS)
        .map(|a| a.name.chars().take(255).collect())
        .collect();
    format!("[Attached: {}]", names.join(", "))
}

/// Import a conversation from a file (`…/export?format=json`): a new conversation with
/// every message of every branch, the importing member's, shown at the same branch.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/conversations/import", tag = "assistant",
    params(("workspace_id" = Uuid, Path)), request_body = ImportConversationRequest,
    responses(
        (status = 201, body = ConversationView),
        (status = 403, description = "Assistant switched off, or the member may not use it", body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "No AI provider configured", body = nexus_kernel::error::ErrorEnvelope),
        (status = 413, description = "Larger than the server's body limit", body = nexus_kernel::error::ErrorEnvelope),
        (status = 422, description = "Not a conversation this can import", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn import_conversation(
    State(state): State<AppState>,
    member: Member,
    ApiJson(body): ApiJson<ImportConversationRequest>,
) -> ApiResult<(StatusCode, axum::Json<ConversationView>)> {
    let c = body.conversation;
    let new = NewConversation::check(
        &state,
        &member,
        Settings {
            title: c.title,
            model: c.model,
            system_prompt: c.system_prompt,
            visibility: c.visibility,
        },
        UnofferedModel::UseDefault,
    )
    .await?;
    check_messages(&body.messages)?;

    let (ctx, tx) = member.write(&state).await?;
    let now = Utc::now();
    // New ids in the file's order, so that ordering by id keeps it.
    let ids: HashMap<Uuid, Uuid> = body
        .messages
        .iter()
        .map(|m| (m.id, Uuid::now_v7()))
        .collect();
    let head = c
        .head_message_id
        .filter(|h| ids.contains_key(h))
        .or_else(|| body.messages.last().map(|m| m.id))
        .map(|h| ids[&h]);
    let row = conversation::Model {
        head_message_id: head,
        message_count: body.messages.len() as i32,
        ..new.row(&ctx, now)
    };
    let conversation_id = row.id;
    insert(&tx, &row).await?;
    let rows: Vec<message::ActiveModel> = body
        .messages
        .into_iter()
        .map(|m| message::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            id: Set(ids[&m.id]),
            conversation_id: Set(conversation_id),
            parent_id: Set(m.parent_id.map(|p| ids[&p])),
            status: Set(imported_status(m.status.as_deref()).into()),
            content: Set(imported_content(&m)),
            role: Set(m.role),
            model: Set(m.model),
            provider_id: Set(None),
            // Nothing was used here: the tokens were the original workspace's.
            prompt_tokens: Set(0),
            completion_tokens: Set(0),
            cached_prompt_tokens: Set(0),
            latency_ms: Set(None),
            ttft_ms: Set(None),
            reasoning: Set(m.reasoning.filter(|r| !r.is_empty())),
            reserved_tokens: Set(0),
            reserved_for: Set(None),
            attachments: Set(None),
            cached: Set(false),
            tool_calls: Set(m.tool_calls.filter(|t| !t.is_null())),
            error: Set(m.error.filter(|e| !e.is_null())),
            created_by: Set(ctx.actor.id()),
            created_at: Set(m.created_at.unwrap_or(now)),
            updated_at: Set(now),
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        message::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&tx)
            .await?;
    }
    audit::record(
        &tx,
        &ctx,
        Event::new("conversation.imported", "conversation", conversation_id)
            .summary(json!({
                "visibility": row.visibility,
                "model": row.model,
                "messages": row.message_count,
            }))
            .content(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ConversationView::new(&row, &ctx)),
    ))
}

/// The file's messages make one conversation: at most [`MAX_IMPORTED_MESSAGES`], ids
/// unique, each parent earlier in the file (so no cycles), a question under an answer
/// (or first) and an answer under a question, texts within the limit of a message, and
/// an answer's tool calls and error in the shapes the export writes.
fn check_messages(messages: &[ImportedMessage]) -> Result<(), ApiError> {
    if messages.len() > MAX_IMPORTED_MESSAGES {
        return Err(ApiError::field(
            "messages",
            format!("must be at most {MAX_IMPORTED_MESSAGES}"),
        ));
    }
    let mut roles: HashMap<Uuid, &str> = HashMap::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let at =
            |what: &str| ApiError::field(&format!("messages[{i}].{what}"), what_is_wrong(what));
        let parent = match m.parent_id {
            None => None,
            Some(p) => Some(*roles.get(&p).ok_or_else(|| at("parent_id"))?),
        };
        match (m.role.as_str(), parent) {
            ("user", None | Some("assistant")) | ("assistant", Some("user")) => {}
            ("user" | "assistant", _) => return Err(at("parent_id")),
            _ => return Err(at("role")),
        }
        let limit = if m.role == "user" {
            MAX_CONTENT_CHARS
        } else {
            // An answer is capped by the model's completion budget, not by what a member
            // may type; the request's body limit bounds it too.
            MAX_CONTENT_CHARS * 4
        };
        if m.content.chars().count() > limit {
            return Err(at("content"));
        }
        if m.reasoning
            .as_ref()
            .is_some_and(|r| r.chars().count() > limit)
        {
            return Err(at("reasoning"));
        }
        if m.model
            .as_ref()
            .is_some_and(|model| model.chars().count() > 200)
        {
            return Err(at("model"));
        }
        if !tool_calls_are_whole(m.tool_calls.as_ref())
            || m.role == "user" && m.tool_calls.as_ref().is_some_and(|t| !t.is_null())
        {
            return Err(at("tool_calls"));
        }
        if m.error
            .as_ref()
            .is_some_and(|e| !e.is_null() && !e.is_object())
        {
            return Err(at("error"));
        }
        if !matches!(
            m.status.as_deref(),
            None | Some("complete" | "interrupted" | "error" | "streaming")
        ) {
            return Err(at("status"));
        }
        if m.created_at
            .is_some_and(|t| !(1970..=9999).contains(&t.year()))
        {
            return Err(at("created_at"));
        }
        if roles.insert(m.id, m.role.as_str()).is_some() {
            return Err(at("id"));
        }
    }
    Ok(())
}

/// Tool calls as the export writes them: a list of `{id, name, arguments?, result?}`
/// with an id and a name. Anything else would come back into the model's history as a
/// call no provider accepts, and the conversation could not go on.
fn tool_calls_are_whole(calls: Option<&Value>) -> bool {
    let named = |c: &Value, key: &str| {
        c.get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    match calls {
        None | Some(Value::Null) => true,
        Some(Value::Array(calls)) => calls.iter().all(|c| {
            named(c, "id") && named(c, "name") && c.get("arguments").is_none_or(Value::is_string)
        }),
        Some(_) => false,
    }
}

fn what_is_wrong(field: &str) -> String {
    match field {
        "parent_id" => "must be an earlier message of the file: a question's an answer (or none), an answer's a question".into(),
        "role" => "must be user or assistant".into(),
        "content" => format!("is too long (a question at most {MAX_CONTENT_CHARS} characters)"),
        "status" => "must be complete, interrupted or error".into(),
        "id" => "is the id of an earlier message of the file".into(),
        "reasoning" => "is too long".into(),
        "model" => "must be at most 200 characters".into(),
        "tool_calls" => "must be an answer's list of calls, each with an id, a name and its arguments as text".into(),
        "error" => "must be an object ({code, message})".into(),
        // PostgreSQL keeps no date before 4713 BC; none of a chat is before 1970.
        "created_at" => "must be a date from 1970 to 9999".into(),
        _ => "is not valid".into(),
    }
}

/// An answer exported while it streamed ends here: nothing will finish it.
fn imported_status(status: Option<&str>) -> &'static str {
    match status {
        Some("interrupted" | "streaming") => "interrupted",
        Some("error") => "error",
        _ => "complete",
    }
}
