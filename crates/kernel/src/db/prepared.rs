//! PostgreSQL connections of our own for the writes every AI message makes (see
//! [`super::Db::single_update`] and [`super::Db::single_update_then_write`]) and the
//! reads it starts with ([`super::Tx::read_together`]), each connection knowing which
//! statements it has prepared.
//!
//! Those writes go out as one simple-protocol query per transaction, so that hot rows
//! (a workspace's quota) are locked for one round trip only. A simple-protocol query has
//! no parameters: with the values written in, PostgreSQL parsed, analysed and planned
//! every statement every time, and at 800 messages a second that was 42% of its CPU.
//! Here a statement is prepared on a connection with its first use there
//! (`PREPARE nx_1(uuid, int8) AS UPDATE … $1 … $2`, at the head of the same query) and
//! then sent as `EXECUTE nx_1('…', 5)`: still one round trip, and no parsing or planning
//! beyond the `EXECUTE` itself.
//!
//! sqlx's pool cannot say which connection it hands out, so not which statements that
//! connection has prepared; this small pool keeps each connection with its own list.

use futures::TryStreamExt;
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, Value, inject_parameters};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgRow};
use sea_orm::sqlx::{self, ConnectOptions, Connection, Either, PgConnection};
use sea_orm::{DbErr, RuntimeErr};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a write waits for a free connection, or for a new one to open.
const ACQUIRE_WAIT: Duration = Duration::from_secs(10);

/// A connection idle longer than this is pinged before use (PostgreSQL, or something on
/// the way, may have closed it meanwhile).
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// Statements a connection keeps prepared at most; past that, a new one takes the place
/// of the one used least recently. The hot writes are a handful of shapes, and a few
/// callers' shapes vary with their rows (a checkpoint names each answer it saves).
const MAX_PREPARED: usize = 64;

/// The pool: idle connections, and permits for at most its size to be out at once.
pub(super) struct PreparedPool {
    options: PgConnectOptions,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    /// Statements PostgreSQL would not prepare with their values' types (a value whose
    /// type differs from its column's, which a literal would have fit): sent with their
    /// values written in instead.
    unpreparable: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for PreparedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPool")
            .field("idle", &self.idle_conns().len())
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

/// A connection and the statements prepared on it.
struct Conn {
    pg: PgConnection,
    statements: Statements,
    idle_since: Instant,
}

/// The statements prepared on one connection.
#[derive(Default)]
struct Statements {
    /// A statement's key (its parameters' types and SQL: [`Statements::script`]) → its
    /// slot.
    prepared: HashMap<String, Slot>,
    /// The number for the next statement prepared without taking another's place.
    next_number: usize,
    /// Queries sent: the clock of [`Slot::last_used`].
    queries: u64,
}

/// A statement prepared on a connection as `nx_{number}`.
struct Slot {
    number: usize,
    /// The query that last used it.
    last_used: u64,
}

/// What a query changes of what its connection has prepared, in statements sent ahead
/// of its own (each has a result of its own).
enum Prelude {
    /// `DEALLOCATE`: the statement used least recently gives its number up (to the
    /// `Prepare` right after).
    Forget { key: String, number: usize },
    /// `PREPARE nx_{number}(types) AS …`.
    Prepare { key: String, number: usize },
}

impl Prelude {
    fn sql(&self) -> String {
        match self {
            Self::Forget { number, .. } => format!("DEALLOCATE nx_{number}"),
            Self::Prepare { key, number } => {
                let (types, sql) = key.split_once('|').expect("keys are types|sql");
                match types {
                    "" => format!("PREPARE nx_{number} AS {sql}"),
                    _ => format!("PREPARE nx_{number}({types}) AS {sql}"),
                }
            }
        }
    }
}

/// A connection taken from the pool; it goes back when dropped (see [`State`]).
pub(super) struct Checkout {
    conn: Option<Conn>,
    pool: Arc<PreparedPool>,
    /// Held until the connection is back (or closed): the next checkout waits for a
    /// rollback this one left behind.
    permit: Option<OwnedSemaphorePermit>,
    state: State,
}

/// Where a checked-out connection stands, and so what dropping it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside any transaction: back to the pool.
    Idle,
    /// Inside a transaction, or after a failed query: rolled back in the background,
    /// then back to the pool.
    InTransaction,
    /// A query was dropped half-way (which of its statements ran, and were prepared, is
    /// not known), or the connection is lost or out of step with what we think it has
    /// prepared. Closed, which rolls back whatever it was in.
    Unknown,
}

