//! Quota leases, on PostgreSQL: in a busy moment a process reserves many messages'
//! quota at once, and hands it out from memory.
//!
//! Every message reserves its quota on its workspace's counter row before it starts
//! ([`quota::reserve`]), in a transaction of its own. When hundreds of a workspace's
//! messages arrive each second, those transactions are a tenth of what each message
//! costs PostgreSQL (`bench/AI_RESULTS.md`), and each waits its turn for the row. So
//! once this process has reserved for a workspace within the last [`BUSY`], the next
//! message takes a lease of many times its own reservation, in one transaction with the
//! lease's row, and it and the messages that come over the next [`HANDOUT`] take their
//! shares from it without touching the counter. Then what was never handed out goes
//! back. A lease is [`FEWEST_SHARES`] reservations at first, twice the last one's when
//! that was all handed out before its time was up, and half when it ended with more than
//! half left or did not fit (see [`Slot::resize`]): messages wait while a lease is taken,
//! so the busier the workspace, the rarer that should be. A quiet workspace, a member
//! with a limit of their own, and SQLite (where the reservation is a statement of the
//! message's own save: [`quota::folds_into_writes`]) keep reserving per message.
//!
//! The limit holds as before: a lease is reserved under the same condition as a
//! message, and an answer is capped at its share. When a lease no longer fits, messages
//! reserve one by one again, so near the limit concurrent requests overspend by at most
//! one request's reservation, as they did.
//!
//! A lease's row holds what the lease still holds on the counter: what was never
//! handed out and what was handed out and not yet settled. Whatever takes tokens off the
//! counter for a lease takes them off its row in the same transaction: an answer's
//! settlement ([`quota::settle_updates`]) and the give-back of what was never handed
//! out. So if the process stops (a crash, or a shutdown before the give-back), the row
//! says exactly what is left held, and once no answer the lease paid for can be running
//! (its `expires_at`), the workspace's next recovery gives it back and deletes the row
//! ([`give_back_expired`]), as it does an abandoned answer's reservation. The answers
//! paid for by a lease keep none of it on their own rows (see
//! [`quota::Reservation::held_by_answer`]), so nothing is given back twice.

use chrono::{DateTime, Utc};
use nexus_kernel::AppState;
use nexus_kernel::db::{Db, Tx, Write};
use sea_orm::sea_query::{Expr, ExprTrait, UpdateStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::quota::{self, Budget, Reservation};
use crate::entities::quota_lease::{self, Column};

/// A workspace is busy when this process reserved for it this recently.
const BUSY: Duration = Duration::from_secs(1);
/// How long a lease hands out shares; then what is left of it goes back.
const HANDOUT: Duration = Duration::from_secs(2);
/// A workspace's first lease is this many times the reservation of the message that
/// takes it; a lease is never smaller.
const FEWEST_SHARES: u64 = 16;
/// Nor larger than this many times. At 800 messages a second, about one lease a second.
const MOST_SHARES: u64 = 1024;
/// Above this many workspaces remembered, the quiet ones are forgotten.
const MAX_REMEMBERED: usize = 10_000;
/// Expired leases given back per recovery; more wait for the next.
const PER_LOOK: u64 = 500;

/// This process's leases, one workspace at a time.
#[derive(Default)]
pub struct Leases {
    slots: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// One workspace's: held while a share is handed out or a lease taken, so messages that
/// arrive while a lease is being taken wait for it rather than each reserve alone.
struct Slot {
    /// When this process last reserved for the workspace.
    last_asked: Option<Instant>,
    /// Until then no lease is tried: the last one did not fit (or could not be taken).
    no_lease_until: Option<Instant>,
    /// The next lease is this many times its message's reservation.
    shares: u64,
    open: Option<Open>,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            last_asked: None,
            no_lease_until: None,
            shares: FEWEST_SHARES,
            open: None,
        }
    }
}

impl Slot {
    /// Size the next lease by how this one went (see the module docs).
    fn resize(&mut self, done: &Open, now: Instant) {
        if done.until > now {
            // Handed out before its time was up.
            self.shares = Ord::min(self.shares * 2, MOST_SHARES);
        } else if done.left > done.size / 2 {
            self.halve();
        }
    }

    /// Make the next lease half as large: this one was too large to fit, or to use.
    fn halve(&mut self) {
        self.shares = Ord::max(self.shares / 2, FEWEST_SHARES);
    }
}

/// A lease handing out shares.
struct Open {
    id: Uuid,
    period: String,
    /// Reserved in all.
    size: u64,
    /// Not handed out yet.
    left: u64,
    /// Handing out until then.
    until: Instant,
}

