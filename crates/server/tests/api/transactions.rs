//! The contract of `kernel::db::Tx` on both engines: what a transaction binds, what
//! dropping one does, and that errors keep their kind. On PostgreSQL a transaction only
//! begins with its first statement, and its settings travel with the `BEGIN`; and which
//! rows a message's writes lock.

use chrono::Utc;
use nexus_kernel::db::{Db, Group, Scope, Write};
use nexus_kernel::entities::workspace_module;
use nexus_testkit::{Engine, TestApp, both_engines};
use sea_orm::sea_query::{InsertStatement, UpdateStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryTrait, SqlErr, Statement,
};
use uuid::Uuid;

use crate::owner;

both_engines!(
    a_dropped_transaction_leaves_nothing_behind,
    unused_transactions_hold_no_connection,
    a_failed_statement_keeps_its_kind,
    quota_reservations_are_given_back,
    a_single_update_is_its_own_transaction,
    a_single_update_then_a_write_transaction,
    groups_commit_each_bound_to_its_own_workspace,
    reads_together_match_reads_one_by_one,
);

async fn workspace(app: &TestApp) -> Scope {
    workspace_of(app, "o@example.com").await
}

/// A new workspace of a new owner, `email`.
async fn workspace_of(app: &TestApp, email: &str) -> Scope {
    let (_, ws, user) = owner(app, email).await;
    Scope {
        workspace_id: ws.parse().expect("uuid"),
        user_id: Some(user.parse().expect("uuid")),
    }
}

fn module_row(workspace_id: Uuid, module: &str) -> workspace_module::ActiveModel {
    workspace_module::ActiveModel {
        workspace_id: Set(workspace_id),
        module: Set(module.into()),
        enabled: Set(true),
        updated_at: Set(Utc::now()),
    }
}

