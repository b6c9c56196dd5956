//! Preparing a turn: check access, pick the model and providers, reserve quota, save the
//! user's message and an empty answer (so a crash leaves a consistent, resumable state),
//! and build the request with the conversation's history.

use chrono::{SubsecRound, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::db::{Db, Tx, Write};
use nexus_kernel::roles::Permission;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, AppState};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryTrait, TryIntoModel};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

use super::engine::Turn;
use super::{MessageView, path_to, readable_with_messages, siblings};
use crate::AiService;
use crate::attachments::{self, Attachment, AttachmentInput};
use crate::catalog::Catalog;
use crate::conversations::{assistant_on, find_writable, writable, writable_or_forbidden};
use crate::entities::{conversation, message};
use crate::provider::{ChatMessage, ChatRequest, FunctionCall, ToolCall};
use crate::usage::leases::Leases;
use crate::usage::quota;

pub const MAX_CONTENT_CHARS: usize = 100_000;

pub enum TurnKind {
    /// A new message at the end of the current branch, with the files it attaches (checked
    /// here, once the caller may send: see [`attachments::check`]).
    Send {
        content: String,
        attachments: Vec<AttachmentInput>,
    },
    /// A new version of a user message: a new branch from its parent.
    Edit { message_id: Uuid, content: String },
    /// A new answer to the user message before this assistant message.
    Regenerate { message_id: Uuid },
}

pub struct Options {
    pub model: Option<String>,
    /// Use the workspace's large model instead of the conversation's.
    pub escalate: bool,
    pub temperature: Option<f32>,
}