impl Leases {
    /// `budget` as a share of a lease, when leases are used (see the module docs): from
    /// the workspace's open lease, or from one taken now. `None`: reserve it on its own.
    /// A lease that cannot be taken (the limit is near, or the database failed) is not
    /// tried again for [`HANDOUT`].
    pub async fn share(&self, state: &AppState, budget: &Budget) -> Option<Reservation> {
        if quota::folds_into_writes(&state.db) || budget.member_reserved().is_some() {
            return None;
        }
        let slot = self.slot(budget.workspace_id);
        let mut held = slot.lock().await;
        let now = Instant::now();
        let busy = held.last_asked.is_some_and(|at| now - at < BUSY);
        held.last_asked = Some(now);
        let period = quota::current_period();
        if let Some(open) = &mut held.open
            && open.until > now
            && open.period == period
            && open.left >= budget.tokens
        {
            open.left -= budget.tokens;
            return Some(budget.leased_share(open.id, period));
        }
        // Over, or too little left: what is left goes back now.
        if let Some(done) = held.open.take() {
            held.resize(&done, now);
            let db = state.db.clone();
            let workspace_id = budget.workspace_id;
            tokio::spawn(async move { give_back(&db, workspace_id, done).await });
        }
        if !busy || held.no_lease_until.is_some_and(|until| now < until) {
            return None;
        }
        let taken = take(state, budget, &period, held.shares).await;
        let Some(mut open) = taken else {
            held.no_lease_until = Some(now + HANDOUT);
            held.halve();
            return None;
        };
        open.left -= budget.tokens;
        let share = budget.leased_share(open.id, period);
        tokio::spawn(close_after_handout(
            slot.clone(),
            budget.workspace_id,
            open.id,
            state.db.clone(),
            state.shutdown.clone(),
        ));
        held.open = Some(open);
        Some(share)
    }

    fn slot(&self, workspace_id: Uuid) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= MAX_REMEMBERED && !slots.contains_key(&workspace_id) {
            // Forget those no one is using and that are not busy: a slot in use or with
            // a lease open stays (its closer holds it too).
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .map_or(true, |s| s.last_asked.is_some_and(|at| at.elapsed() < BUSY))
            });
        }
        slots.entry(workspace_id).or_default().clone()
    }
}

/// Take a lease of `shares` times `budget` on the workspace's counter of `period`, with
/// its row, in one transaction (which does not wait for the disk, like
/// [`quota::reserve`]'s: a stop that loses it loses the lease's row with it). `None`:
/// it does not fit, or the database failed.
async fn take(state: &AppState, budget: &Budget, period: &str, shares: u64) -> Option<Open> {
    let tokens = budget.tokens.saturating_mul(shares);
    let stream_timeout = Duration::from_secs(Ord::max(state.settings.ai_stream_timeout_secs, 1));
    // No answer it pays for runs past this: they are handed out within `HANDOUT`, and
    // each lives no longer than a turn (see `messages::recovery`).
    let expires_at = chrono::Duration::from_std(
        HANDOUT + crate::messages::recovery::longest_turn(stream_timeout),
    )
    .ok()
    .and_then(|life| Utc::now().checked_add_signed(life))
    .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let id = Uuid::now_v7();
    let taken = async {
        let tx = quota::counter_tx(&state.db, budget.workspace_id).await?;
        let row = quota::WORKSPACE_ROW;
        let limit = budget.workspace_limit;
        if !quota::try_reserve(&tx, budget.workspace_id, period, row, tokens, limit).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let insert = quota_lease::Entity::insert(quota_lease::ActiveModel {
            workspace_id: Set(budget.workspace_id),
            id: Set(id),
            period: Set(period.to_owned()),
            tokens: Set(tokens as i64),
            expires_at: Set(expires_at),
        })
        .into_query();
        tx.write(Write::Insert(&insert)).await?;
        tx.commit().await?;
        Ok::<_, nexus_kernel::ApiError>(true)
    };
    match taken.await {
        Ok(true) => Some(Open {
            id,
            period: period.to_owned(),
            size: tokens,
            left: tokens,
            until: Instant::now() + HANDOUT,
        }),
        Ok(false) => None,
        Err(err) => {
            tracing::warn!(error = ?err, "could not take an AI quota lease");
            None
        }
    }
}