/// Add module rows to the workspace, committed.
async fn add_modules(db: &Db, scope: Scope, names: &[&str]) {
    let tx = db.tenant(scope, true).await.expect("write");
    for &name in names {
        workspace_module::Entity::insert(module_row(scope.workspace_id, name))
            .exec_without_returning(&tx)
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
}

/// The INSERT of one module row.
fn module_insert(scope: Scope, name: &str) -> InsertStatement {
    workspace_module::Entity::insert(module_row(scope.workspace_id, name)).into_query()
}

/// Rename the workspace's module row `from` to `to`.
fn rename_module(scope: Scope, from: &str, to: &str) -> UpdateStatement {
    workspace_module::Entity::update_many()
        .col_expr(
            workspace_module::Column::Module,
            sea_orm::sea_query::Expr::value(to.to_owned()),
        )
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .filter(workspace_module::Column::Module.eq(from))
        .into_query()
}

/// Touch every module row of the workspace.
fn touch_modules(scope: Scope) -> UpdateStatement {
    workspace_module::Entity::update_many()
        .col_expr(
            workspace_module::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .into_query()
}

/// PostgreSQL with one connection for prepared writes (`Db::single_update` and the
/// like; and the least pool for everything else): what one of them leaves on its
/// connection, the next one meets.
async fn one_connection_app() -> Option<TestApp> {
    TestApp::spawn_with(Engine::Postgres, |s| {
        s.database_max_connections = 1;
        s.database_min_connections = 1;
    })
    .await
}

async fn count_modules(db: &Db, scope: Scope, module: &str) -> u64 {
    let tx = db.tenant(scope, false).await.expect("read");
    let n = workspace_module::Entity::find()
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .filter(workspace_module::Column::Module.eq(module))
        .count(&tx)
        .await
        .expect("count");
    tx.commit().await.expect("commit");
    n
}

async fn a_dropped_transaction_leaves_nothing_behind(app: TestApp) {
    let scope = workspace(&app).await;
    let db = &app.state.db;
    let tx = db.tenant(scope, true).await.expect("write");
    workspace_module::Entity::insert(module_row(scope.workspace_id, "dropped"))
        .exec_without_returning(&tx)
        .await
        .expect("insert");
    drop(tx);
    assert_eq!(count_modules(db, scope, "dropped").await, 0);

    // The connection (PostgreSQL) or the writer lock (SQLite) the dropped transaction
    // held is usable again at once.
    let tx = db.tenant(scope, true).await.expect("write after drop");
    workspace_module::Entity::insert(module_row(scope.workspace_id, "kept"))
        .exec_without_returning(&tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(count_modules(db, scope, "kept").await, 1);

    // An explicit rollback is the same as a drop.
    let tx = db.tenant(scope, true).await.expect("write");
    workspace_module::Entity::insert(module_row(scope.workspace_id, "rolled"))
        .exec_without_returning(&tx)
        .await
        .expect("insert");
    tx.rollback().await.expect("rollback");
    assert_eq!(count_modules(db, scope, "rolled").await, 0);
}

async fn unused_transactions_hold_no_connection(app: TestApp) {
    let scope = workspace(&app).await;
    let db = &app.state.db;
    // Far more than the pool's connections: a transaction that never ran a statement
    // (a request answered from the hot cache) must not have taken one.
    let pool_size = app.state.settings.database_max_connections as usize;
    let mut held = Vec::new();
    for _ in 0..pool_size * 4 {
        held.push(db.tenant(scope, false).await.expect("read"));
    }
    // Some of them still work when they do run a statement, one at a time.
    for tx in held.iter().take(3) {
        tx.query_one_raw(Statement::from_string(db.backend(), "SELECT 1"))
            .await
            .expect("query")
            .expect("row");
    }
    for tx in held {
        tx.commit().await.expect("commit");
    }
}

async fn a_failed_statement_keeps_its_kind(app: TestApp) {
    let scope = workspace(&app).await;
    let tx = app.state.db.tenant(scope, true).await.expect("write");
    workspace_module::Entity::insert(module_row(scope.workspace_id, "twice"))
        .exec_without_returning(&tx)
        .await
        .expect("first insert");
    let err = workspace_module::Entity::insert(module_row(scope.workspace_id, "twice"))
        .exec_without_returning(&tx)
        .await
        .expect_err("second insert");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "a duplicate is recognisable as one: {err:?}"
    );
}

/// A reservation commits on its own; one whose work never started is released, and a
/// second reservation over the limit is refused while the first holds.
async fn quota_reservations_are_given_back(app: TestApp) {
    use nexus_ai::usage::quota;
    let scope = workspace(&app).await;
    let db = &app.state.db;
    let budget = |user_id, tokens, workspace_limit| quota::Budget {
        workspace_id: scope.workspace_id,
        user_id,
        tokens,
        workspace_limit,
        member_limit: None,
    };
    let first = quota::reserve(db, &budget(scope.user_id, 600, 1_000))
        .await
        .expect("within the limit");
    assert!(
        quota::reserve(db, &budget(scope.user_id, 600, 1_000))
            .await
            .is_err(),
        "600 + 600 is over 1000"
    );
    quota::release(db, &first).await;
    let second = quota::reserve(db, &budget(scope.user_id, 600, 1_000))
        .await
        .expect("the first one was given back");
    quota::settle(db, &second, 250).await;
    // 250 used: 750 remain.
    assert!(quota::reserve(db, &budget(None, 751, 1_000)).await.is_err());
    quota::reserve(db, &budget(None, 750, 1_000))
        .await
        .expect("exactly what remains");
}

/// `Db::single_update`: bound to its scope, values quoted, all or nothing.
async fn a_single_update_is_its_own_transaction(app: TestApp) {
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["single", "taken"]).await;
    let rename = |from: &str, to: &str| rename_module(scope, from, to);

    // A value is data, whatever it contains.
    let odd = "o'brien'; DELETE FROM workspace_modules; --";
    let n = db
        .single_update(scope, true, &rename("single", odd))
        .await
        .expect("update");
    assert_eq!(n, 1);
    assert_eq!(count_modules(db, scope, odd).await, 1);
    assert_eq!(count_modules(db, scope, "taken").await, 1);

    // A failed statement changes nothing and leaves the database usable.
    let err = db
        .single_update(scope, false, &rename(odd, "taken"))
        .await
        .expect_err("duplicate");
    assert_duplicate(&err);
    assert_eq!(count_modules(db, scope, odd).await, 1);

    // Another workspace's scope reaches none of this workspace's rows (on PostgreSQL the
    // row-level security wall, since the statement names the workspace itself).
    if app.engine == Engine::Postgres {
        let (_, other_ws, _) = owner(&app, "other@example.com").await;
        let other = Scope {
            workspace_id: other_ws.parse().expect("uuid"),
            user_id: None,
        };
        let n = db
            .single_update(other, true, &rename(odd, "moved"))
            .await
            .expect("update");
        assert_eq!(n, 0, "row-level security hides the row");
        assert_eq!(count_modules(db, scope, odd).await, 1);
    }
}

/// `Db::single_update_then_write`: the update commits on its own; the statements after it
/// run in a transaction that is handed back open, and goes as any other does.
async fn a_single_update_then_a_write_transaction(app: TestApp) {
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["counter"]).await;
    let rename = |from: &str, to: &str| rename_module(scope, from, to);
    let add = |name: &str| module_insert(scope, name);

    // Committed: both. Values are data, whatever they contain.
    let odd = "it's'; DELETE FROM workspace_modules; --";
    let (first, second) = (rename("counter", "counted"), add(odd));
    let (updated, then) = db
        .single_update_then_write(
            scope,
            true,
            &first,
            &[
                Write::Update(&rename("nothing", "x")),
                Write::Insert(&second),
            ],
        )
        .await
        .expect("no error");
    assert_eq!(updated, 1);
    let (changed, tx) = then.expect("begun");
    assert_eq!(changed, [0, 1]);
    assert_eq!(count_modules(db, scope, "counted").await, 1, "committed");
    assert_eq!(count_modules(db, scope, odd).await, 0, "not yet");
    tx.commit().await.expect("commit");
    assert_eq!(count_modules(db, scope, odd).await, 1);

    // Dropped: the update stays, the rest goes.
    let (updated, then) = db
        .single_update_then_write(
            scope,
            false,
            &rename("counted", "again"),
            &[Write::Insert(&add("dropped"))],
        )
        .await
        .expect("no error");
    assert_eq!(updated, 1);
    drop(then.expect("begun"));
    assert_eq!(count_modules(db, scope, "again").await, 1);
    assert_eq!(count_modules(db, scope, "dropped").await, 0);

    // A failing statement after the update: the update stays, the error is the
    // statement's, and nothing of the transaction remains.
    let (updated, then) = db
        .single_update_then_write(
            scope,
            true,
            &rename("again", "third"),
            &[Write::Insert(&add("lost")), Write::Insert(&add(odd))],
        )
        .await
        .expect("the update ran");
    assert_eq!(updated, 1);
    let err = then.err().expect("duplicate");
    assert_duplicate(&err);
    assert_eq!(count_modules(db, scope, "third").await, 1);
    assert_eq!(count_modules(db, scope, "lost").await, 0);

    // A failing update: nothing at all.
    let err = db
        .single_update_then_write(
            scope,
            true,
            &rename("third", odd),
            &[Write::Insert(&add("never"))],
        )
        .await
        .err()
        .expect("duplicate");
    assert_duplicate(&err);
    assert_eq!(count_modules(db, scope, "third").await, 1);
    assert_eq!(count_modules(db, scope, "never").await, 0);
}