/// One statement of a query for [`Checkout::run`].
pub(super) enum Stmt {
    /// Sent as it is: `BEGIN`, `COMMIT`.
    Plain(&'static str),
    /// SQL with `$n` placeholders, and its values: prepared and executed.
    Bound { sql: String, values: Vec<Value> },
}

impl Stmt {
    /// `SELECT set_config(name, value, true), …`: transaction-local settings.
    pub(super) fn settings(settings: &[(&'static str, String)]) -> Self {
        let mut calls = Vec::with_capacity(settings.len());
        let mut values = Vec::with_capacity(settings.len() * 2);
        for (name, value) in settings {
            let n = values.len();
            calls.push(format!("set_config(${}, ${}, true)", n + 1, n + 2));
            values.push(Value::from(*name));
            values.push(Value::from(value.as_str()));
        }
        Self::Bound {
            sql: format!("SELECT {}", calls.join(", ")),
            values,
        }
    }
}

impl PreparedPool {
    /// A pool of up to `size` connections made with `options`, `warm` of them opened now.
    pub(super) async fn new(
        options: PgConnectOptions,
        size: u32,
        warm: u32,
    ) -> Result<Arc<Self>, DbErr> {
        let pool = Arc::new(Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size as usize)),
            unpreparable: Mutex::new(HashSet::new()),
        });
        let mut opened = Vec::new();
        for _ in 0..warm.min(size) {
            opened.push(pool.connect().await?);
        }
        pool.idle_conns().extend(opened);
        Ok(pool)
    }

    fn idle_conns(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unpreparable(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.unpreparable.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn give_back(&self, mut conn: Conn) {
        conn.idle_since = Instant::now();
        self.idle_conns().push(conn);
    }

    async fn connect(&self) -> Result<Conn, DbErr> {
        let pg = tokio::time::timeout(ACQUIRE_WAIT, self.options.connect())
            .await
            .map_err(|_| conn_err("timed out opening a connection"))?
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
        Ok(Conn {
            pg,
            statements: Statements::default(),
            idle_since: Instant::now(),
        })
    }

    /// A connection: the one most recently used (its statements are most likely to be
    /// prepared), or a new one.
    pub(super) async fn acquire(self: &Arc<Self>) -> Result<Checkout, DbErr> {
        let permit = tokio::time::timeout(ACQUIRE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| conn_err("timed out waiting for a database connection"))?
            .map_err(|_| conn_err("the database pool is closed"))?;
        let conn = loop {
            let Some(mut conn) = self.idle_conns().pop() else {
                break self.connect().await?;
            };
            if conn.idle_since.elapsed() < PING_AFTER_IDLE || conn.pg.ping().await.is_ok() {
                break conn;
            }
        };
        Ok(Checkout {
            conn: Some(conn),
            pool: self.clone(),
            permit: Some(permit),
            state: State::Idle,
        })
    }
}

impl Checkout {
    fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a checkout holds its connection until dropped")
    }

    pub(super) fn connection(&mut self) -> &mut PgConnection {
        &mut self.conn().pg
    }

    /// Run `stmts` as one simple-protocol query; what each changed. `ends_open`: the
    /// query leaves a transaction open (until [`Checkout::end`]). On an error, what the
    /// statements before it changed, and the error.
    pub(super) async fn run(
        &mut self,
        stmts: &[Stmt],
        ends_open: bool,
    ) -> Result<Vec<u64>, (Vec<u64>, DbErr)> {
        let changed = |done: Vec<Done>| done.iter().map(|d| d.changed).collect();
        match self.run_returning(stmts, ends_open).await {
            Ok(done) => Ok(changed(done)),
            Err((done, err)) => Err((changed(done), err)),
        }
    }

    /// [`Checkout::run`], with the rows each statement returned. They come in
    /// PostgreSQL's text format (a simple-protocol query has no other), which sqlx
    /// decodes as it does the binary one.
    pub(super) async fn run_returning(
        &mut self,
        stmts: &[Stmt],
        ends_open: bool,
    ) -> Result<Vec<Done>, (Vec<Done>, DbErr)> {
        loop {
            self.state = State::Unknown;
            let conn = self.conn.as_mut().expect("a checkout holds its connection");
            let (sql, prelude) = conn.statements.script(stmts, &self.pool.unpreparable());
            let (mut done, failed) = execute(&mut conn.pg, sql).await;
            // One result per statement of the prelude, ahead of the statements' own.
            // `PREPARE` and `DEALLOCATE` are not undone by a rollback: what ran stands.
            let ran = done.len().min(prelude.len());
            let mut prelude = prelude.into_iter();
            for step in prelude.by_ref().take(ran) {
                conn.statements.apply(step);
            }
            let changed = done.split_off(ran);
            let Some(err) = failed else {
                self.state = if ends_open {
                    State::InTransaction
                } else {
                    State::Idle
                };
                return Ok(changed);
            };
            match prelude.next() {
                // PostgreSQL would not prepare it with these types: nothing after it ran,
                // and the query's implicit transaction has ended. Send that statement
                // with its values written in from now on.
                Some(Prelude::Prepare { key, .. }) if refused(&err) => {
                    tracing::warn!(error = %err, statement = %key, "statement not prepared");
                    self.pool.unpreparable().insert(key);
                    self.state = State::Idle;
                }
                // Any other failure of the prelude (the connection lost, or what it has
                // prepared not what we think): not used again.
                Some(_) => return Err((changed, exec_err(err))),
                None => {
                    if !out_of_step(&err) {
                        self.state = State::InTransaction;
                    }
                    return Err((changed, exec_err(err)));
                }
            }
        }
    }

    /// Commit or roll back the transaction [`Checkout::run`] left open.
    pub(super) async fn end(&mut self, commit: bool) -> Result<(), DbErr> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(self.connection())
            .await
            .map_err(exec_err)?;
        self.state = State::Idle;
        Ok(())
    }
}

