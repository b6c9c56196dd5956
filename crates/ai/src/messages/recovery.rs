//! Answers a crash left `streaming`.
//!
//! An answer is `streaming` from its first save to its final one. If Nexus stops
//! abruptly in between (`kill -9`, the machine, the OOM killer), nothing finishes it: the
//! row would stay `streaming` for good, and its quota reservation (kept on the row as
//! `reserved_tokens`) held until the month ends. No turn lives longer than the stream
//! timeout (every round, opening included, is bounded by it) and its final save, so an
//! answer still `streaming` a minute past that (or the stream timeout again, if shorter)
//! belongs to no running Nexus, on any replica. Before a workspace's next turn, and when a conversation's messages are read,
//! such answers are marked `interrupted` (what was checkpointed is kept, and can be
//! regenerated) and their reservations given back, in one transaction scoped to the
//! workspace. Each process looks at most once a minute per workspace (once per stream
//! timeout, if shorter), through a partial index of streaming answers.
//!
//! The same look gives back what expired quota leases still hold (a stop came before
//! their give-back: see `usage::leases`), and deletes the rows of those done with.

use chrono::{DateTime, Utc};
use nexus_kernel::AppState;
use nexus_kernel::db::{Scope, Write};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::entities::message;
use crate::usage::{leases, quota};

/// How often a process looks at one workspace (or once per stream timeout, if shorter).
const LOOK_EVERY: Duration = Duration::from_secs(60);
/// Past the stream timeout, for a turn's last tool calls and its final save (or the
/// stream timeout again, if shorter).
const MARGIN: Duration = Duration::from_secs(60);
/// Answers recovered per look; more wait for the next.
const PER_LOOK: u64 = 500;
/// Above this many workspaces remembered, those not due are forgotten.
const MAX_REMEMBERED: usize = 100_000;

#[derive(Default)]
pub struct Recovery {
    looked: Mutex<HashMap<Uuid, Instant>>,
}

impl Recovery {
    /// Recover the workspace's abandoned answers, unless this process looked within the
    /// last minute. A failure is logged: the next look tries again.
    pub async fn recover(&self, state: &AppState, workspace_id: Uuid) {
        let stream_timeout = Duration::from_secs(state.settings.ai_stream_timeout_secs.max(1));
        if !self.due(workspace_id, LOOK_EVERY.min(stream_timeout)) {
            return;
        }
        match recover_now(state, workspace_id).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(%workspace_id, recovered = n, "recovered answers a stop left streaming, or quota it left leased")
            }
            Err(err) => {
                tracing::warn!(error = ?err, %workspace_id, "could not recover answers left streaming");
            }
        }
    }

    fn due(&self, workspace_id: Uuid, every: Duration) -> bool {
        let now = Instant::now();
        let mut looked = self.looked.lock().unwrap_or_else(|e| e.into_inner());
        if looked
            .get(&workspace_id)
            .is_some_and(|at| now.duration_since(*at) < every)
        {
            return false;
        }
        if looked.len() >= MAX_REMEMBERED {
            looked.retain(|_, at| now.duration_since(*at) < every);
        }
        looked.insert(workspace_id, now);
        true
    }
}

/// An answer left streaming: its id, what it holds of the quota (and for which
/// member's limit too), and when it was created (the month it reserved in).
type Abandoned = (Uuid, i64, Option<Uuid>, DateTime<Utc>);

/// How long a turn can live, at most, from its first save: its rounds, each bounded by
/// the stream timeout, and its final save.
pub(crate) fn longest_turn(stream_timeout: Duration) -> Duration {
    stream_timeout + MARGIN.min(stream_timeout)
}

/// Whether the recovery may take an answer created at `created_at` for abandoned by now,
/// or soon: past the stream timeout and half the margin. A turn that ends this late
/// claims its reservation before its final save (see `engine::claim_reservation`).
pub(crate) fn may_take(stream_timeout_secs: u64, created_at: DateTime<Utc>) -> bool {
    let stream_timeout = Duration::from_secs(stream_timeout_secs.max(1));
    let patience = stream_timeout + MARGIN.min(stream_timeout) / 2;
    chrono::Duration::from_std(patience)
        .ok()
        .and_then(|d| created_at.checked_add_signed(d))
        .is_none_or(|due| Utc::now() >= due)
}

/// Mark the workspace's abandoned answers `interrupted` and give their reservations
/// back, and give back what its expired quota leases hold; how many of either.
pub async fn recover_now(state: &AppState, workspace_id: Uuid) -> Result<u64, DbErr> {
    let stream_timeout = Duration::from_secs(state.settings.ai_stream_timeout_secs.max(1));
    // A stream timeout too large to subtract leaves nothing to recover.
    let cutoff = chrono::Duration::from_std(longest_turn(stream_timeout))
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let scope = Scope {
        workspace_id,
        user_id: None,
    };
    // Nearly always nothing: looked for in a read, written only when found.
    let (found, leases): (Vec<Abandoned>, _) = {
        let tx = state.db.tenant(scope, false).await?;
        let rows = message::Entity::find()
            .filter(message::Column::WorkspaceId.eq(workspace_id))
            .filter(message::Column::Status.eq("streaming"))
            .filter(message::Column::CreatedAt.lt(cutoff))
            .select_only()
            .column(message::Column::Id)
            .column(message::Column::ReservedTokens)
            .column(message::Column::ReservedFor)
            .column(message::Column::CreatedAt)
            .limit(PER_LOOK)
            .into_tuple()
            .all(&tx)
            .await?;
        let leases = leases::expired(&tx, workspace_id).await?;
        tx.rollback().await?;
        (rows, leases)
    };
    if found.is_empty() && leases.is_empty() {
        return Ok(0);
    }
    let tx = state.db.tenant(scope, true).await?;
    let now = Utc::now();
    let error = json!({
        "code": "server_restarted",
        "message": "The server stopped while this answer was written; what had arrived is kept.",
    });
    let mut recovered = leases::give_back_expired(&tx, workspace_id, leases).await?;
    for (id, reserved, member, created_at) in found {
        let mark = message::Entity::update_many()
            .col_expr(message::Column::Status, Expr::value("interrupted"))
            .col_expr(message::Column::Error, Expr::value(error.clone()))
            .col_expr(message::Column::ReservedTokens, Expr::value(0i64))
            .col_expr(message::Column::UpdatedAt, Expr::value(now))
            .filter(message::Column::WorkspaceId.eq(workspace_id))
            .filter(message::Column::Id.eq(id))
            // Still streaming when written: a late final save wins (it settled itself).
            .filter(message::Column::Status.eq("streaming"))
            // And still holding what was read: a late turn claims its reservation
            // before its final save (see `may_take`), and then settles it itself.
            .filter(message::Column::ReservedTokens.eq(reserved))
            .into_query();
        if tx.write(Write::Update(&mark)).await? != 1 {
            continue;
        }
        recovered += 1;
        if reserved > 0 {
            let give_back =
                quota::give_back_update(workspace_id, created_at, member, reserved as u64);
            tx.write(Write::Update(&give_back)).await?;
        }
    }
    tx.commit().await?;
    Ok(recovered)
}
