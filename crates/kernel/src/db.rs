//! The database: SQLite (embedded default) or PostgreSQL, chosen by the URL's scheme.
//!
//! Tenant data is only reached through [`Db::tenant`], which opens a transaction bound to
//! one workspace. On PostgreSQL that binding is also the row-level-security key
//! (`app.workspace_id`), so a query that forgets its `workspace_id` filter still sees
//! nothing of other workspaces.
//!
//! Transactions are [`Tx`], not SeaORM's type, because each engine wants its own shape:
//! - SQLite writers queue on an in-process lock instead of on SQLite's busy handler (which
//!   sleeps and so adds tens of milliseconds to the tail) and write on one connection of
//!   their own (which keeps its page cache: see [`Db`]), and read scopes run on the pool
//!   without `BEGIN`/`COMMIT` (SQLite has no row-level security to bind, and each
//!   statement is a round trip to the connection's worker thread). A write transaction
//!   begins with its first statement, and a batch of writes goes out in one round trip
//!   (see [`SqliteTx`]): every round trip is made while all other writers wait;
//! - PostgreSQL transactions begin with their first statement, sending `BEGIN` and the
//!   row-level-security settings in one round trip (see [`PgTx`]).

use futures::TryStreamExt;
use sea_orm::sea_query::{InsertStatement, PostgresQueryBuilder, UpdateStatement, Values};
use sea_orm::sqlx::{
    self, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool,
    pool::PoolConnection,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, ExecResult, QueryResult, RuntimeErr, Statement, TransactionTrait,
};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};
use uuid::Uuid;

use crate::hot_cache::HotCache;
use prepared::{Checkout, PreparedPool, Stmt};

mod prepared;

/// How long a write waits for the database before giving up (the SQLite busy timeout, and
/// the wait for the in-process writer lock).
const WRITE_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    /// SQLite allows one writer at a time. Queuing here is fair and wakes the next writer
    /// the moment the last one commits; SQLite's busy handler polls with sleeps instead.
    writer: Arc<Mutex<()>>,
    /// SQLite: writers that others should not wait behind ([`Db::write_and_commit`]) queue
    /// here first, one at a time, so that at most one of them is ever in the writer's
    /// queue ahead of a write someone is waiting on.
    yielding: Arc<Mutex<()>>,
    /// Reads derived from this database; write transactions mark what they make stale.
    cache: Arc<HotCache>,
    /// PostgreSQL: connections for [`Db::single_update`] and the like, whose statements
    /// stay prepared (see [`prepared`]).
    prepared: Option<Arc<PreparedPool>>,
    /// SQLite: the one connection every write transaction runs on. Writers take turns
    /// anyway (`writer`), and a connection that is the only one writing keeps its page
    /// cache from one transaction to the next; SQLite empties a connection's cache
    /// whenever another connection has written since its last transaction, so writes
    /// spread over the pool re-read the pages they touch, every time.
    sqlite_writer: Option<SqlitePool>,
}

/// A unit of work on the database. Dropping a `Tx` without [`Tx::commit`] rolls it back.
pub struct Tx {
    inner: TxInner,
    /// Where this transaction came from, for [`Tx::reader`] and the cache.
    db: Db,
    /// The workspace it was bound to, if it was (see [`Tx::bind_scope`]).
    scope: std::sync::Mutex<Option<Scope>>,
    /// Cache tags to forget once this transaction commits (see [`Tx::mark_stale`]).
    stale: std::sync::Mutex<Vec<Uuid>>,
}

enum TxInner {
    /// SQLite write transactions (see [`SqliteTx`]).
    SqliteWrite(SqliteTx),
    /// SQLite snapshots.
    Sqlite(DatabaseTransaction),
    /// SQLite reads: every statement sees the latest committed data on its own.
    Pool(DatabaseConnection),
    Postgres(PgTx),
}

/// How a PostgreSQL read scope begins ([`Db::begin_read`]): read-only, `READ COMMITTED`,
/// so each statement sees the latest commit (which [`Tx::read_together`] relies on).
const BEGIN_READ: &str = "BEGIN READ ONLY";

/// A PostgreSQL transaction that begins with its first statement. The `BEGIN` and the
/// scope settings (`app.workspace_id`, …) then travel in one simple-protocol round trip
/// instead of three (`BEGIN`, `SET TRANSACTION`, `set_config`), and a request answered
/// from the hot cache never takes a connection at all.
struct PgTx {
    pool: PgPool,
    state: Arc<Mutex<PgState>>,
}

struct PgState {
    /// `BEGIN` with this transaction's characteristics.
    begin: &'static str,
    /// Nothing to commit: ending it is a rollback that need not be waited for.
    read_only: bool,
    /// Settings waiting to go out with the `BEGIN`.
    pending: Vec<(&'static str, String)>,
    /// Once begun.
    tx: Option<PgConn>,
}

/// A begun PostgreSQL transaction.
enum PgConn {
    /// Begun by sqlx (our `BEGIN` with the settings): dropping it queues the rollback.
    Sqlx(sqlx::Transaction<'static, Postgres>),
    /// Begun inside a longer query of ours ([`Db::single_update_then_write`]): dropped,
    /// it is rolled back before its connection is used again.
    Prepared(Checkout),
}

impl PgConn {
    fn connection(&mut self) -> &mut PgConnection {
        match self {
            Self::Sqlx(tx) => tx,
            Self::Prepared(conn) => conn.connection(),
        }
    }
}

/// A pooled connection inside a transaction that sqlx did not begin, and so would return
/// to the pool still open. Until the transaction ends, dropping this closes the
/// connection instead, which rolls the transaction back.
struct RawTx<DB: sqlx::Database> {
    conn: PoolConnection<DB>,
    open: bool,
}

impl<DB: sqlx::Database> RawTx<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    /// Take `conn` before sending a query that may leave it inside a transaction: if that
    /// query fails or is cancelled half-way, the connection's state is unknown and it is
    /// not reused.
    fn new(conn: PoolConnection<DB>) -> Self {
        Self { conn, open: true }
    }

    /// Commit or roll back. Until that has succeeded (an error, or the future dropped
    /// half-way), the transaction counts as open.
    async fn end(&mut self, commit: bool) -> Result<(), DbErr> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *self.conn)
            .await
        {
            Ok(_) => {}
            // SQLite ends a transaction itself on some errors (a full disk, an
            // interrupted statement): nothing is left to roll back.
            Err(sqlx::Error::Database(e))
                if !commit && e.message().contains("no transaction is active") => {}
            Err(e) => return Err(exec_err(e)),
        }
        self.open = false;
        Ok(())
    }
}

impl<DB: sqlx::Database> Drop for RawTx<DB> {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}