/// Two workspaces of two owners, each with a module row named "counter".
async fn two_workspaces_with_counters(app: &TestApp) -> (Scope, Scope) {
    let (a, b) = (
        workspace(app).await,
        workspace_of(app, "p@example.com").await,
    );
    for scope in [a, b] {
        add_modules(&app.state.db, scope, &["counter"]).await;
    }
    (a, b)
}

/// `Db::commit_groups`: each group's statements run bound to its own workspace, every
/// `first` before any `then`. On PostgreSQL the `first`s commit together and the `then`s
/// after them, together or not at all; on SQLite all of it is one transaction.
async fn groups_commit_each_bound_to_its_own_workspace(app: TestApp) {
    let (a, b) = two_workspaces_with_counters(&app).await;
    let db = &app.state.db;
    let group = |scope, first, then| Group {
        scope,
        first: std::slice::from_ref(first),
        then,
    };

    // Both committed, each with its own counts. B's group also renames a row of A's:
    // row-level security keeps it out on PostgreSQL; SQLite has no such wall (every
    // statement's own workspace filter is its only one).
    let (a_first, b_first) = (
        rename_module(a, "counter", "a1"),
        rename_module(b, "counter", "b1"),
    );
    // A quote in a value stays data.
    let a_insert = module_insert(a, "it's'; DELETE FROM workspace_modules; --");
    let a_then = [Write::Insert(&a_insert)];
    let (b_insert, reach) = (
        module_insert(b, "b-added"),
        rename_module(a, "a1", "reached"),
    );
    let b_then = [Write::Insert(&b_insert), Write::Update(&reach)];
    let (updated, then) = db
        .commit_groups(
            true,
            &[group(a, &a_first, &a_then), group(b, &b_first, &b_then)],
        )
        .await
        .expect("no error");
    assert_eq!(updated, [1, 1]);
    let reached = u64::from(app.engine == Engine::Sqlite);
    assert_eq!(then.expect("committed"), [vec![1], vec![1, reached]]);
    assert_eq!(
        count_modules(db, a, "it's'; DELETE FROM workspace_modules; --").await,
        1
    );
    assert_eq!(count_modules(db, b, "b-added").await, 1);
    assert_eq!(count_modules(db, a, "a1").await, 1 - reached);

    // A failing statement in B's `then`: A's goes with it.
    let a_name = if reached == 1 { "reached" } else { "a1" };
    let (a_first, b_first) = (rename_module(a, a_name, "a2"), rename_module(b, "b1", "b2"));
    let lost = module_insert(a, "lost");
    let a_then = [Write::Insert(&lost)];
    let b_then = [Write::Insert(&b_insert)];
    let result = db
        .commit_groups(
            false,
            &[group(a, &a_first, &a_then), group(b, &b_first, &b_then)],
        )
        .await;
    let renamed = match app.engine {
        Engine::Postgres => {
            let (updated, then) = result.expect("the updates committed");
            assert_eq!(updated, [1, 1]);
            assert_duplicate(&then.expect_err("duplicate"));
            1
        }
        Engine::Sqlite => {
            assert_duplicate(&result.expect_err("duplicate"));
            0
        }
    };
    assert_eq!(count_modules(db, a, "a2").await, renamed);
    assert_eq!(count_modules(db, b, "b2").await, renamed);
    assert_eq!(count_modules(db, a, "lost").await, 0);

    // A failing `first`: nothing at all.
    let a_name = if renamed == 1 { "a2" } else { a_name };
    let b_name = if renamed == 1 { "b2" } else { "b1" };
    let (a_first, b_first) = (
        rename_module(a, a_name, "a3"),
        rename_module(b, b_name, "b-added"),
    );
    let never = module_insert(a, "never");
    let a_then = [Write::Insert(&never)];
    let err = db
        .commit_groups(
            true,
            &[group(a, &a_first, &a_then), group(b, &b_first, &[])],
        )
        .await
        .expect_err("duplicate");
    assert_duplicate(&err);
    assert_eq!(count_modules(db, a, "a3").await, 0);
    assert_eq!(count_modules(db, a, "never").await, 0);
    assert_eq!(count_modules(db, b, b_name).await, 1);

    // A group without a `first` (another group's covers it), between two with one: its
    // `then` still runs, bound to its own workspace, and its count is 0.
    let a_first = rename_module(a, a_name, "a4");
    let a_again = rename_module(a, "a4", "a5");
    let (b_then_only, a_then_only) = (module_insert(b, "b-then"), module_insert(a, "a-then"));
    let (b_then, a_then) = ([Write::Insert(&b_then_only)], [Write::Insert(&a_then_only)]);
    let (updated, then) = db
        .commit_groups(
            true,
            &[
                group(a, &a_first, &[]),
                Group {
                    scope: b,
                    first: &[],
                    then: &b_then,
                },
                group(a, &a_again, &a_then),
            ],
        )
        .await
        .expect("no error");
    assert_eq!(updated, [1, 0, 1]);
    assert_eq!(then.expect("committed"), [vec![], vec![1], vec![1]]);
    assert_eq!(count_modules(db, a, "a5").await, 1);
    assert_eq!(count_modules(db, b, "b-then").await, 1);
    assert_eq!(count_modules(db, a, "a-then").await, 1);
}

