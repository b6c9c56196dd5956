//! Stopping an answer while it is written: `POST …/messages/{mid}/stop`, for clients whose
//! stream closing would not stop it (answers finish in the background when
//! `NEXUS_AI_FINISH_IN_BACKGROUND` is on). The turn stops, saves what arrived as
//! `interrupted`, and its stream, if anyone still reads it, ends with an `error` event
//! `cancelled`.
//!
//! The answers being written are known to the process writing them. With several
//! replicas sharing Redis, a stop that reaches another one is announced to all of them
//! ([`TOPIC`]); the one writing the answer stops it and says so, and the stop answers 204
//! once it has. If none says so in time ([`ELSEWHERE_WAIT`]: no Redis, or the writer
//! cannot be reached) it answers 409 `answer_elsewhere`, and the client closing its
//! stream remains the way to stop it (as it is when answers do not finish in the
//! background).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nexus_identity::extract::Member;
use nexus_kernel::db::Tx;
use nexus_kernel::replicas::Redis;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::AiService;
use crate::conversations::{assistant_on, find_writable};
use crate::entities::message;

/// The Redis topic on which replicas ask each other to stop answers.
const TOPIC: &str = "ai-stop";
/// How long a stop waits for the replica writing the answer to say it stopped.
const ELSEWHERE_WAIT: Duration = Duration::from_secs(2);

/// What replicas say to each other on [`TOPIC`].
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Said {
    /// Whoever writes this answer: stop it.
    Stop(Uuid),
    /// I was writing this answer, and it is stopping.
    Stopped(Uuid),
}

impl Said {
    fn text(&self) -> String {
        serde_json::to_string(self).expect("a stop message serialises")
    }
}

/// The answers this process is writing, by id, with what stops each.
#[derive(Default)]
pub struct Running {
    answers: Mutex<HashMap<Uuid, CancellationToken>>,
    /// Stops asked of the other replicas, waiting for the one writing the answer.
    asked: Mutex<HashMap<Uuid, Vec<oneshot::Sender<()>>>>,
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

    fn asked(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<oneshot::Sender<()>>>> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ask the other replicas to stop the answer; whether the one writing it said it
    /// stopped within [`ELSEWHERE_WAIT`].
    async fn stop_elsewhere(&self, redis: &Redis, answer_id: Uuid) -> bool {
        let (told, stopped) = oneshot::channel();
        {
            let mut asked = self.asked();
            // Forget the asks that timed out.
            asked.retain(|_, waiting| {
                waiting.retain(|w| !w.is_closed());
                !waiting.is_empty()
            });
            asked.entry(answer_id).or_default().push(told);
        }
        redis.announce(TOPIC, &Said::Stop(answer_id).text()).await
            && tokio::time::timeout(ELSEWHERE_WAIT, stopped).await.is_ok()
    }

    /// Act on what another replica said.
    fn heard(&self, redis: &Arc<Redis>, said: Said) {
        match said {
            Said::Stop(answer_id) => {
                if self.stop(answer_id) {
                    // Not in the listener's loop: a slow reply must not hold up the
                    // stops and replies heard after it.
                    let redis = redis.clone();
                    tokio::spawn(async move {
                        redis
                            .announce(TOPIC, &Said::Stopped(answer_id).text())
                            .await
                    });
                }
            }
            Said::Stopped(answer_id) => {
                let waiting = self.asked().remove(&answer_id);
                for told in waiting.unwrap_or_default() {
                    let _ = told.send(());
                }
            }
        }
    }
}

/// Stop, on this replica, the answers the others are asked to stop (see the module's
/// documentation), until the server shuts down. Nothing to do without Redis.
pub fn hear_stops(ai: &AiService, state: &AppState) {
    let Some(redis) = state.redis.clone() else {
        return;
    };
    let mut heard = redis.hear(TOPIC, &state.shutdown);
    let running = ai.running.clone();
    tokio::spawn(async move {
        while let Some(text) = heard.recv().await {
            match serde_json::from_str(&text) {
                Ok(said) => running.heard(&redis, said),
                Err(err) => tracing::warn!("ignoring a malformed stop message: {err}"),
            }
        }
    });
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
        (status = 409, description = "Not being written: `answer_finished`, or `answer_elsewhere` (another server writes it and could not be reached)", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn stop_answer(
    State(state): State<AppState>,
    Extension(ai): Extension<Arc<AiService>>,
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, conversation_id, message_id) = path;
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    find_writable(member.tx(), &member.ctx, conversation_id).await?;
    let workspace_id = member.workspace_id();
    let streaming = still_streaming(member.tx(), workspace_id, conversation_id, message_id).await?;
    if ai.running.stop(message_id) {
        return Ok(StatusCode::NO_CONTENT);
    }
    let finished =
        || ApiError::conflict("answer_finished", "This answer is no longer being written.");
    if !streaming {
        return Err(finished());
    }
    // Asking the other replicas waits for one of them: not while holding a connection.
    let ctx = member.into_ctx();
    if let Some(redis) = &state.redis
        && ai.running.stop_elsewhere(redis, message_id).await
    {
        return Ok(StatusCode::NO_CONTENT);
    }
    // Nobody said they stopped it: it may have been saved meanwhile.
    let tx = state.db.tenant(ctx.scope(), false).await?;
    if !still_streaming(&tx, workspace_id, conversation_id, message_id).await? {
        return Err(finished());
    }
    Err(ApiError::conflict(
        "answer_elsewhere",
        "This answer is being written by another server, which could not be reached; close its stream to stop it.",
    ))
}

/// Whether the conversation's assistant message is still being written; 404 if there is
/// no such answer.
async fn still_streaming(
    tx: &Tx,
    workspace_id: Uuid,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<bool, ApiError> {
    let answer = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(workspace_id))
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Id.eq(message_id))
        .filter(message::Column::Role.eq("assistant"))
        .one(tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(answer.status == "streaming")
}

#[cfg(test)]
mod tests {
    use super::Said;
    use uuid::Uuid;

    #[test]
    fn stop_messages_read_back_as_written() {
        let id = Uuid::now_v7();
        let text = Said::Stop(id).text();
        assert_eq!(text, format!("{{\"stop\":\"{id}\"}}"));
        assert_eq!(
            serde_json::from_str::<Said>(&text).ok(),
            Some(Said::Stop(id))
        );
        let text = Said::Stopped(id).text();
        assert_eq!(
            serde_json::from_str::<Said>(&text).ok(),
            Some(Said::Stopped(id))
        );
    }
}