impl PgTx {
    fn new(pool: &PgPool, begin: &'static str, read_only: bool) -> Self {
        Self {
            pool: pool.clone(),
            state: Arc::new(Mutex::new(PgState {
                begin,
                read_only,
                pending: Vec::new(),
                tx: None,
            })),
        }
    }

    /// A write transaction that is already open on `conn`.
    fn begun(pool: &PgPool, conn: Checkout) -> Self {
        Self {
            pool: pool.clone(),
            state: Arc::new(Mutex::new(PgState {
                begin: "BEGIN",
                read_only: false,
                pending: Vec::new(),
                tx: Some(PgConn::Prepared(conn)),
            })),
        }
    }

    /// The transaction, begun now if this is its first statement.
    async fn open(&self) -> Result<OwnedMappedMutexGuard<PgState, PgConnection>, DbErr> {
        // Owned: a guard that borrows the mutex makes the query futures below fail the
        // compiler's `Send` check for all lifetimes.
        let mut state = self.state.clone().lock_owned().await;
        if state.tx.is_none() {
            let sql = if state.pending.is_empty() {
                state.begin.to_owned()
            } else {
                format!("{}; {}", state.begin, set_config_sql(&state.pending))
            };
            let tx = self
                .pool
                .begin_with(sqlx::AssertSqlSafe(sql))
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
            state.tx = Some(PgConn::Sqlx(tx));
        }
        Ok(OwnedMutexGuard::map(state, |s| {
            s.tx.as_mut()
                .expect("the transaction was begun above")
                .connection()
        }))
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut tx = self.open().await?;
        let done = bound(&stmt).execute(&mut *tx).await;
        done.map(Into::into).map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: String) -> Result<ExecResult, DbErr> {
        let mut tx = self.open().await?;
        let done = sqlx::Executor::execute(&mut *tx, sqlx::AssertSqlSafe(sql)).await;
        done.map(Into::into).map_err(exec_err)
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut tx = self.open().await?;
        let row = bound(&stmt).fetch_optional(&mut *tx).await;
        row.map(|r| r.map(Into::into)).map_err(query_err)
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut tx = self.open().await?;
        let rows = bound(&stmt).fetch_all(&mut *tx).await;
        rows.map(|rs| rs.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }

    /// The settings to read with, if this is a read-only transaction that has not begun
    /// and sees the latest committed data with every statement (`READ COMMITTED`, not a
    /// snapshot): reads made outside it, each in a transaction of its own, then see the
    /// same as they would inside it.
    async fn unbegun_read(&self) -> Option<Vec<(&'static str, String)>> {
        let state = self.state.lock().await;
        let unbegun = state.tx.is_none() && state.begin == BEGIN_READ;
        unbegun.then(|| state.pending.clone())
    }

    /// Set transaction-local settings: folded into the `BEGIN` if it has not gone out yet.
    async fn set(&self, settings: &[(&'static str, String)]) -> Result<(), DbErr> {
        let mut state = self.state.lock().await;
        match state.tx.as_mut() {
            Some(tx) => {
                let sql = sqlx::AssertSqlSafe(set_config_sql(settings));
                sqlx::Executor::execute(tx.connection(), sql)
                    .await
                    .map_err(exec_err)?;
            }
            None => {
                for (name, value) in settings {
                    state.pending.retain(|(n, _)| n != name);
                    state.pending.push((name, value.clone()));
                }
            }
        }
        Ok(())
    }

    /// Commit or roll back; a transaction that never began has nothing to end.
    async fn finish(self, commit: bool) -> Result<(), DbErr> {
        let state = Arc::try_unwrap(self.state)
            .map_err(|_| DbErr::Custom("transaction still in use".into()))?
            .into_inner();
        match state.tx {
            None => Ok(()),
            // A read-only transaction ends the same whether committed or rolled back.
            // Dropping it queues the ROLLBACK, and sqlx sends it with the check it makes
            // of every connection returned to the pool, after the request has its answer:
            // one round trip less on every read.
            Some(PgConn::Sqlx(tx)) if state.read_only => {
                drop(tx);
                Ok(())
            }
            Some(PgConn::Sqlx(tx)) if commit => tx.commit().await.map_err(exec_err),
            Some(PgConn::Sqlx(tx)) => tx.rollback().await.map_err(exec_err),
            Some(PgConn::Prepared(mut conn)) => conn.end(commit).await,
        }
    }
}

/// A SQLite write transaction on a pooled connection of ours. Each statement is a round
/// trip to the connection's worker thread, and all other writers wait through all of
/// them (see [`Db`]): with 500 AI answers streaming (800 new ones a second, two write
/// transactions each) the writer lock was held 60% of the time, and time to first token
/// was mostly the wait for it. So `BEGIN IMMEDIATE` goes out with the first statement,
/// and [`SqliteTx::batch`] sends many statements (and the `COMMIT`) in one round trip:
/// a message's save and its final save each became one or two round trips instead of
/// five or six, and the lock's share of time fell from 60% to 43%.
struct SqliteTx {
    pool: SqlitePool,
    state: Arc<Mutex<SqliteState>>,
}

struct SqliteState {
    /// Once begun: a pooled connection inside `BEGIN IMMEDIATE`.
    conn: Option<RawTx<Sqlite>>,
    /// The writer lock (see [`Db`]), held until the transaction has ended on its
    /// connection, so that the next writer never finds SQLite's own lock still taken.
    writer: Option<WriterTurn>,
}

/// What a SQLite write transaction holds until it has ended: the writer lock, and for a
/// yielding writer its place at the head of their queue (see [`Db`]).
struct WriterTurn {
    _writer: OwnedMutexGuard<()>,
    _yielding: Option<OwnedMutexGuard<()>>,
}

impl Drop for SqliteState {
    /// Dropped inside the transaction (an early return on an error, a commit that failed
    /// or was cancelled): roll it back in the background, keeping the writer lock until
    /// it has. Should the rollback fail, the connection is closed, which rolls back too
    /// (see [`RawTx`]), but that close is not waited for.
    fn drop(&mut self) {
        let (Some(mut raw), Ok(runtime)) =
            (self.conn.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let writer = self.writer.take();
        runtime.spawn(async move {
            let _ = raw.end(false).await;
            drop(raw);
            drop(writer);
        });
    }
}

impl SqliteTx {
    fn new(pool: &SqlitePool, writer: WriterTurn) -> Self {
        Self {
            pool: pool.clone(),
            state: Arc::new(Mutex::new(SqliteState {
                conn: None,
                writer: Some(writer),
            })),
        }
    }

    async fn acquire(&self) -> Result<RawTx<Sqlite>, DbErr> {
        let conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
        Ok(RawTx::new(conn))
    }

    /// The transaction, begun now if this is its first statement.
    async fn open(&self) -> Result<OwnedMappedMutexGuard<SqliteState, SqliteConnection>, DbErr> {
        let mut state = self.state.clone().lock_owned().await;
        if state.conn.is_none() {
            let mut raw = self.acquire().await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe("BEGIN IMMEDIATE"))
                .execute(&mut *raw.conn)
                .await
                .map_err(exec_err)?;
            state.conn = Some(raw);
        }
        Ok(OwnedMutexGuard::map(state, |s| {
            &mut *s
                .conn
                .as_mut()
                .expect("the transaction was begun above")
                .conn
        }))
    }

    /// `stmts` in one round trip, preceded by the `BEGIN` if they are the transaction's
    /// first and followed by the `COMMIT` if `commit`; what each statement changed. On an
    /// error the transaction counts as open (SQLite keeps a transaction going past a
    /// failed statement) and its rollback undoes all of it.
    ///
    /// sqlx's SQLite driver runs the statements of one query in order, binding values to
    /// each in turn (`?` numbered on from one statement to the next), and reports each
    /// one's changes. sqlx calls that behaviour deprecated (no other engine has it) and
    /// may drop it in a later version: `Cargo.lock` pins the one we use, and
    /// `transactions::sqlite_batches_are_all_or_nothing` fails if an upgrade changes it.
    /// The alternative, values written into the SQL, would store timestamps in another
    /// text format than every other write.
    async fn batch(&self, stmts: &[Statement], commit: bool) -> Result<Vec<u64>, DbErr> {
        let mut state = self.state.clone().lock_owned().await;
        let begin = state.conn.is_none();
        if begin {
            state.conn = Some(self.acquire().await?);
        }
        let mut sql = String::from(if begin { "BEGIN IMMEDIATE;\n" } else { "" });
        let mut values = Vec::new();
        append_sqlite(&mut sql, &mut values, stmts);
        if commit {
            sql.push_str("COMMIT");
        }
        let expected = usize::from(begin) + stmts.len() + usize::from(commit);
        let raw = state
            .conn
            .as_mut()
            .expect("the transaction was begun above");
        let query = sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(Values(values)));
        let mut counts = Vec::with_capacity(expected);
        {
            let mut results = sqlx::Executor::execute_many(&mut *raw.conn, query);
            while let Some(done) = results.try_next().await.map_err(exec_err)? {
                counts.push(done.rows_affected());
            }
        }
        // One result per statement: a `Write` is one statement.
        debug_assert!(counts.len() <= expected, "{counts:?}, {expected} expected");
        if counts.len() < expected {
            return Err(DbErr::Custom(format!(
                "expected {expected} results, got {}",
                counts.len()
            )));
        }
        if commit {
            if let Some(mut raw) = state.conn.take() {
                raw.open = false;
            }
            state.writer = None;
            counts.pop();
        }
        if begin {
            counts.remove(0);
        }
        Ok(counts)
    }

    async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.open().await?;
        let done = bound(&stmt).execute(&mut *conn).await;
        done.map(Into::into).map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: String) -> Result<ExecResult, DbErr> {
        let mut conn = self.open().await?;
        let done = sqlx::Executor::execute(&mut *conn, sqlx::AssertSqlSafe(sql)).await;
        done.map(Into::into).map_err(exec_err)
    }

    async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.open().await?;
        let row = bound(&stmt).fetch_optional(&mut *conn).await;
        row.map(|r| r.map(Into::into)).map_err(query_err)
    }