/// `Db::commit_groups` with several groups waits for a row lock at most half a second,
/// so that one workspace's wait does not hold every other's: the query fails having
/// committed nothing, and says so (`committed_nothing`). One group alone waits as long
/// as any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_wait_for_a_row_lock_only_so_long() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let (a, b) = two_workspaces_with_counters(&app).await;
    let db = &app.state.db;
    // Another transaction holds B's row.
    let holder = db.tenant(b, true).await.expect("write");
    let hold = rename_module(b, "counter", "held");
    holder
        .write(Write::Update(&hold))
        .await
        .expect("lock the row");
    let (a_first, b_first) = (
        rename_module(a, "counter", "a1"),
        rename_module(b, "counter", "b1"),
    );
    let groups = [
        Group {
            scope: a,
            first: std::slice::from_ref(&a_first),
            then: &[],
        },
        Group {
            scope: b,
            first: std::slice::from_ref(&b_first),
            then: &[],
        },
    ];
    let err = db
        .commit_groups(true, &groups)
        .await
        .expect_err("lock timeout");
    assert!(nexus_kernel::db::committed_nothing(&err), "{err:?}");
    assert!(err.to_string().contains("lock timeout"), "{err}");
    assert_eq!(count_modules(db, a, "a1").await, 0);
    holder.rollback().await.expect("rollback");
    let (updated, then) = db.commit_groups(true, &groups).await.expect("no wait now");
    assert_eq!(updated, [1, 1]);
    assert_eq!(then.expect("committed"), [Vec::<u64>::new(), Vec::new()]);
}

/// After `Db::commit_groups`, committed or failed, its connection goes on clean: the next
/// write on it has none of its settings, and no session is left in a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_groups_leave_their_connection_clean() {
    let Some(app) = one_connection_app().await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["probe"]).await;
    let touch = touch_modules(scope);
    for name in ["once", "once"] {
        // The second time the insert fails (duplicate), after the update committed.
        let insert = module_insert(scope, name);
        let then = [Write::Insert(&insert)];
        let group = Group {
            scope,
            first: std::slice::from_ref(&touch),
            then: &then,
        };
        let (_, then) = db.commit_groups(true, &[group]).await.expect("update");
        let met = next_prepared_write_meets(db, scope).await;
        assert_eq!(met, ("probe:on".to_owned(), 0), "{then:?}");
    }
    assert_eq!(count_modules(db, scope, "once").await, 1);
}

/// What the next write on the one connection for prepared writes (see
/// `one_connection_app`) meets: its `synchronous_commit`, as a durable
/// `Db::single_update` writes it into the workspace's "probe" module row; and how many
/// other sessions are left inside a transaction after it.
async fn next_prepared_write_meets(db: &Db, scope: Scope) -> (String, i64) {
    let probe = workspace_module::Column::Module;
    let write_setting = workspace_module::Entity::update_many()
        .col_expr(
            probe,
            sea_orm::sea_query::Expr::cust("'probe:' || current_setting('synchronous_commit')"),
        )
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .filter(probe.starts_with("probe"))
        .into_query();
    let changed = db.single_update(scope, false, &write_setting).await;
    assert_eq!(changed.expect("probe"), 1);
    let tx = db.tenant(scope, false).await.expect("read");
    let row = workspace_module::Entity::find()
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .filter(probe.starts_with("probe"))
        .one(&tx)
        .await
        .expect("read")
        .expect("probe row");
    let open = open_transactions(&tx).await;
    tx.commit().await.expect("commit");
    (row.module, open)
}

/// Sessions of this database other than `tx`'s left idle inside a transaction, once any
/// read's end has had time to arrive.
///
/// A read-only transaction's `ROLLBACK` is only queued when it is dropped, and sqlx sends
/// it from a task of its own as the connection goes back to the pool (see `PgTx::finish`):
/// for a moment another session of the app may show as idle in a transaction it has
/// already let go of. A transaction truly left open stays so, so the count is read again
/// until it is zero or two seconds have passed.
async fn open_transactions(tx: &impl ConnectionTrait) -> i64 {
    let count = || async {
        // A transaction reads the sessions' states once, unless told to read them again.
        tx.execute_unprepared("SELECT pg_stat_clear_snapshot()")
            .await
            .expect("clear");
        tx.query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND state LIKE 'idle in transaction%'",
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get::<i64>("", "n")
        .expect("n")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let open = count().await;
        if open == 0 || std::time::Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A transaction begun by `Db::single_update_then_write` that is dropped open is rolled
/// back before its connection is used again: the next write on it starts clean, and no
/// session is left idle in a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_write_after_a_single_update_leaves_no_open_transaction() {
    let Some(app) = one_connection_app().await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["probe"]).await;
    let touch = touch_modules(scope);
    let insert = module_insert(scope, "open");
    let (_, then) = db
        .single_update_then_write(scope, true, &touch, &[Write::Insert(&insert)])
        .await
        .expect("update");
    let (_, tx) = then.expect("begun");
    assert_eq!(
        setting(&tx, "synchronous_commit").await,
        "on",
        "the update's own"
    );
    drop(tx);

    let met = next_prepared_write_meets(db, scope).await;
    assert_eq!(met, ("probe:on".to_owned(), 0));
    assert_eq!(count_modules(db, scope, "open").await, 0);
}