/// A message's words: up to [`MAX_CONTENT_CHARS`], and some unless it attaches files.
pub fn check_content(content: &str, attaches: bool) -> Result<(), ApiError> {
    if content.trim().is_empty() && !attaches {
        return Err(ApiError::field("content", "must not be empty"));
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(ApiError::field(
            "content",
            format!("must be at most {MAX_CONTENT_CHARS} characters"),
        ));
    }
    if content.contains('\0') {
        return Err(ApiError::field(
            "content",
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

/// A turn ready to start: its messages are written in a transaction that is not yet
/// committed (see [`super::engine::start`], which commits it).
pub struct Prepared {
    pub turn: Turn,
    pub save: PendingSave,
}

/// The open transaction that saves a turn's user message, its empty answer and the
/// conversation's new head; and the quota reservation to give back if it never commits.
pub struct PendingSave {
    tx: Option<Tx>,
    db: Db,
    /// Reserved in its own transaction (PostgreSQL); on SQLite the reservation is inside
    /// `tx` and goes with its rollback.
    separate: Option<quota::Reservation>,
}

impl PendingSave {
    pub async fn commit(mut self) -> Result<(), ApiError> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        self.separate = None;
        Ok(())
    }
}

impl Drop for PendingSave {
    /// Not committed (the commit failed, or the request went away first): the rollback
    /// undoes the save, and a reservation made outside it is given back.
    fn drop(&mut self) {
        if let Some(r) = self.separate.take() {
            let db = self.db.clone();
            tokio::spawn(async move { quota::release(&db, &r).await });
        }
    }
}

pub async fn prepare(
    state: &AppState,
    ai: &Arc<AiService>,
    member: Member,
    conversation_id: Uuid,
    kind: TurnKind,
    opts: Options,
) -> Result<Prepared, ApiError> {
    assistant_on(&member).await?;
    member.require(Permission::UseAssistant)?;
    if let Some(t) = opts.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(ApiError::field("temperature", "must be between 0 and 2"));
    }
    let catalog = Catalog::load(member.tx(), state, member.workspace_id()).await?;
    if !catalog.is_configured() {
        return Err(Catalog::not_configured());
    }
    let (conv, all) = readable_with_messages(member.tx(), &member.ctx, conversation_id).await?;
    let conv = writable_or_forbidden(conv, &member.ctx)?;
    let model = match (&opts.model, opts.escalate) {
        (Some(m), _) if catalog.offers(m) => m.clone(),
        (Some(_), _) => {
            return Err(ApiError::field(
                "model",
                "is not offered by this workspace's AI providers",
            ));
        }
        (None, true) => catalog.large_model().ok_or_else(Catalog::not_configured)?,
        (None, false) if catalog.offers(&conv.model) => conv.model.clone(),
        (None, false) => catalog
            .default_model()
            .ok_or_else(Catalog::not_configured)?,
    };
    let candidates = catalog.candidates(&model);
    let small_model_candidates = catalog
        .small_model()
        .map(|m| catalog.candidates(&m))
        .unwrap_or_default();

    // Where the new user message hangs (None for a regeneration, which reuses one), the
    // answers a regeneration is another version of, and the attachments of the message
    // the model answers: sent now, or those of the message edited or answered again.
    let (parent, content, regenerate_of, earlier_answers, files) = match kind {
        TurnKind::Send {
            content,
            attachments,
        } => {
            check_content(&content, !attachments.is_empty())?;
            let files = Files::Sent(attachments::check(attachments)?);
            (Some(conv.head_message_id), content, None, Vec::new(), files)
        }
        TurnKind::Edit {
            message_id,
            content,
        } => {
            let target = all
                .iter()
                .find(|m| m.id == message_id && m.role == "user")
                .ok_or(ApiError::NotFound)?;
            check_content(&content, target.attachments.is_some())?;
            let files = Files::Kept(target.id);
            (Some(target.parent_id), content, None, Vec::new(), files)
        }
        TurnKind::Regenerate { message_id } => {
            let target = all
                .iter()
                .find(|m| m.id == message_id && m.role == "assistant")
                .ok_or(ApiError::NotFound)?;
            let user = all
                .iter()
                .find(|m| Some(m.id) == target.parent_id)
                .ok_or(ApiError::NotFound)?;
            (
                None,
                user.content.clone(),
                Some(user.clone()),
                siblings(&all, target),
                Files::Kept(user.id),
            )
        }
    };

    // The history the model sees: the branch up to the new message's parent.
    let history_leaf = match (&parent, &regenerate_of) {
        (Some(p), _) => *p,
        (None, Some(user)) => user.parent_id,
        (None, None) => None,
    };
    let mut messages = Vec::new();
    if !conv.system_prompt.trim().is_empty() {
        messages.push(ChatMessage::text("system", conv.system_prompt.clone()));
    }
    let history = path_to(&all, history_leaf);
    // The stored attachments the request needs, in one read (none for most turns).
    let kept_from = match &files {
        Files::Kept(id) => Some(*id),
        Files::Sent(_) => None,
    };
    let with_files: Vec<Uuid> = history
        .iter()
        .copied()
        .chain(kept_from.and_then(|id| all.iter().find(|m| m.id == id)))
        .filter(|m| m.role == "user" && m.attachments.is_some())
        .map(|m| m.id)
        .collect();
    let mut stored = attachments::load(member.tx(), conv.workspace_id, &with_files).await?;
    let files = match files {
        Files::Sent(files) => files,
        Files::Kept(id) => stored.remove(&id).unwrap_or_default(),
    };
    // Every earlier question's images go again, the newest first, as far as one request
    // may carry them (nothing to weigh for most turns: no earlier files).
    if !stored.is_empty() {
        let newest_first: Vec<Uuid> = history.iter().rev().map(|m| m.id).collect();
        attachments::fit_history(&files, &mut stored, &newest_first);
    }
    for m in history {
        push_history(&mut messages, m, stored.get(&m.id).map(Vec::as_slice));
    }
    messages.push(attachments::user_message(&content, &files));
    let request = ChatRequest {
        model: model.clone(),
        messages,
        tools: ai.tools.specs_for(&member.ctx),
        temperature: opts.temperature,
        max_tokens: Some(state.settings.ai_max_completion_tokens),
    };
    let cache_key = crate::cache::key(&request);

    // The read transaction ends here: the write below must not wait on a connection while
    // holding one, or concurrent requests starve the pool.
    let ctx = member.into_ctx();
    // Before reserving: an answer a crash abandoned may still hold part of the quota.
    ai.recovery.recover(state, ctx.workspace_id).await;
    // The reservation only needs to be an upper bound on one round of the model; a turn
    // that calls tools reserves each further round before it asks (see `generate`).
    let reserve = request.cost_bound();
    let member_limit = catalog
        .settings
        .as_ref()
        .and_then(|s| s.member_monthly_tokens)
        .map(|l| Ord::max(l, 0) as u64);
    let limit = state.settings.plan(ctx.plan).monthly_ai_tokens;
    let budget = quota::Budget {
        workspace_id: ctx.workspace_id,
        user_id: ctx.actor.user_id(),
        tokens: reserve,
        workspace_limit: limit,
        member_limit,
    };
    let (user_message, answer, reservation, save) = save_messages(
        state,
        &ai.leases,
        &ctx,
        &conv,
        parent,
        &content,
        &files,
        regenerate_of,
        &all,
        budget,
    )
    .await?;
    let turn = Turn {
        ctx,
        conversation_id,
        user_message,
        answer,
        request,
        candidates,
        reservation,
        budget,
        cache_key,
        needs_title: !conv.title_generated && all.is_empty(),
        shared: conv.visibility == "workspace",
        stop: tokio_util::sync::CancellationToken::new(),
        small_model_candidates,
        earlier_answers,
    };
    Ok(Prepared { turn, save })
}

/// Where the attachments of the message the model answers come from.
enum Files {
    Sent(Vec<Attachment>),
    /// Those of this stored user message: the one edited, or the one answered again.
    Kept(Uuid),
}

fn push_history(messages: &mut Vec<ChatMessage>, m: &message::Model, files: Option<&[Attachment]>) {
    if m.role == "user" {
        messages.push(attachments::user_message(
            &m.content,
            files.unwrap_or_default(),
        ));
        return;
    }
    if m.status == "error" && m.content.is_empty() {
        return;
    }
    if let Some(Value::Array(calls)) = &m.tool_calls {
        let tool_calls: Vec<ToolCall> = calls
            .iter()
            .map(|c| ToolCall {
                id: c["id"].as_str().unwrap_or_default().into(),
                kind: "function".into(),
                function: FunctionCall {
                    name: c["name"].as_str().unwrap_or_default().into(),
                    arguments: c["arguments"].as_str().unwrap_or("{}").into(),
                },
            })
            .collect();
        messages.push(ChatMessage {
            role: "assistant".into(),
            content: None,
            tool_calls: Some(tool_calls),
            tool_call_id: None,
            images: Vec::new(),
        });
        for c in calls {
            messages.push(ChatMessage {
                role: "tool".into(),
                content: Some(c["result"].to_string()),
                tool_calls: None,
                tool_call_id: c["id"].as_str().map(str::to_owned),
                images: Vec::new(),
            });
        }
    }
    if !m.content.is_empty() {
        messages.push(ChatMessage::text("assistant", m.content.clone()));
    }
}

/// Reserve the quota, then in one write transaction save the user message (unless
/// regenerating) and the empty answer, and point the conversation at the new branch; the
/// transaction is returned open, for the caller to commit, with the user message's view
/// and the answer's row as saved. A refusal or failure anywhere leaves nothing behind.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename the arguments"
)]
async fn save_messages(
    state: &AppState,
    leases: &Leases,
    ctx: &TenantCtx,
    conv: &conversation::Model,
    parent: Option<Option<Uuid>>,
    content: &str,
    files: &[Attachment],
    regenerate_of: Option<message::Model>,
    all: &[message::Model],
    budget: quota::Budget,
) -> Result<(MessageView, message::Model, quota::Reservation, PendingSave), ApiError> {
    // Microseconds, as PostgreSQL keeps them: the saved user message is answered from
    // memory and must equal what a later read returns.
    let now = Utc::now().trunc_subsecs(6);
    let new_row = |id: Uuid, parent_id: Option<Uuid>, role: &str, content: &str, status: &str| {
        message::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            id: Set(id),
            conversation_id: Set(conv.id),
            parent_id: Set(parent_id),
            role: Set(role.into()),
            content: Set(content.into()),
            status: Set(status.into()),
            model: Set(None),
            provider_id: Set(None),
            prompt_tokens: Set(0),
            completion_tokens: Set(0),
            latency_ms: Set(None),
            ttft_ms: Set(None),
            reasoning: Set(None),
            cached_prompt_tokens: Set(0),
            reserved_tokens: Set(0),
            reserved_for: Set(None),
            attachments: Set(None),
            cached: Set(false),
            tool_calls: Set(None),
            error: Set(None),
            created_by: Set(ctx.actor.id()),
            created_at: Set(now),
            updated_at: Set(now),
        }
    };
    let mut rows = Vec::with_capacity(2);
    // The attachments of a new user message, saved with it (a regeneration's are saved).
    let mut save_files = None;
    let user_row = match regenerate_of {
        Some(user) => user,
        None => {
            let mut row = new_row(
                Uuid::now_v7(),
                parent.flatten(),
                "user",
                content,
                "complete",
            );
            row.attachments = Set(attachments::metadata(files));
            rows.push(row.clone());
            let row = row.try_into_model()?;
            save_files = attachments::insert(ctx, conv.id, row.id, files, now);
            row
        }
    };
    let assistant_id = Uuid::now_v7();
    let mut answer = new_row(
        assistant_id,
        Some(user_row.id),
        "assistant",
        "",
        "streaming",
    );
    // In a busy moment on PostgreSQL, a share of a quota lease: reserved already.
    let leased = leases.share(state, &budget).await;
    // Kept with the answer until it is settled, for the recovery of an answer a crash
    // leaves streaming (see `super::recovery`); a lease's row keeps its share.
    let held = leased
        .as_ref()
        .map_or(budget.tokens, quota::Reservation::held_by_answer);
    answer.reserved_tokens = Set(held as i64);
    answer.reserved_for = Set(budget.member_reserved());
    rows.push(answer.clone());
    // Point the conversation at the new branch first. The update is also the re-check
    // (the conversation may have gone, or stopped being the caller's to write, since it
    // was read), and it holds the conversation's row until the commit.
    let point_conversation = conversation::Entity::update_many()
        .col_expr(
            conversation::Column::HeadMessageId,
            Expr::value(assistant_id),
        )
        .col_expr(
            conversation::Column::MessageCount,
            Expr::col(conversation::Column::MessageCount).add(rows.len() as i32),
        )
        .col_expr(conversation::Column::UpdatedAt, Expr::value(now))
        .filter(conversation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(conversation::Column::Id.eq(conv.id))
        .filter(writable(ctx))
        // No message was deleted since the conversation was read: the new one's parent,
        // and the history sent to the model, are still there.
        .filter(conversation::Column::PruneCount.eq(conv.prune_count))
        .into_query();
    let insert_messages = message::Entity::insert_many(rows).into_query();
    let writes = [
        Write::Update(&point_conversation),
        Write::Insert(&insert_messages),
    ];
    let (tx, reservation, separate) = match leased {
        Some(share) => {
            let begun = state.db.write_all(ctx.scope(), &writes).await;
            saved_or_given_back(state, ctx, conv.id, begun, share).await?
        }
        None => reserve_and_write(state, ctx, conv.id, &budget, &writes).await?,
    };

    let mut with_new = all.to_vec();
    if !with_new.iter().any(|m| m.id == user_row.id) {
        with_new.push(user_row.clone());
    }
    let view = MessageView::new(&user_row, siblings(&with_new, &user_row));
    let save = PendingSave {
        tx: Some(tx),
        db: state.db.clone(),
        separate,
    };
    // The files after the message they belong to, in the same transaction: a failure
    // drops `save`, which undoes all of it and gives the reservation back.
    if let (Some(insert), Some(tx)) = (&save_files, &save.tx) {
        tx.write(Write::Insert(insert)).await?;
    }
    Ok((view, answer.try_into_model()?, reservation, save))
}