    async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.open().await?;
        let rows = bound(&stmt).fetch_all(&mut *conn).await;
        rows.map(|rs| rs.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }

    /// Commit or roll back; a transaction that never began has nothing to end. If that
    /// fails or is cancelled, the transaction is still in `state`, whose drop rolls it
    /// back before the writer lock is given back.
    async fn finish(self, commit: bool) -> Result<(), DbErr> {
        let mut state = self.state.lock().await;
        if let Some(raw) = state.conn.as_mut() {
            raw.end(commit).await?;
            state.conn = None;
        }
        state.writer = None;
        Ok(())
    }
}

/// Append `stmts` to one SQLite query: their SQL, and their values in order (sqlx binds
/// them statement after statement; see [`SqliteTx::batch`]).
fn append_sqlite(sql: &mut String, values: &mut Vec<sea_orm::Value>, stmts: &[Statement]) {
    for stmt in stmts {
        sql.push_str(&stmt.sql);
        sql.push_str(";\n");
        values.extend(stmt.values.iter().flat_map(|v| v.0.iter().cloned()));
    }
}

/// SQLite: the one query of [`Tx::read_together`], on a pooled connection.
async fn sqlite_read_at_once(
    pool: &SqlitePool,
    reads: &[Statement],
) -> Result<Vec<Vec<QueryResult>>, DbErr> {
    let mut sql = String::new();
    let mut values = Vec::new();
    append_sqlite(&mut sql, &mut values, reads);
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
    let query = sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(Values(values)));
    let mut all = Vec::with_capacity(reads.len());
    let mut rows = Vec::new();
    let mut results = sqlx::Executor::fetch_many(&mut *conn, query);
    // A statement's rows come first, then its result.
    while let Some(next) = results.try_next().await.map_err(query_err)? {
        match next {
            sqlx::Either::Right(row) => rows.push(row.into()),
            sqlx::Either::Left(_) => all.push(std::mem::take(&mut rows)),
        }
    }
    if all.len() != reads.len() {
        return Err(DbErr::Custom(format!(
            "expected {} results, got {}",
            reads.len(),
            all.len()
        )));
    }
    Ok(all)
}