/// SQLite write transactions send a batch of writes (with the `BEGIN`, and the `COMMIT`
/// if asked) in one round trip. A failed or dropped batch is rolled back before its
/// connection goes back to the pool: with a pool of two connections, a read that got the
/// connection still inside the transaction would see the transaction's own rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_batches_are_all_or_nothing() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.database_max_connections = 2).await
    else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["taken"]).await;
    let add = |name: &str| module_insert(scope, name);
    for round in 0..20 {
        // Dropped open after the batch: rolled back.
        let dropped = add(&format!("dropped-{round}"));
        let (changed, tx) = db
            .write_all(scope, &[Write::Insert(&dropped)])
            .await
            .expect("batch");
        assert_eq!(changed, [1]);
        drop(tx);
        assert_eq!(
            count_modules(db, scope, &format!("dropped-{round}")).await,
            0
        );

        // Failing in its middle, with the commit in the batch: none of it commits.
        let (before, after) = (
            add(&format!("before-{round}")),
            add(&format!("after-{round}")),
        );
        let err = db
            .write_and_commit(
                scope,
                &[
                    Write::Insert(&before),
                    Write::Insert(&add("taken")),
                    Write::Insert(&after),
                ],
            )
            .await
            .expect_err("duplicate");
        assert_duplicate(&err);
        assert_eq!(
            count_modules(db, scope, &format!("before-{round}")).await,
            0
        );

        // Values are numbered on from one statement to the next; each count is its own.
        let odd = format!("it's'; DELETE FROM workspace_modules; -- {round}");
        let kept = add(&odd);
        let rows = all_modules(db, scope).await;
        let changed = db
            .write_and_commit(
                scope,
                &[
                    Write::Update(&rename_module(scope, "nothing", "x")),
                    Write::Insert(&kept),
                    Write::Update(&touch_modules(scope)),
                ],
            )
            .await
            .expect("committed");
        assert_eq!(
            changed,
            [0, 1, rows + 1],
            "the touch sees the insert before it"
        );
        assert_eq!(count_modules(db, scope, &odd).await, 1);
    }
}

/// SQLite: writes that yield ([`Db::write_and_commit`]: final saves, checkpoints) queue
/// among themselves first, so a write someone waits on finds at most one of them ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_yielding_writes_let_others_go_first() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = app.state.db.clone();
    let holder = db.tenant(scope, true).await.expect("write");
    holder
        .write(Write::Insert(&module_insert(scope, "holder")))
        .await
        .expect("insert");
    let mut tasks = Vec::new();
    // Each task queues in turn: the mutexes serve their waiters in order of arrival.
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(100));
    for name in ["yield-1", "yield-2", "yield-3", "urgent"] {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let insert = module_insert(scope, name);
            if name == "urgent" {
                let (_, tx) = db
                    .write_all(scope, &[Write::Insert(&insert)])
                    .await
                    .expect("write");
                tx.commit().await.expect("commit");
            } else {
                db.write_and_commit(scope, &[Write::Insert(&insert)])
                    .await
                    .expect("write");
            }
        }));
        pause().await;
    }
    holder.commit().await.expect("commit");
    for task in tasks {
        task.await.expect("task");
    }
    // The order the rows were written in.
    let tx = db.begin_read().await.expect("read");
    let rows = tx
        .query_all_raw(Statement::from_sql_and_values(
            db.backend(),
            "SELECT module FROM workspace_modules WHERE workspace_id = ? ORDER BY rowid",
            [scope.workspace_id.into()],
        ))
        .await
        .expect("rows");
    let order: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "module").expect("module"))
        .filter(|m| m != "holder")
        .collect();
    assert_eq!(order, ["yield-1", "urgent", "yield-2", "yield-3"]);
}

/// A SQLite batch cancelled half-way (its request went away) is all or nothing, and the
/// writer lock and the connection come back: the writes after it go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancelled_batches_leave_all_or_nothing() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.database_max_connections = 2).await
    else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    for round in 0..20 {
        let (a, b) = (format!("a-{round}"), format!("b-{round}"));
        let (first, second) = (module_insert(scope, &a), module_insert(scope, &b));
        let writes = [Write::Insert(&first), Write::Insert(&second)];
        // Polled once, then dropped: before the query went out, while it runs, or after
        // it ran with its result unread (and, committing separately, during the COMMIT).
        let batch = async {
            if round % 2 == 0 {
                db.write_and_commit(scope, &writes).await.expect("batch");
            } else {
                let (_, tx) = db.write_all(scope, &writes).await.expect("batch");
                tx.commit().await.expect("commit");
            }
        };
        let mut batch = Box::pin(batch);
        let cancelled = futures::poll!(&mut batch).is_pending();
        match round % 5 {
            0 => {}
            1 => tokio::task::yield_now().await,
            n => tokio::time::sleep(std::time::Duration::from_millis(n - 1)).await,
        }
        drop(batch);
        // The next write waits for the writer lock, which the cancelled batch keeps
        // until its rollback has run: after it, the batch's end is settled.
        let after = module_insert(scope, &format!("after-{round}"));
        db.write_and_commit(scope, &[Write::Insert(&after)])
            .await
            .expect("the next write goes through");
        let (na, nb) = (
            count_modules(db, scope, &a).await,
            count_modules(db, scope, &b).await,
        );
        assert_eq!(na, nb, "round {round}: all or nothing");
        if !cancelled {
            assert_eq!(na, 1);
        }
    }
}

async fn all_modules(db: &Db, scope: Scope) -> u64 {
    let tx = db.tenant(scope, false).await.expect("read");
    let n = workspace_module::Entity::find()
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .count(&tx)
        .await
        .expect("count");
    tx.commit().await.expect("commit");
    n
}

/// `err` is a unique-constraint violation, as sqlx reported it.
fn assert_duplicate(err: &sea_orm::DbErr) {
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{err:?}"
    );
}