/// Reserve `budget` and run `writes` (the conversation's update first) in a write
/// transaction, returned open; and the reservation, also as the one to give back if that
/// transaction never commits (PostgreSQL, where it is committed on its own: see
/// [`quota::reserve`]).
async fn reserve_and_write(
    state: &AppState,
    ctx: &TenantCtx,
    conversation_id: Uuid,
    budget: &quota::Budget,
    writes: &[Write<'_>],
) -> Result<(Tx, quota::Reservation, Option<quota::Reservation>), ApiError> {
    let db = &state.db;
    let separately = !quota::folds_into_writes(db);
    // PostgreSQL, most messages: the reservation commits and the save begins in one
    // round trip.
    if separately && let Some((reserve, reservation)) = quota::one_statement(budget) {
        let (reserved, begun) = db
            .single_update_then_write(ctx.scope(), true, &reserve, writes)
            .await?;
        if reserved == 1 {
            return saved_or_given_back(state, ctx, conversation_id, begun, reservation).await;
        }
        // Nothing reserved (the limit is reached, or it is the month's first call): undo
        // the save and take the long way, which says which or creates the month's row.
        if let Ok((_, tx)) = begun {
            tx.rollback().await?;
        }
    }
    // SQLite, most messages: the reservation and the save are one round trip.
    if !separately && let Some((reserve, reservation)) = quota::one_statement(budget) {
        let all: Vec<Write<'_>> = std::iter::once(Write::Update(&reserve))
            .chain(writes.iter().copied())
            .collect();
        return match db.write_all(ctx.scope(), &all).await {
            Ok((changed, tx)) => {
                // Nothing reserved: the limit is reached (429, and dropping the
                // transaction undoes the save) or the month's row is missing (created
                // and reserved now, in the same transaction).
                if changed.first() != Some(&1) {
                    quota::reserve_in(&tx, budget).await?;
                }
                let tx = check_written(state, ctx, conversation_id, &changed[1..], tx).await?;
                Ok((tx, reservation, None))
            }
            Err(err) => Err(why_not_saved(state, ctx, conversation_id, err.into()).await),
        };
    }
    let separate = if separately {
        Some(quota::reserve(db, budget).await?)
    } else {
        None
    };
    let written = async {
        let tx = db.tenant(ctx.scope(), true).await?;
        let reservation = match &separate {
            Some(r) => r.clone(),
            None => quota::reserve_in(&tx, budget).await?,
        };
        let mut changed = Vec::with_capacity(writes.len());
        for &write in writes {
            changed.push(tx.write(write).await?);
            if changed[0] == 0 {
                // Not written: the insert would only fail on a conversation that is gone.
                break;
            }
        }
        let tx = check_written(state, ctx, conversation_id, &changed, tx).await?;
        Ok::<_, ApiError>((tx, reservation))
    }
    .await;
    match written {
        Ok((tx, reservation)) => Ok((tx, reservation, separate)),
        Err(err) => {
            // A reservation made inside the save went with its rollback.
            if let Some(r) = &separate {
                quota::release(db, r).await;
            }
            Err(err)
        }
    }
}

/// A save begun with its reservation made outside it (committed already): the save's
/// transaction, with the reservation also as the one to give back if it never commits;
/// or, if the save failed or found its conversation unwritable, the reservation given
/// back and why.
async fn saved_or_given_back(
    state: &AppState,
    ctx: &TenantCtx,
    conversation_id: Uuid,
    begun: Result<(Vec<u64>, Tx), sea_orm::DbErr>,
    reservation: quota::Reservation,
) -> Result<(Tx, quota::Reservation, Option<quota::Reservation>), ApiError> {
    let written = match begun {
        Ok((changed, tx)) => check_written(state, ctx, conversation_id, &changed, tx).await,
        Err(err) => Err(why_not_saved(state, ctx, conversation_id, err.into()).await),
    };
    match written {
        Ok(tx) => Ok((tx, reservation.clone(), Some(reservation))),
        Err(err) => {
            quota::release(&state.db, &reservation).await;
            Err(err)
        }
    }
}

/// The save's transaction if the conversation's update (the first write) changed its
/// row; if not, why (see [`why_not_saved`]): gone, no longer the caller's, or messages
/// were deleted from it since it was read.
async fn check_written(
    state: &AppState,
    ctx: &TenantCtx,
    conversation_id: Uuid,
    changed: &[u64],
    tx: Tx,
) -> Result<Tx, ApiError> {
    if changed.first() == Some(&1) {
        return Ok(tx);
    }
    tx.rollback().await?;
    let pruned = ApiError::conflict(
        "conversation_changed",
        "Messages were deleted from this conversation while this one was being sent: send it again.",
    );
    Err(why_not_saved(state, ctx, conversation_id, pruned).await)
}

/// Why a save found its conversation unwritable, as a read now says it: gone (404) or
/// no longer the caller's to write (403); `err` if the conversation looks fine.
async fn why_not_saved(
    state: &AppState,
    ctx: &TenantCtx,
    conversation_id: Uuid,
    err: ApiError,
) -> ApiError {
    let read = async {
        let tx = state.db.tenant(ctx.scope(), false).await?;
        find_writable(&tx, ctx, conversation_id).await
    };
    match read.await {
        Err(why) => why,
        Ok(_) => err,
    }
}