/// When the lease's handout is over (or the server is shutting down), give back what
/// was not handed out, unless a message found it over first and did.
async fn close_after_handout(
    slot: Arc<tokio::sync::Mutex<Slot>>,
    workspace_id: Uuid,
    id: Uuid,
    db: Db,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = tokio::time::sleep(HANDOUT) => {}
        () = shutdown.cancelled() => {}
    }
    let done = {
        let mut held = slot.lock().await;
        match held.open.take() {
            Some(open) if open.id == id => {
                held.resize(&open, Instant::now());
                Some(open)
            }
            other => {
                held.open = other;
                None
            }
        }
    };
    if let Some(done) = done {
        give_back(&db, workspace_id, done).await;
    }
}

/// Give back what a lease never handed out, from the counter and the lease's row
/// together. A failure is logged: the row still holds it, and the recovery after the
/// lease expires gives it back.
async fn give_back(db: &Db, workspace_id: Uuid, done: Open) {
    if done.left == 0 {
        return;
    }
    let updates = [
        quota::give_back_in(workspace_id, done.period, None, done.left),
        lease_update(workspace_id, done.id, done.left),
    ];
    let result = db
        .updates_at_once(quota::scope(workspace_id), true, &updates)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = ?err, "could not give back what an AI quota lease had left");
    }
}

/// The UPDATE that takes `tokens` off what a lease's row holds, with the counter's
/// (see the module docs).
pub(super) fn lease_update(workspace_id: Uuid, id: Uuid, tokens: u64) -> UpdateStatement {
    quota_lease::Entity::update_many()
        .col_expr(Column::Tokens, Expr::col(Column::Tokens).sub(tokens as i64))
        .filter(Column::WorkspaceId.eq(workspace_id))
        .filter(Column::Id.eq(id))
        .into_query()
}

/// A lease that expired: its id, its month, and what it still holds.
pub type Expired = (Uuid, String, i64);

/// The workspace's expired leases, for a recovery (`messages::recovery`): left by a stop
/// (holding tokens), or done with (holding none).
pub async fn expired(tx: &Tx, workspace_id: Uuid) -> Result<Vec<Expired>, DbErr> {
    quota_lease::Entity::find()
        .filter(Column::WorkspaceId.eq(workspace_id))
        .filter(Column::ExpiresAt.lt(Utc::now()))
        .select_only()
        .column(Column::Id)
        .column(Column::Period)
        .column(Column::Tokens)
        .limit(PER_LOOK)
        .into_tuple()
        .all(tx)
        .await
}

/// In the recovery's write transaction: delete each expired lease's row and give back
/// what it held, unless it changed since it was read (another recovery got there
/// first). How many held tokens.
pub async fn give_back_expired(
    tx: &Tx,
    workspace_id: Uuid,
    found: Vec<Expired>,
) -> Result<u64, DbErr> {
    let mut given_back = 0;
    for (id, period, tokens) in found {
        let deleted = quota_lease::Entity::delete_many()
            .filter(Column::WorkspaceId.eq(workspace_id))
            .filter(Column::Id.eq(id))
            .filter(Column::Tokens.eq(tokens))
            .exec(tx)
            .await?;
        if deleted.rows_affected == 1 && tokens > 0 {
            let give_back = quota::give_back_in(workspace_id, period, None, tokens as u64);
            tx.write(Write::Update(&give_back)).await?;
            given_back += 1;
        }
    }
    Ok(given_back)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(size: u64, left: u64, until: Instant) -> Open {
        Open {
            id: Uuid::now_v7(),
            period: "2026-11".into(),
            size,
            left,
            until,
        }
    }

    /// A lease handed out before its time was up makes the next one twice as large (up
    /// to the most); one that ended more than half unused, half (down to the fewest);
    /// one that ended mostly used, the same.
    #[test]
    fn the_next_lease_is_sized_by_how_the_last_went() {
        let now = Instant::now();
        let (early, over) = (now + HANDOUT, now);
        let mut slot = Slot::default();
        slot.resize(&lease(1_600, 0, early), now);
        assert_eq!(slot.shares, 2 * FEWEST_SHARES);
        for _ in 0..20 {
            slot.resize(&lease(1_600, 0, early), now);
        }
        assert_eq!(slot.shares, MOST_SHARES);
        slot.resize(&lease(1_600, 800, over), now);
        assert_eq!(slot.shares, MOST_SHARES, "half used is enough");
        slot.resize(&lease(1_600, 801, over), now);
        assert_eq!(slot.shares, MOST_SHARES / 2);
        for _ in 0..20 {
            slot.resize(&lease(1_600, 1_600, over), now);
        }
        assert_eq!(slot.shares, FEWEST_SHARES);
    }
}
