//! Stopping an answer while it is written: `POST …/messages/{mid}/stop`, for clients whose
//! stream closing would not stop it (answers finish in the background when
//! `NEXUS_AI_FINISH_IN_BACKGROUND` is on). The turn stops, saves what arrived as
//! `interrupted`, and its stream, if anyone still reads it, ends with an `error` event
//! `cancelled`.
//!
//! The answers being written are known to the process writing them: with several
//! replicas, a stop that reaches another one answers 409 `answer_elsewhere`, and the
//! client closing its stream remains the way to stop it (as it is when answers do not
//! finish in the background).

use axum::Extension;
use axum::extract::Path;
use axum::http::StatusCode;
use nexus_identity::extract::Member;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AiService;
use crate::conversations::{assistant_on, find_writable};
use crate::entities::message;

/// The answers this process is writing, by id, with what stops each.
#[derive(Default)]
pub struct Running {
    answers: Mutex<HashMap<Uuid, CancellationToken>>,
}

impl Running {
    /// Note an answer being written until the returned guard is dropped (its turn ends,
    /// or is aborted).
    pub fn register(self: &Arc<Self>, answer_id: Uuid, stop: CancellationToken) -> Registered {
        self.lock().insert(answer_id, stop);
        Registered {
            running: self.clone(),
            answer_id,
        }
    }

    /// Stop the answer if this process is writing it.
    fn stop(&self, answer_id: Uuid) -> bool {
        match self.lock().get(&answer_id) {
            Some(stop) => {
                stop.cancel();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, CancellationToken>> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Registered {
    running: Arc<Running>,
    answer_id: Uuid,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.running.lock().remove(&self.answer_id);
    }
}

/// Stop an answer while it is written; what arrived is saved as `interrupted`.
#[utoipa::path(post, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/stop", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path, description = "An assistant message")),
    responses(
        (status = 204, description = "Stopping: the answer saves what arrived"),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
        (status = 409, description = "Not being written: `answer_finished`, or `answer_elsewhere` (another replica writes it)", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn stop_answer(
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, conversation_id, message_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    find_writable(member.tx(), &member.ctx, conversation_id).await?;
    let answer = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(member.workspace_id()))
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Id.eq(message_id))
        .filter(message::Column::Role.eq("assistant"))
        .one(member.tx())
        .await?
        .ok_or(ApiError::NotFound)?;
    if ai.running.stop(message_id) {
        return Ok(StatusCode::NO_CONTENT);
    }
    Err(if answer.status == "streaming" {
        ApiError::conflict(
            "answer_elsewhere",
            "This answer is being written by another server; close its stream to stop it.",
        )
    } else {
        ApiError::conflict("answer_finished", "This answer is no longer being written.")
    })
}