async fn setting(tx: &impl ConnectionTrait, name: &str) -> String {
    let row = tx
        .query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            format!("SELECT current_setting('{name}', true) AS v"),
        ))
        .await
        .expect("query")
        .expect("row");
    row.try_get::<Option<String>>("", "v")
        .expect("v")
        .unwrap_or_default()
}

/// `Db::single_update` sets its durability for its own implicit transaction only: the
/// next write on its connection starts clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_update_leaves_its_connection_clean() {
    let Some(app) = one_connection_app().await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["probe"]).await;
    let touch = touch_modules(scope);
    db.single_update(scope, true, &touch).await.expect("update");
    let met = next_prepared_write_meets(db, scope).await;
    assert_eq!(met, ("probe:on".to_owned(), 0));
}

/// A `Db::single_update` dropped while PostgreSQL runs it is all or nothing (the query
/// runs to its end unless PostgreSQL notices the closed connection first), and the next
/// write goes through (its connection, whose state is not known, is replaced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_hot_write_is_all_or_nothing() {
    let Some(app) = one_connection_app().await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["slow"]).await;
    let slow = workspace_module::Entity::update_many()
        .col_expr(
            workspace_module::Column::Module,
            sea_orm::sea_query::Expr::cust("'changed' || (SELECT '' FROM pg_sleep(0.5))"),
        )
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .into_query();
    let write = db.single_update(scope, false, &slow);
    let cancelled = tokio::time::timeout(std::time::Duration::from_millis(100), write).await;
    assert!(cancelled.is_err(), "still running when dropped");
    let changed = db.single_update(scope, true, &touch_modules(scope)).await;
    assert_eq!(changed.expect("next write"), 1);
    let left = count_modules(db, scope, "slow").await;
    assert_eq!(left + count_modules(db, scope, "changed").await, 1);
}

/// The last query of the connection for prepared writes (see `one_connection_app`).
async fn last_prepared_query(db: &Db) -> String {
    let tx = db.begin_read().await.expect("read");
    let row = tx
        .query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            "SELECT query FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query LIKE '%nx\\_%' ORDER BY query_start DESC LIMIT 1",
        ))
        .await
        .expect("query")
        .expect("row");
    tx.commit().await.expect("commit");
    row.try_get::<String>("", "query").expect("query")
}

/// `Db::single_update` and the like prepare each statement once on a connection, in the
/// query that first runs it, and from then on only execute it. A statement PostgreSQL
/// will not prepare with its values' types (a uuid column compared with text) is sent
/// with its values written in, which works, from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_writes_prepare_each_statement_once() {
    let Some(app) = one_connection_app().await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["a", "b"]).await;
    db.single_update(scope, true, &touch_modules(scope))
        .await
        .expect("first");
    let first = last_prepared_query(db).await;
    assert!(first.starts_with("PREPARE nx_1(text, "), "{first}");
    assert!(
        first.contains("; PREPARE nx_2(timestamptz, uuid) AS UPDATE"),
        "{first}"
    );
    let changed = db.single_update(scope, true, &touch_modules(scope)).await;
    assert_eq!(changed.expect("again"), 2);
    let again = last_prepared_query(db).await;
    assert!(
        again.starts_with("EXECUTE nx_1('app.workspace_id', "),
        "{again}"
    );
    assert!(again.contains("; EXECUTE nx_2('"), "{again}");
    assert!(!again.contains("PREPARE"), "{again}");

    let by_text = workspace_module::Entity::update_many()
        .col_expr(
            workspace_module::Column::Enabled,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id.to_string()))
        .into_query();
    for _ in 0..2 {
        let changed = db.single_update(scope, true, &by_text).await;
        assert_eq!(changed.expect("by text"), 2);
        let sent = last_prepared_query(db).await;
        assert!(sent.contains(".\"workspace_id\" = '"), "{sent}");
        assert!(!sent.contains("PREPARE"), "{sent}");
    }
    let changed = db.single_update(scope, true, &touch_modules(scope)).await;
    assert_eq!(changed.expect("still"), 2);
    let still = last_prepared_query(db).await;
    assert!(still.starts_with("EXECUTE nx_1("), "{still}");
    assert!(still.contains("; EXECUTE nx_2('"), "{still}");

    // The connection is lost: a write may fail once, then the next connection prepares
    // its statements afresh.
    let tx = db.begin_read().await.expect("read");
    tx.execute_unprepared(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND query LIKE '%nx\\_%'",
    )
    .await
    .expect("terminate");
    tx.commit().await.expect("commit");
    let touch = touch_modules(scope);
    if db.single_update(scope, true, &touch).await.is_err() {
        let changed = db.single_update(scope, true, &touch).await;
        assert_eq!(changed.expect("on a new connection"), 2);
    }
    let afresh = last_prepared_query(db).await;
    assert!(afresh.starts_with("PREPARE nx_1(text, "), "{afresh}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_travels_with_the_first_statement() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;

    let tx = db.tenant(scope, false).await.expect("read");
    assert_eq!(
        setting(&tx, "app.workspace_id").await,
        scope.workspace_id.to_string()
    );
    assert_eq!(
        setting(&tx, "app.user_id").await,
        scope.user_id.expect("user").to_string()
    );
    // Rebinding an open transaction (an API key found by its digest) replaces the keys.
    let other = Scope {
        workspace_id: Uuid::now_v7(),
        user_id: None,
    };
    tx.bind_scope(other).await.expect("rebind");
    assert_eq!(
        setting(&tx, "app.workspace_id").await,
        other.workspace_id.to_string()
    );
    assert_eq!(setting(&tx, "app.user_id").await, "");
    tx.commit().await.expect("commit");

    // Settings are literals in the BEGIN's query; a quote in one stays a quote.
    let tx = db
        .begin_token_lookup("it's'; SELECT 1; --", false)
        .await
        .expect("lookup");
    assert_eq!(
        setting(&tx, "app.token_digest").await,
        "it's'; SELECT 1; --"
    );
    // The settings are the transaction's own: the next one on the pool starts clean.
    tx.commit().await.expect("commit");
    let tx = db.begin_read().await.expect("read");
    assert_eq!(setting(&tx, "app.token_digest").await, "");
    assert_eq!(setting(&tx, "app.workspace_id").await, "");

    // Relaxed durability is the transaction's own, like the scope.
    let relaxed = db.tenant(scope, true).await.expect("write");
    relaxed.relax_durability().await.expect("relax");
    assert_eq!(setting(&relaxed, "synchronous_commit").await, "off");
    relaxed.commit().await.expect("commit");
    let plain = db.tenant(scope, true).await.expect("write");
    assert_eq!(setting(&plain, "synchronous_commit").await, "on");
    drop(plain);

    // Read transactions are read-only.
    let err = tx
        .execute_unprepared("CREATE TEMP TABLE t (x int)")
        .await
        .expect_err("read only");
    assert!(err.to_string().contains("read-only"), "{err}");
}

