//! Monthly token quotas, reserved before a call and settled after.
//!
//! A reservation is one conditional UPDATE (`used + reserved + n <= limit`), committed at
//! once, so concurrent requests can never together reserve more than the limit; the answer
//! is capped at the reserved completion budget, and each further round of an answer that
//! calls tools is reserved before it is asked ([`extend`]), so settling cannot overshoot
//! either. The counters are hot rows: their transactions are short and do not wait for
//! the disk (see [`reserve`]); the durable record of spending is the usage ledger.

use chrono::{Datelike, TimeZone, Utc};
use nexus_kernel::ApiError;
use nexus_kernel::db::{Db, Engine, Scope, Tx, Write};
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{Expr, OnConflict, UpdateStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait,
    UpdateMany,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::quota_usage::{self, Column};

/// The workspace total's row uses the nil user id.
pub(super) const WORKSPACE_ROW: Uuid = Uuid::nil();

/// What a call asks to reserve, against which limits.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub workspace_id: Uuid,
    /// The member, for a per-member limit (none for API keys).
    pub user_id: Option<Uuid>,
    pub tokens: u64,
    pub workspace_limit: u64,
    pub member_limit: Option<u64>,
}

impl Budget {
    /// The member's counter row and limit, when the member has a limit of their own.
    fn member_row(&self) -> Option<(Uuid, u64)> {
        self.user_id.zip(self.member_limit)
    }

    /// The member whose own limit a reservation of this budget also takes from.
    pub fn member_reserved(&self) -> Option<Uuid> {
        self.member_row().map(|(user, _)| user)
    }

    fn reservation(&self, period: String, user_id: Option<Uuid>) -> Reservation {
        Reservation {
            workspace_id: self.workspace_id,
            period,
            user_id,
            tokens: self.tokens,
            lease: None,
            leased: 0,
        }
    }

