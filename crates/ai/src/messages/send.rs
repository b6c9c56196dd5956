use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use nexus_identity::extract::Member;
use nexus_kernel::json::ApiJson;
use nexus_kernel::{ApiResult, AppState};
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

use super::respond::{TurnResult, respond};
use super::turn::Options;
use super::{TurnKind, engine};
use crate::AiService;
use crate::attachments::AttachmentInput;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// The message's words; may be empty when it attaches files.
    pub content: String,
    /// Images (PNG, JPEG, GIF, WebP; up to 3.75 MiB each, 5 MiB in base64) and text
    /// files (up to 512 KiB each), up to 8 and 20 MiB together: images go to the model as
    /// images, a text file's words after the message's.
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// Answer with this model instead of the conversation's.
    pub model: Option<String>,
    /// Answer with the workspace's large model (small-model-first workspaces).
    #[serde(default)]
    pub escalate: bool,
    /// 0 to 2. At 0, identical requests may be answered from the cache.
    pub temperature: Option<f32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateRequest {
    pub model: Option<String>,
    #[serde(default)]
    pub escalate: bool,
    pub temperature: Option<f32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    pub content: String,
    pub model: Option<String>,
    #[serde(default)]
    pub escalate: bool,
    pub temperature: Option<f32>,
}

/// Send a message and get the answer.
///
/// With `Accept: text/event-stream` the answer streams as Server-Sent Events: `message`
/// (the saved user message), `reasoning` (`{"text"}`: a reasoning model's thoughts,
/// before its answer), `delta` (`{"text"}`), `tool_call`, `tool_result`, then `done`
/// (the saved answer with usage, model, latency and `cached`) or `error` (`{code,
/// message}`). Otherwise the call waits (past the server's request timeout, up to the
/// AI's stream timeout) and answers 201 with both messages, also when the answer was cut
/// short with what arrived kept (its `status` is `interrupted`, its `error` says why);
/// an answer that never came is an error: 502 (the provider failed), 504 (it ran out of
/// time), 503 (the server is restarting). The user message is written before any
/// provider is called, and committed before any of the answer is sent or saved.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path)), request_body = SendMessageRequest,
    responses(
        (status = 201, description = "The saved messages (JSON), or a text/event-stream", body = TurnResult),
        (status = 409, description = "No AI provider configured", body = nexus_kernel::error::ErrorEnvelope),
        (status = 429, description = "Monthly AI quota used up (details.resets_at)", body = nexus_kernel::error::ErrorEnvelope),
        (status = 502, description = "No provider could answer", body = nexus_kernel::error::ErrorEnvelope),
        (status = 503, description = "The server is restarting", body = nexus_kernel::error::ErrorEnvelope),
        (status = 504, description = "The answer ran out of time", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn send_message(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    headers: HeaderMap,
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<Response> {
    let (_, conversation_id) = path;
    let opts = Options {
        model: body.model,
        escalate: body.escalate,
        temperature: body.temperature,
    };
    answer(
        state,
        ai,
        &headers,
        member,
        conversation_id,
        TurnKind::Send {
            content: body.content,
            attachments: body.attachments,
        },
        opts,
    )
    .await
}

/// Answer the same message again; the earlier answer is kept as a sibling.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/regenerate", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path, description = "An assistant message")),
    request_body = RegenerateRequest,
    responses((status = 201, body = TurnResult), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn regenerate_message(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    headers: HeaderMap,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
    ApiJson(body): ApiJson<RegenerateRequest>,
) -> ApiResult<Response> {
    let (_, conversation_id, message_id) = path;
    let opts = Options {
        model: body.model,
        escalate: body.escalate,
        temperature: body.temperature,
    };
    answer(
        state,
        ai,
        &headers,
        member,
        conversation_id,
        TurnKind::Regenerate { message_id },
        opts,
    )
    .await
}

/// Edit a user message and resend it: a new branch from the same point; the old branch
/// is kept.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/edit", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path, description = "A user message")),
    request_body = EditMessageRequest,
    responses((status = 201, body = TurnResult), (status = 404, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn edit_message(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    headers: HeaderMap,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
    ApiJson(body): ApiJson<EditMessageRequest>,
) -> ApiResult<Response> {
    let (_, conversation_id, message_id) = path;
    let opts = Options {
        model: body.model,
        escalate: body.escalate,
        temperature: body.temperature,
    };
    let kind = TurnKind::Edit {
        message_id,
        content: body.content,
    };
    answer(state, ai, &headers, member, conversation_id, kind, opts).await
}

/// What the three routes share: prepare the turn, start it, answer with its events.
async fn answer(
    state: AppState,
    ai: Arc<AiService>,
    headers: &HeaderMap,
    member: Member,
    conversation_id: Uuid,
    kind: TurnKind,
    opts: Options,
) -> ApiResult<Response> {
    let (events, _) =
        engine::prepare_and_start(state, ai, member, conversation_id, kind, opts).await?;
    Ok(respond(headers, events).await)
}