/// On PostgreSQL the rows a message writes do not reference its workspace's row, so a
/// message never waits on that row's lock (many messages in flight in one workspace
/// used to share it: see the `m0004_ai_write_locks` migration). A message's rows go with
/// its conversation instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_does_not_lock_its_workspace_row() {
    use crate::ai_support::{conversation, enable_ai};
    use nexus_testkit::fake_ai::FakeAi;
    use sea_orm::TransactionTrait;
    use serde_json::json;

    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Fake").await;
    let conv = conversation(&o, &ws, json!({ "title": "Locked out" })).await;
    let messages = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    // The month's first message creates its quota row, which does reference the
    // workspace: once a month, not per message.
    let r = o.post(&messages, json!({ "content": "first" })).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let owner_db = app.owner_db().await;
    let lock = owner_db.begin().await.expect("begin");
    lock.execute_unprepared(&format!(
        "SELECT 1 FROM workspaces WHERE id = '{ws}' FOR UPDATE"
    ))
    .await
    .expect("lock the workspace row");
    // A key to the workspace would wait here until `lock` ends (the timeout is a
    // deadlock guard, not a measurement).
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        o.post(&messages, json!({ "content": "while locked" })),
    )
    .await
    .expect("the message waited on its workspace's row");
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["assistant_message"]["status"], "complete");
    lock.rollback().await.expect("unlock");

    // Deleting a conversation takes its messages with it, however they got there.
    let count = |sql: String| {
        let db = owner_db.clone();
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .expect("count")
                .expect("row")
                .try_get::<i64>("", "n")
                .expect("n")
        }
    };
    let mine = format!("SELECT count(*) AS n FROM messages WHERE conversation_id = '{conv}'");
    assert_eq!(count(mine.clone()).await, 4);
    owner_db
        .execute_unprepared(&format!("DELETE FROM conversations WHERE id = '{conv}'"))
        .await
        .expect("delete");
    assert_eq!(count(mine).await, 0);
    let usage = format!("SELECT count(*) AS n FROM ai_usage WHERE workspace_id = '{ws}'");
    assert_eq!(count(usage).await, 2, "the usage ledger outlives it");
}

/// A message with every column set, and values that text formats get wrong if anything
/// does: quotes, backslashes, newlines, non-ASCII, JSON, microseconds, large numbers.
fn full_message(scope: Scope, conversation_id: Uuid) -> nexus_ai::entities::message::ActiveModel {
    use chrono::SubsecRound;
    let now = Utc::now().trunc_subsecs(6);
    nexus_ai::entities::message::ActiveModel {
        workspace_id: Set(scope.workspace_id),
        id: Set(Uuid::now_v7()),
        conversation_id: Set(conversation_id),
        parent_id: Set(Some(Uuid::now_v7())),
        role: Set("assistant".into()),
        content: Set("it's \"quoted\", back\\slashed,\nnew-lined and naïve ✓".into()),
        status: Set("interrupted".into()),
        model: Set(Some("fake-small".into())),
        provider_id: Set(Some(Uuid::now_v7())),
        prompt_tokens: Set(9_000_000_000),
        completion_tokens: Set(-1),
        latency_ms: Set(Some(1234)),
        ttft_ms: Set(None),
        cached: Set(true),
        tool_calls: Set(Some(serde_json::json!([
            { "id": "call_1", "name": "list_members", "arguments": "{\"q\": \"it's\"}",
              "result": { "items": ["ü", 1.5, null, true] } }
        ]))),
        error: Set(Some(
            serde_json::json!({ "code": "upstream", "message": "a \\ b" }),
        )),
        created_by: Set(scope.user_id),
        created_at: Set(now),
        updated_at: Set(now + chrono::Duration::microseconds(7)),
        reasoning: Set(Some("hmm…\n'yes'".into())),
        cached_prompt_tokens: Set(42),
        reserved_tokens: Set(2_148),
        reserved_for: Set(scope.user_id),
        attachments: Set(Some(serde_json::json!([
            { "name": "a \"b\".png", "media_type": "image/png", "size": 10 }
        ]))),
    }
}