    /// This budget's tokens as a share of `lease` (see [`super::leases`]), which
    /// reserved them on the workspace's row of `period`.
    pub(super) fn leased_share(&self, lease: Uuid, period: String) -> Reservation {
        Reservation {
            lease: Some(lease),
            leased: self.tokens,
            ..self.reservation(period, None)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reservation {
    workspace_id: Uuid,
    period: String,
    user_id: Option<Uuid>,
    /// All it holds on the counters: what it reserved, and any further rounds.
    pub tokens: u64,
    /// The lease it was handed out from, if any (see [`super::leases`]): that lease's
    /// row holds `leased` of `tokens`, and its settlement takes them off there too.
    lease: Option<Uuid>,
    leased: u64,
}

impl Reservation {
    /// What the answer it pays for keeps on its row for a recovery after a stop: all it
    /// holds but what a lease's row holds.
    pub fn held_by_answer(&self) -> u64 {
        self.tokens - self.leased
    }

    /// What is left to settle once the recovery of answers left streaming gave back what
    /// the answer's row held: the lease's share, if any. (A turn later still than its
    /// lease, which gave back what it held when it expired, settles that share a second
    /// time: a known limit, see docs/ai.md.)
    pub fn after_recovery(&self) -> Reservation {
        Reservation {
            tokens: self.leased,
            ..self.clone()
        }
    }
}

pub fn current_period() -> String {
    Utc::now().format("%Y-%m").to_string()
}

/// When this month's quota resets: the first instant of next month, UTC.
pub fn resets_at() -> chrono::DateTime<Utc> {
    let now = Utc::now();
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// The UPDATE that adds `tokens` to a counter row's reservation if it stays within
/// `limit`.
fn reserve_update(
    workspace_id: Uuid,
    period: &str,
    row: Uuid,
    tokens: u64,
    limit: u64,
) -> UpdateMany<quota_usage::Entity> {
    let n = tokens as i64;
    // A limit past what the column holds (`u64::MAX` for "no limit") is no limit.
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    quota_usage::Entity::update_many()
        .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(n))
        .filter(Column::WorkspaceId.eq(workspace_id))
        .filter(Column::Period.eq(period))
        .filter(Column::UserId.eq(row))
        .filter(
            Expr::col(Column::Used)
                .add(Expr::col(Column::Reserved))
                .add(n)
                .lte(limit),
        )
}

/// Add `tokens` to a counter row's reservation if it stays within `limit`.
pub(super) async fn try_reserve(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    period: &str,
    row: Uuid,
    tokens: u64,
    limit: u64,
) -> Result<bool, ApiError> {
    let reserve = || reserve_update(workspace_id, period, row, tokens, limit).exec(db);
    if reserve().await?.rows_affected == 1 {
        return Ok(true);
    }
    // Nothing updated: over the limit, or the month's row does not exist yet (the first
    // call of the month). Make sure it exists, then try once more.
    ensure_row(db, workspace_id, period, row).await?;
    Ok(reserve().await?.rows_affected == 1)
}

/// Create a counter row for the month if there is none yet.
async fn ensure_row(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    period: &str,
    row: Uuid,
) -> Result<(), ApiError> {
    quota_usage::Entity::insert(quota_usage::ActiveModel {
        workspace_id: Set(workspace_id),
        period: Set(period.to_owned()),
        user_id: Set(row),
        used: Set(0),
        reserved: Set(0),
    })
    .on_conflict(
        OnConflict::columns([Column::WorkspaceId, Column::Period, Column::UserId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn exceeded(what: &str) -> ApiError {
    ApiError::RateLimitedWith {
        code: "ai_quota_exceeded",
        message: format!("{what} monthly AI token quota is used up."),
        retry_after_secs: Ord::max((resets_at() - Utc::now()).num_seconds(), 1) as u64,
        details: json!({ "resets_at": resets_at() }),
    }
}

/// Reserve `tokens` against the workspace's monthly limit and, if set, the member's, in
/// a transaction of its own, committed before the work it pays for starts. The
/// conditional UPDATE row-locks the counter (PostgreSQL) or runs under the single writer
/// (SQLite), so concurrent reservations never exceed the limit.
///
/// Every message of a workspace passes through this one row, and the lock lasts until
/// the commit returns, so the commit does not wait for the disk
/// ([`Tx::relax_durability`](nexus_kernel::db::Tx::relax_durability)): with a flush per
/// commit, samples of 50 messages at once found most of them waiting on this row's lock.
/// A crash can lose
/// the last moment's reservations, which only the crash's own interrupted answers used.
/// If the work fails to start, [`release`] gives the reservation back.
pub async fn reserve(db: &Db, budget: &Budget) -> Result<Reservation, ApiError> {
    // Most messages: one statement in one round trip (`Db::single_update`).
    if let Some((update, reservation)) = one_statement(budget)
        && db
            .single_update(scope(budget.workspace_id), true, &update)
            .await?
            == 1
    {
        return Ok(reservation);
    }
    // Otherwise (or when that updated nothing: over the limit, or the month's first
    // call) one transaction checks both rows and creates the month's if need be.
    let tx = counter_tx(db, budget.workspace_id).await?;
    let reservation = reserve_in(&tx, budget).await?;
    tx.commit().await?;
    Ok(reservation)
}

/// The reservation as one UPDATE, when it is one: no limit per member, so only the
/// workspace's row changes. It changes one row, or none when the limit is reached or the
/// month's row does not exist yet; then [`reserve_in`] says which (and creates the row).
/// On PostgreSQL it is committed at once, on its own (see [`reserve`]):
/// [`Db::single_update`] or [`Db::single_update_then_write`]; on SQLite it is the first
/// statement of the message's save (see [`folds_into_writes`]).
pub fn one_statement(budget: &Budget) -> Option<(UpdateStatement, Reservation)> {
    if budget.member_row().is_some() {
        return None;
    }
    let period = current_period();
    let update = reserve_update(
        budget.workspace_id,
        &period,
        WORKSPACE_ROW,
        budget.tokens,
        budget.workspace_limit,
    );
    Some((update.into_query(), budget.reservation(period, None)))
}

/// Whether the counters are written inside a message's own write transactions rather
/// than in transactions of their own ([`reserve_in`], [`settle_update`]).
///
/// On SQLite, yes: its one writer at a time is already the lock on every row, and commits
/// do not wait for the disk, so a transaction of its own only adds a hand-off of the
/// writer, and every message queued for it four times. On PostgreSQL, no: the counter's
/// row lock would last through the message's durable commit (see [`reserve`]).
pub fn folds_into_writes(db: &Db) -> bool {
    db.engine() == Engine::Sqlite
}

/// Reserve inside the caller's write transaction (see [`folds_into_writes`]). A refusal
/// is an error, and the caller's rollback then leaves nothing behind.
pub async fn reserve_in(tx: &Tx, budget: &Budget) -> Result<Reservation, ApiError> {
    let period = current_period();
    reserve_rows(tx, budget, &period).await?;
    Ok(budget.reservation(period, budget.member_reserved()))
}

/// Add `budget.tokens` to the month's counter rows `budget` limits, or refuse.
async fn reserve_rows(tx: &Tx, budget: &Budget, period: &str) -> Result<(), ApiError> {
    let rows = std::iter::once((WORKSPACE_ROW, budget.workspace_limit, "This workspace's")).chain(
        budget
            .member_row()
            .map(|(user, limit)| (user, limit, "Your")),
    );
    for (row, limit, whose) in rows {
        if !try_reserve(tx, budget.workspace_id, period, row, budget.tokens, limit).await? {
            return Err(exceeded(whose));
        }
    }
    Ok(())
}

/// Reserve `extra` more tokens for work a reservation already pays for (a further round
/// of a turn that called tools), against the same limits and month, in a transaction of
/// its own like [`reserve`]. On success the reservation covers `extra` too, and its
/// settlement gives it back with the rest; a refusal changes nothing.
/// `with` are written in the same transaction (the answer's record of what it holds).
pub async fn extend(
    db: &Db,
    r: &mut Reservation,
    budget: &Budget,
    extra: u64,
    with: &[Write<'_>],
) -> Result<(), ApiError> {
    let more = Budget {
        tokens: extra,
        ..*budget
    };
    let tx = counter_tx(db, r.workspace_id).await?;
    reserve_rows(&tx, &more, &r.period).await?;
    for write in with {
        tx.write(*write).await?;
    }
    tx.commit().await?;
    r.tokens += extra;
    Ok(())
}

pub(super) fn scope(workspace_id: Uuid) -> Scope {
    Scope {
        workspace_id,
        user_id: None,
    }
}

/// A write transaction on a workspace's counters (see [`reserve`]).
pub(super) async fn counter_tx(db: &Db, workspace_id: Uuid) -> Result<Tx, ApiError> {
    let tx = db.tenant(scope(workspace_id), true).await?;
    tx.relax_durability().await?;
    Ok(tx)
}

/// Give back a reservation whose work never started.
pub async fn release(db: &Db, r: &Reservation) {
    settle(db, r, 0).await;
}

/// Turn a reservation into what was actually used. Best effort: a failure is logged, and
/// the month's counters stay conservative (reserved tokens count as used).
pub async fn settle(db: &Db, r: &Reservation, actual: u64) {
    let result = db
        .updates_at_once(scope(r.workspace_id), true, &settle_updates(r, actual))
        .await;
    if let Err(err) = result {
        tracing::error!(error = ?err, "could not settle an AI quota reservation");
    }
}

/// The settlement's statements, for a caller that sends them with its own writes (see
/// [`folds_into_writes`]): the counters', and the lease's if the reservation was handed
/// out from one. They must commit together.
pub fn settle_updates(r: &Reservation, actual: u64) -> Vec<UpdateStatement> {
    std::iter::once(settle_update(r, actual))
        .chain(
            r.lease
                .map(|lease| super::leases::lease_update(r.workspace_id, lease, r.leased)),
        )
        .collect()
}

/// The counters' settlement: the workspace's row and the member's (if reserved) change
/// alike.
fn settle_update(r: &Reservation, actual: u64) -> UpdateStatement {
    let rows: Vec<Uuid> = std::iter::once(WORKSPACE_ROW).chain(r.user_id).collect();
    quota_usage::Entity::update_many()
        .col_expr(
            Column::Reserved,
            Expr::col(Column::Reserved).sub(r.tokens as i64),
        )
        .col_expr(Column::Used, Expr::col(Column::Used).add(actual as i64))
        .filter(Column::WorkspaceId.eq(r.workspace_id))
        .filter(Column::Period.eq(&r.period))
        .filter(Column::UserId.is_in(rows))
        .into_query()
}

/// The settlements of answers committed together (`actual` tokens used by each): one
/// statement for each set of counter rows (workspace, month, member), with the
/// reservations and the tokens used summed, in the place of the first answer that
/// settles those rows, and none in the others'; and likewise one for each lease, after
/// its workspace's counters (every transaction takes a workspace's counter row before
/// its leases' rows, so none waits on another). At 800 answers a second the
/// workspace's row was updated once per answer; now once per group and member limit
/// counted (a member's settlement changes the workspace's row too), and held that much
/// less.
pub fn settle_together(each: &[(&Reservation, u64)]) -> Vec<Vec<UpdateStatement>> {
    // Each set of rows, summed, in the order it first appears; each lease likewise.
    let mut sums: Vec<(Reservation, u64)> = Vec::new();
    let mut leases: Vec<(Uuid, Uuid, u64)> = Vec::new();
    let mut places = Vec::with_capacity(each.len());
    for &(r, actual) in each {
        let same = sums.iter().position(|(s, _)| {
            (s.workspace_id, &s.period, s.user_id) == (r.workspace_id, &r.period, r.user_id)
        });
        let counters = match same {
            Some(i) => {
                sums[i].0.tokens += r.tokens;
                sums[i].1 += actual;
                None
            }
            None => {
                sums.push((r.clone(), actual));
                Some(sums.len() - 1)
            }
        };
        let lease = r
            .lease
            .and_then(|id| match leases.iter().position(|(_, l, _)| *l == id) {
                Some(i) => {
                    leases[i].2 += r.leased;
                    None
                }
                None => {
                    leases.push((r.workspace_id, id, r.leased));
                    Some(leases.len() - 1)
                }
            });
        places.push((counters, lease));
    }
    places
        .into_iter()
        .map(|(counters, lease)| {
            let counters = counters.map(|i| settle_update(&sums[i].0, sums[i].1));
            let lease = lease.map(|i| {
                let (workspace_id, id, tokens) = leases[i];
                super::leases::lease_update(workspace_id, id, tokens)
            });
            counters.into_iter().chain(lease).collect()
        })
        .collect()
}

/// The UPDATE that gives back `tokens` an answer created at `created_at` had reserved
/// (for `member`'s own limit too, if given) and never settled: a crash stopped it (see
/// `messages::recovery`).
pub fn give_back_update(
    workspace_id: Uuid,
    created_at: chrono::DateTime<Utc>,
    member: Option<Uuid>,
    tokens: u64,
) -> UpdateStatement {
    give_back_in(
        workspace_id,
        created_at.format("%Y-%m").to_string(),
        member,
        tokens,
    )
}

/// The UPDATE that gives back `tokens` reserved on the counters of `period` (and
/// `member`'s, if given).
pub(super) fn give_back_in(
    workspace_id: Uuid,
    period: String,
    member: Option<Uuid>,
    tokens: u64,
) -> UpdateStatement {
    let r = Reservation {
        workspace_id,
        period,
        user_id: member,
        tokens,
        lease: None,
        leased: 0,
    };
    settle_update(&r, 0)
}

/// Tokens used this month (settled), for the usage report.
pub async fn used_this_month(
    db: &impl sea_orm::ConnectionTrait,
    workspace_id: Uuid,
) -> Result<u64, ApiError> {
    let row = quota_usage::Entity::find()
        .filter(Column::WorkspaceId.eq(workspace_id))
        .filter(Column::Period.eq(current_period()))
        .filter(Column::UserId.eq(WORKSPACE_ROW))
        .one(db)
        .await?;
    Ok(row.map(|r| Ord::max(r.used, 0) as u64).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::PostgresQueryBuilder;

    fn reserved(workspace_id: Uuid, user_id: Option<Uuid>, tokens: u64) -> Reservation {
        Reservation {
            workspace_id,
            period: "2026-11".into(),
            user_id,
            tokens,
            lease: None,
            leased: 0,
        }
    }

    /// A limit above what PostgreSQL's bigint holds (an operator's `u64::MAX` for "no
    /// limit") is the largest it holds, not a negative number that refuses everything.
    #[test]
    fn a_limit_past_the_column_is_no_limit() {
        let update = reserve_update(Uuid::now_v7(), "2026-11", WORKSPACE_ROW, 10, u64::MAX);
        let text = update.into_query().to_string(PostgresQueryBuilder);
        assert!(text.contains(&format!("<= {}", i64::MAX)), "{text}");
    }

    fn sql(statements: &[UpdateStatement]) -> Vec<String> {
        statements
            .iter()
            .map(|s| s.to_string(PostgresQueryBuilder))
            .collect()
    }

    /// One statement per set of counter rows, summed, in the place of the first answer
    /// that settles them: a member's rows are not the workspace's alone, nor is another
    /// workspace's row. Likewise one per lease, after the counters'.
    #[test]
    fn settlements_together_are_summed_per_set_of_rows() {
        let (a, b, member) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (lease, other_lease) = (Uuid::now_v7(), Uuid::now_v7());
        let share = |tokens, lease| Reservation {
            lease: Some(lease),
            leased: tokens,
            ..reserved(a, None, tokens)
        };
        let a1 = reserved(a, None, 100);
        let a_member = reserved(a, Some(member), 70);
        let a2 = share(50, lease);
        let b1 = reserved(b, None, 10);
        // A share whose answer asked for a further round: only the share is the lease's.
        let a3 = Reservation {
            tokens: 5 + 3,
            ..share(5, lease)
        };
        let a4 = share(7, other_lease);
        let together = settle_together(&[
            (&a1, 40),
            (&a_member, 30),
            (&a2, 20),
            (&b1, 1),
            (&a3, 2),
            (&a4, 6),
        ]);
        let expected = [
            vec![settle_update(
                &reserved(a, None, 100 + 50 + 8 + 7),
                40 + 20 + 2 + 6,
            )],
            vec![settle_update(&a_member, 30)],
            vec![super::super::leases::lease_update(a, lease, 50 + 5)],
            vec![settle_update(&b1, 1)],
            vec![],
            vec![super::super::leases::lease_update(a, other_lease, 7)],
        ];
        assert_eq!(
            together.iter().map(|s| sql(s)).collect::<Vec<_>>(),
            expected.iter().map(|s| sql(s)).collect::<Vec<_>>()
        );
    }
}