/// What one statement of a query did.
pub(super) struct Done {
    /// The rows it changed.
    pub changed: u64,
    /// The rows it returned.
    pub rows: Vec<PgRow>,
}

/// Send `sql` (one or more statements); what each statement did, up to the error that
/// stopped it if one did.
async fn execute(pg: &mut PgConnection, sql: String) -> (Vec<Done>, Option<sqlx::Error>) {
    let mut done = Vec::new();
    let mut rows = Vec::new();
    let mut results = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_many(pg);
    loop {
        match results.try_next().await {
            // A statement's rows come first, then its result.
            Ok(Some(Either::Right(row))) => rows.push(row),
            Ok(Some(Either::Left(result))) => done.push(Done {
                changed: result.rows_affected(),
                rows: std::mem::take(&mut rows),
            }),
            Ok(None) => return (done, None),
            Err(err) => return (done, Some(err)),
        }
    }
}

/// The SQLSTATE of a database error.
fn sqlstate(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// PostgreSQL refused to prepare a statement as written (class 42: a type that does not
/// fit, an operator that does not exist), except for a name already taken, which means
/// the connection is out of step with what we think it has prepared.
fn refused(err: &sqlx::Error) -> bool {
    sqlstate(err).is_some_and(|c| c.starts_with("42") && c != "42P05")
}

/// The connection is lost, or has not prepared what we think (a name missing, as behind
/// a pooler that shares server connections between clients, or taken): not used again.
fn out_of_step(err: &sqlx::Error) -> bool {
    match sqlstate(err) {
        Some(code) => code == "26000" || code == "42P05",
        None => true,
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let permit = self.permit.take();
        if self.state == State::Idle {
            self.pool.give_back(conn);
            drop(permit);
            return;
        }
        // Outside a runtime (shutting down) the connection is just dropped: PostgreSQL
        // rolls back what it was in when the socket closes.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        let state = self.state;
        runtime.spawn(async move {
            let _permit = permit;
            // sqlx first reads whatever a dropped query left unread.
            if state == State::InTransaction {
                let rollback = sqlx::raw_sql(sqlx::AssertSqlSafe("ROLLBACK"));
                if rollback.execute(&mut conn.pg).await.is_ok() {
                    pool.give_back(conn);
                    return;
                }
            }
            let _ = conn.pg.close().await;
        });
    }
}

impl Statements {
    /// The query text for `stmts` on this connection, and its prelude (whose statements
    /// come first, with a result each). What the prelude changes counts only once its
    /// results say it ran ([`Statements::apply`]).
    fn script(&mut self, stmts: &[Stmt], unpreparable: &HashSet<String>) -> (String, Vec<Prelude>) {
        self.queries += 1;
        let now = self.queries;
        let mut prelude: Vec<Prelude> = Vec::new();
        let mut fresh = 0;
        let mut body = Vec::with_capacity(stmts.len());
        for stmt in stmts {
            let (sql, values) = match stmt {
                Stmt::Plain(sql) => {
                    body.push((*sql).to_owned());
                    continue;
                }
                Stmt::Bound { sql, values } => (sql, values),
            };
            let Some(types) = param_types(values) else {
                body.push(inject_parameters(sql, values, &PostgresQueryBuilder));
                continue;
            };
            let key = format!("{types}|{sql}");
            if unpreparable.contains(&key) {
                body.push(inject_parameters(sql, values, &PostgresQueryBuilder));
                continue;
            }
            let forgotten = prelude
                .iter()
                .any(|p| matches!(p, Prelude::Forget { key: k, .. } if *k == key));
            if let Some(slot) = self.prepared.get_mut(&key)
                && !forgotten
            {
                slot.last_used = now;
                body.push(execute_sql(slot.number, values));
                continue;
            }
            let preparing = prelude.iter().find_map(|p| match p {
                Prelude::Prepare { key: k, number } if *k == key => Some(*number),
                _ => None,
            });
            if let Some(number) = preparing {
                body.push(execute_sql(number, values));
                continue;
            }
            let number = if self.prepared.len() + fresh < MAX_PREPARED {
                fresh += 1;
                self.next_number += 1;
                self.next_number
            } else {
                // Full: the statement used least recently, and not by this query, makes
                // room (marked used now so that this query picks it only once).
                let victim = self
                    .prepared
                    .iter_mut()
                    .filter(|(_, slot)| slot.last_used < now)
                    .min_by_key(|(_, slot)| slot.last_used);
                let Some((victim, slot)) = victim else {
                    body.push(inject_parameters(sql, values, &PostgresQueryBuilder));
                    continue;
                };
                slot.last_used = now;
                prelude.push(Prelude::Forget {
                    key: victim.clone(),
                    number: slot.number,
                });
                slot.number
            };
            prelude.push(Prelude::Prepare { key, number });
            body.push(execute_sql(number, values));
        }
        let mut script: Vec<String> = prelude.iter().map(Prelude::sql).collect();
        script.extend(body);
        (script.join("; "), prelude)
    }

    /// A statement of the prelude ran.
    fn apply(&mut self, done: Prelude) {
        match done {
            Prelude::Forget { key, .. } => {
                self.prepared.remove(&key);
            }
            Prelude::Prepare { key, number } => {
                let last_used = self.queries;
                self.prepared.insert(key, Slot { number, last_used });
            }
        }
    }
}

/// `EXECUTE nx_{number}(…)` with the values written in, quoted by sea-query's
/// PostgreSQL builder (as for any simple-protocol statement of ours). Each literal is
/// converted to its parameter's declared type.
fn execute_sql(number: usize, values: &[Value]) -> String {
    if values.is_empty() {
        return format!("EXECUTE nx_{number}");
    }
    let literals: Vec<String> = values
        .iter()
        .map(|v| PostgresQueryBuilder.value_to_string(v))
        .collect();
    format!("EXECUTE nx_{number}({})", literals.join(", "))
}

/// The PostgreSQL types of `values`, comma-separated: the types sqlx declares when it
/// binds them (sea-query-sqlx), so a prepared statement means what the same statement
/// bound by sqlx means. `None` for a value with no such plain type.
fn param_types(values: &[Value]) -> Option<String> {
    let types: Option<Vec<&str>> = values
        .iter()
        .map(|v| {
            Some(match v {
                Value::Bool(_) => "bool",
                Value::SmallInt(_) | Value::TinyUnsigned(_) => "int2",
                Value::Int(_) | Value::SmallUnsigned(_) => "int4",
                Value::BigInt(_) | Value::Unsigned(_) => "int8",
                Value::Float(_) => "float4",
                Value::Double(_) => "float8",
                Value::String(_) | Value::Char(_) => "text",
                Value::Bytes(_) => "bytea",
                Value::Json(_) => "jsonb",
                Value::ChronoDate(_) => "date",
                Value::ChronoTime(_) => "time",
                Value::ChronoDateTime(_) => "timestamp",
                Value::ChronoDateTimeUtc(_)
                | Value::ChronoDateTimeLocal(_)
                | Value::ChronoDateTimeWithTimeZone(_) => "timestamptz",
                Value::Uuid(_) => "uuid",
                _ => return None,
            })
        })
        .collect();
    types.map(|t| t.join(", "))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

fn conn_err(message: &str) -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(message.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_what_sqlx_binds() {
        let values = [
            Value::from(uuid::Uuid::nil()),
            Value::from(5i64),
            Value::String(None),
            Value::from(true),
        ];
        assert_eq!(
            param_types(&values).as_deref(),
            Some("uuid, int8, text, bool")
        );
        assert_eq!(param_types(&[Value::TinyInt(Some(1))]), None);
        assert_eq!(param_types(&[]).as_deref(), Some(""));
    }

    fn update(n: usize) -> Stmt {
        Stmt::Bound {
            sql: format!("UPDATE t{n} SET x = $1"),
            values: vec![Value::from(7i32)],
        }
    }

    /// Script `stmts` and count every statement of its prelude as run.
    fn sent(statements: &mut Statements, stmts: &[Stmt]) -> String {
        let (sql, prelude) = statements.script(stmts, &HashSet::new());
        for done in prelude {
            statements.apply(done);
        }
        sql
    }

    #[test]
    fn a_statement_is_prepared_once_then_executed() {
        let mut statements = Statements::default();
        let first = sent(
            &mut statements,
            &[Stmt::Plain("BEGIN"), update(1), update(1)],
        );
        assert_eq!(
            first,
            "PREPARE nx_1(int4) AS UPDATE t1 SET x = $1; BEGIN; \
             EXECUTE nx_1(7); EXECUTE nx_1(7)"
        );
        let again = sent(&mut statements, &[update(1), update(2)]);
        assert_eq!(
            again,
            "PREPARE nx_2(int4) AS UPDATE t2 SET x = $1; EXECUTE nx_1(7); EXECUTE nx_2(7)"
        );
    }

    #[test]
    fn a_full_connection_forgets_the_statement_used_least_recently() {
        let mut statements = Statements::default();
        for n in 1..=MAX_PREPARED {
            sent(&mut statements, &[update(n)]);
        }
        // t1 is used again: t2 is now the least recently used, then t3.
        sent(&mut statements, &[update(1)]);
        let sql = sent(&mut statements, &[update(1), update(100), update(101)]);
        assert_eq!(
            sql,
            "DEALLOCATE nx_2; PREPARE nx_2(int4) AS UPDATE t100 SET x = $1; \
             DEALLOCATE nx_3; PREPARE nx_3(int4) AS UPDATE t101 SET x = $1; \
             EXECUTE nx_1(7); EXECUTE nx_2(7); EXECUTE nx_3(7)"
        );
        assert_eq!(statements.prepared.len(), MAX_PREPARED);
        assert_eq!(sent(&mut statements, &[update(100)]), "EXECUTE nx_2(7)");
        // A statement forgotten by this very query is prepared again, under a new name.
        let sql = sent(&mut statements, &[update(102), update(4)]);
        assert!(
            sql.starts_with("DEALLOCATE nx_4; PREPARE nx_4(int4) AS UPDATE t102"),
            "{sql}"
        );
        assert!(sql.ends_with("EXECUTE nx_4(7); EXECUTE nx_5(7)"), "{sql}");
    }

    #[test]
    fn only_what_ran_counts_as_prepared() {
        let mut statements = Statements::default();
        let (_, prelude) = statements.script(&[update(1), update(2)], &HashSet::new());
        // The first PREPARE ran, the second failed.
        statements.apply(prelude.into_iter().next().expect("two"));
        let (sql, _) = statements.script(&[update(1), update(2)], &HashSet::new());
        assert_eq!(
            sql,
            "PREPARE nx_3(int4) AS UPDATE t2 SET x = $1; EXECUTE nx_1(7); EXECUTE nx_3(7)"
        );
        // One PostgreSQL refused is sent as it is.
        let refused = HashSet::from(["int4|UPDATE t2 SET x = $1".to_owned()]);
        let (sql, prelude) = statements.script(&[update(2)], &refused);
        assert_eq!(sql, "UPDATE t2 SET x = 7");
        assert!(prelude.is_empty());
    }

    #[test]
    fn executes_quote_their_values() {
        let values = [Value::from("it's"), Value::from(7i32), Value::Int(None)];
        assert_eq!(execute_sql(3, &values), r"EXECUTE nx_3(E'it\'s', 7, NULL)");
        assert_eq!(execute_sql(1, &[]), "EXECUTE nx_1");
    }
}