/// `Tx::read_together` reads what its transaction would read statement by statement. On
/// SQLite that is one query to a connection's thread. On PostgreSQL it is one query of
/// its own on a connection whose statements stay prepared, whose rows come in
/// PostgreSQL's text format and must decode to the same models as the binary rows of
/// reads sent one by one; it is bound to the transaction's workspace, read-only, and
/// leaves the transaction to go on.
async fn reads_together_match_reads_one_by_one(app: TestApp) {
    use nexus_ai::entities::{conversation, message};
    use sea_orm::{FromQueryResult, QueryOrder};

    let fake = nexus_testkit::fake_ai::FakeAi::start(None).await;
    let (o, ws, user) = owner(&app, "o@example.com").await;
    crate::ai_support::enable_ai(&o, &ws, &fake, "Fake").await;
    let conv: Uuid = crate::ai_support::conversation(
        &o,
        &ws,
        serde_json::json!({ "title": "Ünïcode 'title'", "system_prompt": "be\tbrief" }),
    )
    .await
    .parse()
    .expect("uuid");
    let scope = Scope {
        workspace_id: ws.parse().expect("uuid"),
        user_id: Some(user.parse().expect("uuid")),
    };
    let db = &app.state.db;
    let tx = db.tenant(scope, true).await.expect("write");
    for _ in 0..2 {
        message::Entity::insert(full_message(scope, conv))
            .exec_without_returning(&tx)
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");

    let backend = db.backend();
    let reads = [
        conversation::Entity::find()
            .filter(conversation::Column::WorkspaceId.eq(scope.workspace_id))
            .filter(conversation::Column::Id.eq(conv))
            .build(backend),
        message::Entity::find()
            .filter(message::Column::WorkspaceId.eq(scope.workspace_id))
            .filter(message::Column::ConversationId.eq(conv))
            .order_by_asc(message::Column::Id)
            .build(backend),
    ];
    // Twice: the first prepares the statements on its connection, the second executes.
    for _ in 0..2 {
        // Read together first, while the transaction has not begun (on PostgreSQL the
        // reads then go out on their own; once it has, they run inside it).
        let tx = db.tenant(scope, false).await.expect("read");
        let together = tx.read_together(&reads).await.expect("together");
        assert_eq!(together.len(), 2);
        let conversations = |rows: &[sea_orm::QueryResult]| -> Vec<conversation::Model> {
            rows.iter()
                .map(|r| conversation::Model::from_query_result(r, "").expect("conversation"))
                .collect()
        };
        let messages = |rows: &[sea_orm::QueryResult]| -> Vec<message::Model> {
            rows.iter()
                .map(|r| message::Model::from_query_result(r, "").expect("message"))
                .collect()
        };
        let one_by_one_conversations =
            conversations(&tx.query_all_raw(reads[0].clone()).await.expect("read"));
        let one_by_one_messages =
            messages(&tx.query_all_raw(reads[1].clone()).await.expect("read"));
        assert_eq!(conversations(&together[0]), one_by_one_conversations);
        assert_eq!(one_by_one_conversations.len(), 1);
        assert_eq!(messages(&together[1]), one_by_one_messages);
        assert_eq!(one_by_one_messages.len(), 2);
        tx.commit().await.expect("commit");
    }
    if app.engine != Engine::Postgres {
        return;
    }

    // Bound to the transaction's workspace: with no workspace filter, another workspace's
    // transaction sees none of these rows, this one's sees them.
    let unfiltered = [Statement::from_string(
        backend,
        "SELECT count(*) AS n FROM messages",
    )];
    let count = |tx: nexus_kernel::db::Tx| {
        let unfiltered = unfiltered.clone();
        async move {
            let rows = tx.read_together(&unfiltered).await.expect("count");
            rows[0][0].try_get::<i64>("", "n").expect("n")
        }
    };
    assert_eq!(count(db.tenant(scope, false).await.expect("read")).await, 2);
    let (_, other_ws, other_user) = owner(&app, "other@example.com").await;
    let other = Scope {
        workspace_id: other_ws.parse().expect("uuid"),
        user_id: Some(other_user.parse().expect("uuid")),
    };
    assert_eq!(count(db.tenant(other, false).await.expect("read")).await, 0);

    // Read-only, as `BEGIN READ ONLY` is.
    let tx = db.tenant(scope, false).await.expect("read");
    let write = Statement::from_string(
        backend,
        "UPDATE messages SET status = 'complete' RETURNING id",
    );
    let err = tx.read_together(&[write]).await.expect_err("read only");
    assert!(err.to_string().contains("read-only"), "{err}");
    // The transaction goes on with its scope after a read together.
    tx.read_together(&reads).await.expect("together");
    assert_eq!(
        setting(&tx, "app.workspace_id").await,
        scope.workspace_id.to_string()
    );
    tx.commit().await.expect("commit");
}

/// On PostgreSQL a read together is one query: the settings and both reads, executed on
/// the connection for prepared statements once they are prepared there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_together_are_one_query() {
    let Some(app) = one_connection_app().await else {
        return;
    };
    let scope = workspace(&app).await;
    let db = &app.state.db;
    add_modules(db, scope, &["a", "b"]).await;
    let modules = workspace_module::Entity::find()
        .filter(workspace_module::Column::WorkspaceId.eq(scope.workspace_id))
        .build(db.backend());
    let reads = [modules.clone(), modules];
    for round in 0..2 {
        let tx = db.tenant(scope, false).await.expect("read");
        let rows = tx.read_together(&reads).await.expect("together");
        assert_eq!(rows.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
        tx.commit().await.expect("commit");
        let sent = last_prepared_query(db).await;
        let executes = sent.matches("EXECUTE nx_").count();
        assert_eq!(executes, 3, "the settings and the two reads: {sent}");
        assert!(sent.contains("'transaction_read_only', 'on'"), "{sent}");
        assert_eq!(sent.contains("PREPARE"), round == 0, "{sent}");
    }
}