/// The row-level-security keys of a scope (see [`Tx::bind_scope`]).
fn scope_settings(scope: Scope) -> [(&'static str, String); 3] {
    [
        ("app.workspace_id", scope.workspace_id.to_string()),
        (
            "app.user_id",
            scope.user_id.map(|u| u.to_string()).unwrap_or_default(),
        ),
        ("app.token_digest", String::new()),
    ]
}

/// The settings of a single update's own transaction: its scope and, if `relaxed`, a
/// commit that does not wait for the disk (see [`Tx::relax_durability`]).
fn single_update_settings(scope: Scope, relaxed: bool) -> Vec<(&'static str, String)> {
    let mut settings = scope_settings(scope).to_vec();
    if relaxed {
        settings.push(("synchronous_commit", "off".to_owned()));
    }
    settings
}

/// `SELECT set_config(name, value, true), …` with the values as literals, because a
/// simple-protocol query has no parameters. Doubling quotes is the whole escaping a
/// standard-conforming string literal needs (the PostgreSQL default since 9.1).
fn set_config_sql(settings: &[(&'static str, String)]) -> String {
    let calls: Vec<String> = settings
        .iter()
        .map(|(name, value)| {
            format!(
                "set_config('{name}', '{}', true)",
                value.replace('\'', "''")
            )
        })
        .collect();
    format!("SELECT {}", calls.join(", "))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

/// A SeaORM statement as a sqlx query with its values bound (for our own transactions).
fn bound<DB: sqlx::Database>(stmt: &Statement) -> sqlx::query::Query<'_, DB, SqlxValues>
where
    SqlxValues: sqlx::IntoArguments<DB>,
{
    let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

impl Tx {
    fn new(inner: TxInner, db: &Db) -> Self {
        Self {
            inner,
            db: db.clone(),
            scope: std::sync::Mutex::new(None),
            stale: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Cached reads tagged with `tag` (a workspace, a user, a key) become stale when this
    /// transaction commits. Forgetting after the commit, not before, is what keeps a
    /// concurrent reader from caching the old rows again.
    pub fn mark_stale(&self, tag: Uuid) {
        let mut stale = self.stale.lock().unwrap_or_else(|e| e.into_inner());
        if !stale.contains(&tag) {
            stale.push(tag);
        }
    }

    /// The database's cache of derived reads (see [`HotCache`]).
    pub fn cache(&self) -> &Arc<HotCache> {
        self.db.cache()
    }

    /// A way to read the same database, bound to the same workspace, after this
    /// transaction has ended: a cache refresh this request starts runs in the background.
    pub fn reader(&self) -> Reader {
        Reader {
            db: self.db.clone(),
            scope: *self.scope.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Run statements that change rows; how many rows each changed. SQLite write
    /// transactions send them all in one round trip (see [`SqliteTx::batch`]), with the
    /// `COMMIT` if `commit` (the caller commits next: on SQLite that then has nothing
    /// left to do).
    async fn write_batch(&self, stmts: &[Write<'_>], commit: bool) -> Result<Vec<u64>, DbErr> {
        if let TxInner::SqliteWrite(tx) = &self.inner {
            let built: Vec<Statement> = stmts.iter().map(|w| w.build(DbBackend::Sqlite)).collect();
            return tx.batch(&built, commit).await;
        }
        let mut changed = Vec::with_capacity(stmts.len());
        for &stmt in stmts {
            changed.push(self.write(stmt).await?);
        }
        Ok(changed)
    }

    /// Several reads in one round trip where the engine allows it; each one's rows, in
    /// order. For a request's reads that are known up front (a conversation and its
    /// messages, before every AI answer).
    ///
    /// On PostgreSQL, when this is a read transaction that has not begun (see
    /// [`PgTx::unbegun_read`]): its settings and the reads go out as one simple-protocol
    /// query on a connection whose statements stay prepared (see [`prepared`]), which
    /// PostgreSQL runs as one implicit read-only transaction. That is one round trip
    /// where `BEGIN` with the settings, each read and the `ROLLBACK` took one each; the
    /// transaction itself stays unbegun, for statements after these. On SQLite's read
    /// scope (the pool): one query, so one trip to a connection's worker thread where
    /// each read took one. Otherwise each read runs in this transaction in turn.
    pub async fn read_together(&self, reads: &[Statement]) -> Result<Vec<Vec<QueryResult>>, DbErr> {
        match &self.inner {
            TxInner::Postgres(pg) => {
                if let Some(settings) = pg.unbegun_read().await {
                    return self.db.read_at_once(settings, reads).await;
                }
            }
            TxInner::Pool(conn) if conn.get_database_backend() == DbBackend::Sqlite => {
                return sqlite_read_at_once(conn.get_sqlite_connection_pool(), reads).await;
            }
            _ => {}
        }
        let mut rows = Vec::with_capacity(reads.len());
        for read in reads {
            rows.push(self.query_all_raw(read.clone()).await?);
        }
        Ok(rows)
    }

    /// Run one statement that changes rows; returns how many it changed.
    pub async fn write(&self, stmt: Write<'_>) -> Result<u64, DbErr> {
        let done = self
            .execute_raw(stmt.build(self.get_database_backend()))
            .await?;
        Ok(done.rows_affected())
    }

    /// Bind this transaction to a workspace (PostgreSQL: set the row-level-security keys
    /// for this transaction only; SQLite has no RLS, the application filter is the wall).
    pub async fn bind_scope(&self, scope: Scope) -> Result<(), DbErr> {
        self.set(&scope_settings(scope)).await?;
        *self.scope.lock().unwrap_or_else(|e| e.into_inner()) = Some(scope);
        Ok(())
    }

    /// Let this transaction's commit return before its changes reach the disk, for hot
    /// counters that every request of a workspace updates (AI quotas): the row lock is
    /// held until the commit returns, and a flush per commit turns the counter into a
    /// queue. PostgreSQL: `synchronous_commit = off` for this transaction; a crash may
    /// lose the last fraction of a second of such commits, never corrupt anything.
    /// SQLite (WAL, `synchronous=NORMAL`) already commits every transaction this way.
    pub async fn relax_durability(&self) -> Result<(), DbErr> {
        self.set(&[("synchronous_commit", "off".to_owned())]).await
    }

    /// Transaction-local settings the PostgreSQL policies read; nothing on SQLite.
    async fn set(&self, settings: &[(&'static str, String)]) -> Result<(), DbErr> {
        match &self.inner {
            TxInner::Postgres(pg) => pg.set(settings).await,
            TxInner::SqliteWrite(_) | TxInner::Sqlite(_) | TxInner::Pool(_) => Ok(()),
        }
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        let stale = std::mem::take(&mut *self.stale.lock().unwrap_or_else(|e| e.into_inner()));
        match self.inner {
            TxInner::SqliteWrite(tx) => tx.finish(true).await?,
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Pool(_) => {}
            TxInner::Postgres(pg) => pg.finish(true).await?,
        }
        self.db.cache().forget_tagged(&stale);
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self.inner {
            TxInner::SqliteWrite(tx) => tx.finish(false).await,
            TxInner::Sqlite(tx) => tx.rollback().await,
            TxInner::Pool(_) => Ok(()),
            TxInner::Postgres(pg) => pg.finish(false).await,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Tx {
    fn get_database_backend(&self) -> DbBackend {
        match &self.inner {
            TxInner::SqliteWrite(_) => DbBackend::Sqlite,
            TxInner::Sqlite(tx) => tx.get_database_backend(),
            TxInner::Pool(pool) => pool.get_database_backend(),
            TxInner::Postgres(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match &self.inner {
            TxInner::SqliteWrite(tx) => tx.execute(stmt).await,
            TxInner::Sqlite(tx) => tx.execute_raw(stmt).await,
            TxInner::Pool(pool) => pool.execute_raw(stmt).await,
            TxInner::Postgres(pg) => pg.execute(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &self.inner {
            TxInner::SqliteWrite(tx) => tx.execute_unprepared(sql.to_owned()).await,
            TxInner::Sqlite(tx) => tx.execute_unprepared(sql).await,
            TxInner::Pool(pool) => pool.execute_unprepared(sql).await,
            TxInner::Postgres(pg) => pg.execute_unprepared(sql.to_owned()).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.inner {
            TxInner::SqliteWrite(tx) => tx.query_one(stmt).await,
            TxInner::Sqlite(tx) => tx.query_one_raw(stmt).await,
            TxInner::Pool(pool) => pool.query_one_raw(stmt).await,
            TxInner::Postgres(pg) => pg.query_one(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.inner {
            TxInner::SqliteWrite(tx) => tx.query_all(stmt).await,
            TxInner::Sqlite(tx) => tx.query_all_raw(stmt).await,
            TxInner::Pool(pool) => pool.query_all_raw(stmt).await,
            TxInner::Postgres(pg) => pg.query_all(stmt).await,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Which engine a URL names, or a clear error for anything else.
pub fn engine_of(url: &str) -> anyhow::Result<Engine> {
    if url.starts_with("sqlite:") {
        // SQLite gives every connection its own in-memory database, and Nexus keeps a
        // pool of them and a writing connection besides: the tables one connection
        // made would be missing on the next.
        if url.contains(":memory:") || url.contains("mode=memory") {
            anyhow::bail!(
                "an in-memory SQLite database is not supported: NEXUS_DATABASE_URL must name a file, e.g. sqlite://./data/nexus.db?mode=rwc"
            )
        }
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        anyhow::bail!(
            "unsupported database URL scheme {scheme:?}: NEXUS_DATABASE_URL must start with sqlite: or postgres://"
        )
    }
}

/// How long a statement of [`Db::commit_groups`] with several groups waits for a row
/// lock before the whole query fails.
const GROUP_LOCK_TIMEOUT: &str = "500ms";

/// Whether the failure `err` reports surely committed nothing of the work that failed,
/// so that the same work can be sent again without doing any of it twice: the database
/// refused a statement (it came with a SQLSTATE, and its transaction rolled back), or no
/// connection was had to send it on. A connection lost on the way, by contrast, may have
/// lost the answer to a commit that went through.
pub fn committed_nothing(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), sqlx::Error::Database(_))
        }
        _ => false,
    }
}

/// One workspace's share of [`Db::commit_groups`].
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    pub scope: Scope,
    /// Committed with the other groups' before any `then` (hot counters: an AI quota's
    /// settlement, and its lease's); empty where other groups' cover this one's (the
    /// settlements of one workspace's answers, summed into one statement each).
    pub first: &'a [UpdateStatement],
    /// Committed with the other groups' after every `first`.
    pub then: &'a [Write<'a>],
}

/// What [`Db::commit_groups`] committed: the count of each group's first `first` (0
/// without one), and each group's `then`'s counts or the error that rolled all of them
/// back.
pub type GroupsCommitted = (Vec<u64>, Result<Vec<Vec<u64>>, DbErr>);

/// A statement that changes rows, for [`Db::single_update_then_write`].
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    Update(&'a UpdateStatement),
    Insert(&'a InsertStatement),
}

impl Write<'_> {
    fn build(self, backend: DbBackend) -> Statement {
        match self {
            Self::Update(stmt) => backend.build(stmt),
            Self::Insert(stmt) => backend.build(stmt),
        }
    }

    /// The statement for a query of prepared statements (see [`prepared`]).
    fn to_prepared(self) -> Stmt {
        let (sql, values) = match self {
            Self::Update(stmt) => stmt.build(PostgresQueryBuilder),
            Self::Insert(stmt) => stmt.build(PostgresQueryBuilder),
        };
        Stmt::Bound {
            sql,
            values: values.0,
        }
    }
}

/// See [`Tx::reader`].
#[derive(Debug, Clone)]
pub struct Reader {
    db: Db,
    scope: Option<Scope>,
}

impl Reader {
    /// A read transaction bound as the one this came from was (unbound if it was not:
    /// on PostgreSQL it then sees no workspace's rows).
    pub async fn begin(&self) -> Result<Tx, DbErr> {
        match self.scope {
            Some(scope) => self.db.tenant(scope, false).await,
            None => self.db.begin_read().await,
        }
    }
}

/// Who a tenant transaction acts for: the workspace, and (for PostgreSQL's policies on
/// membership rows) the user, if the caller is one.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub workspace_id: Uuid,
    pub user_id: Option<Uuid>,
}

impl Db {
    /// A pool of up to `max_connections`; on PostgreSQL `min_connections` of them stay
    /// open while idle (SQLite keeps one: its connections are cheap to open).
    /// PostgreSQL: a quarter of each (at least one) go to the connections whose
    /// statements stay prepared, for the writes every AI message makes and the reads it
    /// starts with (see [`prepared`]); the rest (at least two) to the pool for
    /// everything else.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        min_connections: u32,
    ) -> anyhow::Result<Self> {
        let engine = engine_of(url)?;
        let prepared_max = (max_connections / 4).max(1);
        let prepared_min = (min_connections / 4).min(prepared_max);
        let mut opts = ConnectOptions::new(url.to_owned());
        // Ping a pooled connection only when it sat idle: a ping on every acquire is one
        // more round trip per transaction.
        opts.sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(10))
            .test_before_acquire_if_idle_for(Duration::from_secs(30));
        match engine {
            Engine::Sqlite => {
                opts.max_connections(max_connections.max(2))
                    .min_connections(1);
                opts.map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(WRITE_WAIT)
                        .create_if_missing(true)
                });
            }
            Engine::Postgres => {
                // Connections kept open even when idle: a burst that finds too few waits
                // for PostgreSQL to start a backend per connection (measured: 50 AI
                // messages at once added 250 ms to the first token with a cold pool, 94 ms
                // with a warm one).
                let max = max_connections.saturating_sub(prepared_max).max(2);
                let min = min_connections.saturating_sub(prepared_min).min(max);
                opts.max_connections(max).min_connections(min);
            }
        }
        let conn = Database::connect(opts).await?;
        let sqlite_writer = match engine {
            Engine::Sqlite => {
                let options = conn.get_sqlite_connection_pool().connect_options();
                let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(WRITE_WAIT)
                    // A local file does not drop connections: no ping before each write.
                    .test_before_acquire(false)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with((*options).clone())
                    .await?;
                Some(pool)
            }
            Engine::Postgres => None,
        };
        let prepared = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => {
                let options = conn.get_postgres_connection_pool().connect_options();
                let options = (*options).clone();
                Some(PreparedPool::new(options, prepared_max, prepared_min).await?)
            }
        };
        Ok(Self {
            conn,
            writer: Arc::new(Mutex::new(())),
            yielding: Arc::new(Mutex::new(())),
            cache: Arc::new(HotCache::new(Duration::ZERO)),
            prepared,
            sqlite_writer,
        })
    }

    /// Keep derived reads in [`HotCache`] for `ttl` (zero: not at all, the default).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache = Arc::new(HotCache::new(ttl));
        self
    }

    pub fn cache(&self) -> &Arc<HotCache> {
        &self.cache
    }

    pub fn engine(&self) -> Engine {
        match self.conn.get_database_backend() {
            DbBackend::Postgres => Engine::Postgres,
            _ => Engine::Sqlite,
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// The pool, for platform tables that belong to no workspace (users, sessions,
    /// workspaces themselves).
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// A write transaction. On SQLite it first takes the in-process writer lock (see
    /// [`Db`]), then, with its first statement, begins IMMEDIATE, taking SQLite's write
    /// lock up front so that no transaction fails with SQLITE_BUSY trying to upgrade;
    /// writers from other processes (`nexus` commands) still wait on the busy timeout.
    ///
    /// Never open a second write transaction while holding one: on SQLite it would wait
    /// for itself, and give up after the busy timeout.
    pub async fn begin_write(&self) -> Result<Tx, DbErr> {
        self.begin_write_as(false).await
    }

    /// [`Db::begin_write`]; if `yielding`, behind the other yielding writers first (see
    /// [`Db::write_and_commit`]).
    async fn begin_write_as(&self, yielding: bool) -> Result<Tx, DbErr> {
        match self.engine() {
            Engine::Sqlite => {
                let asked = std::time::Instant::now();
                let queued = tokio::time::timeout(WRITE_WAIT, async {
                    let first = match yielding {
                        true => Some(self.yielding.clone().lock_owned().await),
                        false => None,
                    };
                    let writer = self.writer.clone().lock_owned().await;
                    WriterTurn {
                        _writer: writer,
                        _yielding: first,
                    }
                });
                let turn = queued.await.map_err(|_| {
                    DbErr::Custom("timed out waiting for the database writer".into())
                })?;
                // Operators' sign that SQLite's one writer is the bottleneck (time to move
                // to PostgreSQL): the wait is most of a message's time to first token then.
                let kind = if yielding { "yielding" } else { "ordinary" };
                metrics::histogram!("db_writer_wait_seconds", "kind" => kind)
                    .record(asked.elapsed().as_secs_f64());
                let pool = self
                    .sqlite_writer
                    .as_ref()
                    .unwrap_or_else(|| self.conn.get_sqlite_connection_pool());
                Ok(Tx::new(
                    TxInner::SqliteWrite(SqliteTx::new(pool, turn)),
                    self,
                ))
            }
            Engine::Postgres => Ok(self.postgres_tx("BEGIN", false)),
        }
    }

    /// A read scope: a read-only transaction on PostgreSQL; on SQLite the pool itself.
    pub async fn begin_read(&self) -> Result<Tx, DbErr> {
        match self.engine() {
            Engine::Sqlite => Ok(Tx::new(TxInner::Pool(self.conn.clone()), self)),
            Engine::Postgres => Ok(self.postgres_tx(BEGIN_READ, true)),
        }
    }

    fn postgres_tx(&self, begin: &'static str, read_only: bool) -> Tx {
        let pool = self.conn.get_postgres_connection_pool();
        let tx = PgTx::new(pool, begin, read_only);
        Tx::new(TxInner::Postgres(tx), self)
    }

    /// A read transaction with one snapshot on both engines, for reads that must agree
    /// with each other (checking the audit chain against its head).
    pub async fn tenant_snapshot(&self, scope: Scope) -> Result<Tx, DbErr> {
        let tx = match self.engine() {
            Engine::Sqlite => Tx::new(TxInner::Sqlite(self.conn.begin().await?), self),
            Engine::Postgres => {
                self.postgres_tx("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", true)
            }
        };
        tx.bind_scope(scope).await?;
        Ok(tx)
    }

    /// A transaction bound to one workspace (see the module docs).
    pub async fn tenant(&self, scope: Scope, write: bool) -> Result<Tx, DbErr> {
        let tx = self.begin(write).await?;
        tx.bind_scope(scope).await?;
        Ok(tx)
    }

    async fn begin(&self, write: bool) -> Result<Tx, DbErr> {
        if write {
            self.begin_write().await
        } else {
            self.begin_read().await
        }
    }

    /// One UPDATE as a transaction of its own, bound to `scope`; returns the rows it
    /// changed. For hot counters written on every request (AI quotas), where each round
    /// trip is paid by every message.
    ///
    /// On PostgreSQL the scope settings and the statement go out as one simple-protocol
    /// query: one round trip instead of three (`BEGIN` with the settings, the statement,
    /// `COMMIT`). PostgreSQL runs such a query as one implicit transaction, so the
    /// settings stay local to it and an error rolls all of it back. Its statements are
    /// prepared on the connection, and their values written into the `EXECUTE`s by
    /// sea-query's PostgreSQL builder, which quotes them (see [`prepared`]).
    /// `relaxed`: the commit does not wait for the disk (see [`Tx::relax_durability`]).
    /// On SQLite it is a [`Db::write_and_commit`], which yields to other writers.
    pub async fn single_update(
        &self,
        scope: Scope,
        relaxed: bool,
        stmt: &UpdateStatement,
    ) -> Result<u64, DbErr> {
        let changed = self
            .updates_at_once(scope, relaxed, std::slice::from_ref(stmt))
            .await?;
        Ok(changed.first().copied().unwrap_or_default())
    }

    /// [`Db::single_update`] for several UPDATEs, in one transaction and (on PostgreSQL)
    /// one round trip: each one's count. For a hot counter and a row that accounts for
    /// part of it, which must change together (an AI quota and its lease).
    pub async fn updates_at_once(
        &self,
        scope: Scope,
        relaxed: bool,
        stmts: &[UpdateStatement],
    ) -> Result<Vec<u64>, DbErr> {
        let writes: Vec<Write<'_>> = stmts.iter().map(Write::Update).collect();
        if self.engine() == Engine::Sqlite {
            return self.write_and_commit(scope, &writes).await;
        }
        let query: Vec<Stmt> =
            std::iter::once(Stmt::settings(&single_update_settings(scope, relaxed)))
                .chain(writes.iter().map(|w| w.to_prepared()))
                .collect();
        let mut conn = self.prepared_conn().await?;
        let changed = conn.run(&query, false).await.map_err(|(_, err)| err)?;
        // One result per statement: the settings', then the UPDATEs'.
        Ok(changed.into_iter().skip(1).collect())
    }

    /// [`Db::single_update`], committed, and then a write transaction bound to `scope`
    /// that runs `then` and is returned open: on PostgreSQL all in one round trip. For a
    /// hot counter that must commit at once (an AI quota reservation) followed by work
    /// that commits later (the message it pays for): one round trip on one connection,
    /// where sending them one by one takes four on two.
    ///
    /// `Err`: nothing was committed. `Ok((updated, then))`: the update committed, having
    /// changed `updated` rows, and `then` is what each statement changed and the open
    /// transaction, or the error that rolled that transaction back. Like `single_update`,
    /// the statements are prepared, their values written in by sea-query.
    pub async fn single_update_then_write(
        &self,
        scope: Scope,
        relaxed: bool,
        first: &UpdateStatement,
        then: &[Write<'_>],
    ) -> Result<(u64, Result<(Vec<u64>, Tx), DbErr>), DbErr> {
        if self.engine() == Engine::Sqlite {
            let updated = self.single_update(scope, relaxed, first).await?;
            return Ok((updated, self.write_all(scope, then).await));
        }
        let (updated, then) = self
            .update_then_begin(scope, Some((first, relaxed)), then)
            .await?;
        Ok((
            updated,
            then.map(|(changed, conn)| (changed, self.begun(scope, conn))),
        ))
    }

    /// A write transaction that a query of ours began on `conn`, bound to `scope`.
    fn begun(&self, scope: Scope, conn: Checkout) -> Tx {
        let pool = self.conn.get_postgres_connection_pool();
        let tx = Tx::new(TxInner::Postgres(PgTx::begun(pool, conn)), self);
        *tx.scope.lock().unwrap_or_else(|e| e.into_inner()) = Some(scope);
        tx
    }

    /// For each of several groups, each of one workspace's statements: an update that
    /// commits at once (like [`Db::single_update`]), if the group has one, and writes
    /// that commit after it, durably; as two transactions in all: every group's `first`
    /// in one (relaxed if asked), then every group's `then` in one durable transaction,
    /// each group's statements bound to its own scope (the settings are set again before
    /// each group's). Whatever each statement changes commits: nothing is looked at
    /// before the commit (a message deleted meanwhile changes no row, and the usage
    /// ledger still records what it cost). For work many requests of many workspaces
    /// each end with, and that nobody waits on to start something (AI answers' final
    /// saves): each transaction costs PostgreSQL its start, its end and a wake-up,
    /// whatever it holds, and at 800 answers a second those were most of its time.
    ///
    /// On PostgreSQL, `BEGIN; …; COMMIT; BEGIN; …; COMMIT` in one round trip, the
    /// statements prepared (see [`Db::single_update`]). On SQLite, one write
    /// transaction with each group's `first` and `then` in turn (there is no row-level
    /// security to bind, and a settlement commits with its save), so there it is all or
    /// nothing.
    ///
    /// `Err`: nothing was committed. `Ok((updated, then))`: every `first` committed,
    /// having changed `updated[i]` rows (0 for a group without one), and `then` is what
    /// each group's statements changed (all committed) or the error that rolled all of
    /// them back.
    pub async fn commit_groups(
        &self,
        relaxed: bool,
        groups: &[Group<'_>],
    ) -> Result<GroupsCommitted, DbErr> {
        let Some(head) = groups.first() else {
            return Ok((Vec::new(), Ok(Vec::new())));
        };
        if self.engine() == Engine::Sqlite {
            let all: Vec<Write<'_>> = groups
                .iter()
                .flat_map(|g| {
                    g.first
                        .iter()
                        .map(Write::Update)
                        .chain(g.then.iter().copied())
                })
                .collect();
            let mut changed = self.write_and_commit(head.scope, &all).await?.into_iter();
            let mut updated = Vec::with_capacity(groups.len());
            let mut then = Vec::with_capacity(groups.len());
            for group in groups {
                let first: Vec<u64> = changed.by_ref().take(group.first.len()).collect();
                updated.push(first.first().copied().unwrap_or_default());
                then.push(changed.by_ref().take(group.then.len()).collect());
            }
            return Ok((updated, Ok(then)));
        }
        // Several groups wait on no one's row lock for long: one group's wait (a
        // workspace's quota row held, a conversation being deleted) would hold every
        // other group's rows and writes with it. A timeout fails the query, and the
        // caller can write the groups one by one.
        let wait = (groups.len() > 1).then(|| ("lock_timeout", GROUP_LOCK_TIMEOUT.to_owned()));
        let mut stmts = vec![Stmt::Plain("BEGIN")];
        // Where each group's `first` is among the statements, hence its count among the
        // results (one per statement).
        let mut firsts = Vec::with_capacity(groups.len());
        for group in groups {
            if group.first.is_empty() {
                firsts.push(None);
                continue;
            }
            let mut settings = single_update_settings(group.scope, relaxed);
            settings.extend(wait.clone());
            stmts.push(Stmt::settings(&settings));
            firsts.push(Some(stmts.len()));
            stmts.extend(group.first.iter().map(|u| Write::Update(u).to_prepared()));
        }
        stmts.push(Stmt::Plain("COMMIT"));
        let committed = stmts.len();
        stmts.push(Stmt::Plain("BEGIN"));
        for group in groups {
            let mut settings = scope_settings(group.scope).to_vec();
            settings.extend(wait.clone());
            stmts.push(Stmt::settings(&settings));
            stmts.extend(group.then.iter().map(|stmt| stmt.to_prepared()));
        }
        stmts.push(Stmt::Plain("COMMIT"));
        let expected = stmts.len();
        let mut conn = self.prepared_conn().await?;
        // On a failure the connection is rolled back, or closed, before it is used again.
        let (counts, failed) = match conn.run(&stmts, false).await {
            Ok(counts) => (counts, None),
            Err((counts, err)) => (counts, Some(err)),
        };
        // One result per statement: the BEGIN, the settings and `first`s of each group
        // with any, the COMMIT; then the BEGIN, each group's settings and `then`'s, the
        // COMMIT.
        if counts.len() < committed {
            return Err(failed.unwrap_or_else(|| DbErr::Custom("the updates did not run".into())));
        }
        let updated = firsts
            .iter()
            .map(|at| at.map_or(0, |i| counts[i]))
            .collect();
        if let Some(err) = failed {
            return Ok((updated, Err(err)));
        }
        if counts.len() != expected {
            let err = DbErr::Custom(format!("expected {expected} results, got {}", counts.len()));
            return Ok((updated, Err(err)));
        }
        let mut rest = counts[committed + 1..].iter();
        let then = groups
            .iter()
            .map(|group| {
                // Past the group's settings.
                rest.next();
                rest.by_ref().take(group.then.len()).copied().collect()
            })
            .collect();
        Ok((updated, Ok(then)))
    }

    /// `then` in a write transaction bound to `scope`, returned open, with what each
    /// statement changed. The `BEGIN`, the scope's settings and all of `then` are one
    /// round trip on either engine (on PostgreSQL, prepared statements with their values
    /// written in, as in [`Db::single_update`]).
    pub async fn write_all(
        &self,
        scope: Scope,
        then: &[Write<'_>],
    ) -> Result<(Vec<u64>, Tx), DbErr> {
        if self.engine() == Engine::Sqlite {
            let tx = self.tenant(scope, true).await?;
            let changed = tx.write_batch(then, false).await?;
            return Ok((changed, tx));
        }
        let (_, begun) = self.update_then_begin(scope, None, then).await?;
        let (changed, conn) = begun?;
        Ok((changed, self.begun(scope, conn)))
    }

    /// `then` in a write transaction bound to `scope`, committed; what each statement
    /// changed. For statements that commit whatever each one changes, and that nobody
    /// waits on to start something: an answer's final save, its checkpoints, a quota's
    /// settlement.
    ///
    /// On SQLite one round trip with the `BEGIN` and the `COMMIT`, and a yielding writer:
    /// these writes queue among themselves before they queue for the writer lock, so a
    /// write someone waits on (a message's save, before its answer can stream) finds at
    /// most one of them ahead of it. With 500 answers streaming, half of the writes are
    /// final saves; letting messages' saves go first cut the time Nexus adds to the first
    /// token (p95) from 9 to 4.5 ms. Like any write transaction, never call it while
    /// holding one (nor [`Db::single_update`], which on SQLite is one of these).
    pub async fn write_and_commit(
        &self,
        scope: Scope,
        then: &[Write<'_>],
    ) -> Result<Vec<u64>, DbErr> {
        let tx = self.begin_write_as(true).await?;
        tx.bind_scope(scope).await?;
        let changed = tx.write_batch(then, true).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// PostgreSQL: the one query of [`Db::single_update_then_write`] (with `first`, and
    /// whether its commit is relaxed) or of [`Db::write_all`] (without), and its
    /// connection, left inside the write transaction. The count is `first`'s (0 without).
    async fn update_then_begin(
        &self,
        scope: Scope,
        first: Option<(&UpdateStatement, bool)>,
        then: &[Write<'_>],
    ) -> Result<(u64, Result<(Vec<u64>, Checkout), DbErr>), DbErr> {
        let mut stmts = Vec::with_capacity(6 + then.len());
        if let Some((first, relaxed)) = first {
            stmts.extend([
                Stmt::Plain("BEGIN"),
                Stmt::settings(&single_update_settings(scope, relaxed)),
                Write::Update(first).to_prepared(),
                Stmt::Plain("COMMIT"),
            ]);
        }
        // One result per statement: with `first`, BEGIN, the settings, `first` and
        // COMMIT; then BEGIN, the settings and `then`'s.
        let committed = stmts.len();
        stmts.extend([Stmt::Plain("BEGIN"), Stmt::settings(&scope_settings(scope))]);
        let then_at = stmts.len();
        stmts.extend(then.iter().map(|stmt| stmt.to_prepared()));
        let expected = stmts.len();
        let mut conn = self.prepared_conn().await?;
        // On any failure the connection is rolled back, or closed, before it is used again.
        let (mut counts, failed) = match conn.run(&stmts, true).await {
            Ok(counts) => (counts, None),
            Err((counts, err)) => (counts, Some(err)),
        };
        if counts.len() < committed {
            return Err(failed.unwrap_or_else(|| DbErr::Custom("the update did not run".into())));
        }
        // `first`'s count comes after the BEGIN and the settings.
        let updated = if committed > 0 { counts[2] } else { 0 };
        if let Some(err) = failed {
            // Without `first` nothing was committed: the caller may say so.
            return if committed > 0 {
                Ok((updated, Err(err)))
            } else {
                Err(err)
            };
        }
        if counts.len() != expected {
            let err = DbErr::Custom(format!("expected {expected} results, got {}", counts.len()));
            return Ok((updated, Err(err)));
        }
        let mut changed = counts.split_off(then_at);
        changed.truncate(then.len());
        Ok((updated, Ok((changed, conn))))
    }

    /// PostgreSQL: the one query of [`Tx::read_together`], with `settings` (a read
    /// transaction's scope) and read-only, as `BEGIN READ ONLY` would have made it.
    async fn read_at_once(
        &self,
        mut settings: Vec<(&'static str, String)>,
        reads: &[Statement],
    ) -> Result<Vec<Vec<QueryResult>>, DbErr> {
        settings.push(("transaction_read_only", "on".to_owned()));
        let stmts: Vec<Stmt> = std::iter::once(Stmt::settings(&settings))
            .chain(reads.iter().map(|read| Stmt::Bound {
                sql: read.sql.clone(),
                values: read.values.clone().map(|v| v.0).unwrap_or_default(),
            }))
            .collect();
        let mut conn = self.prepared_conn().await?;
        let done = conn
            .run_returning(&stmts, false)
            .await
            .map_err(|(_, err)| err)?;
        // One result per statement: the settings', then the reads'.
        if done.len() != stmts.len() {
            return Err(DbErr::Custom(format!(
                "expected {} results, got {}",
                stmts.len(),
                done.len()
            )));
        }
        Ok(done
            .into_iter()
            .skip(1)
            .map(|read| read.rows.into_iter().map(Into::into).collect())
            .collect())
    }

    /// A PostgreSQL connection whose statements stay prepared, for a query of our own
    /// making (see [`prepared`]).
    async fn prepared_conn(&self) -> Result<Checkout, DbErr> {
        match &self.prepared {
            Some(pool) => pool.acquire().await,
            None => Err(DbErr::Custom(
                "no PostgreSQL connections for prepared writes".into(),
            )),
        }
    }

    /// A transaction that may look up a row by the digest of a secret token (an API key
    /// or invitation) before its workspace is known. On PostgreSQL the policies let a row
    /// through when the caller names its digest: only someone holding the token can.
    pub async fn begin_token_lookup(&self, token_digest: &str, write: bool) -> Result<Tx, DbErr> {
        let tx = self.begin(write).await?;
        tx.set(&[("app.token_digest", token_digest.to_owned())])
            .await?;
        Ok(tx)
    }

    /// A transaction that may see the membership rows of one user across workspaces
    /// (for "my workspaces").
    pub async fn begin_user(&self, user_id: Uuid, write: bool) -> Result<Tx, DbErr> {
        let tx = self.begin(write).await?;
        tx.set(&[("app.user_id", user_id.to_string())]).await?;
        Ok(tx)
    }
}
