//! The database: SQLite (embedded default) or PostgreSQL, chosen by the URL's scheme.
//!
//! Tenant data is only reached through [`Db::tenant`], which opens a transaction bound to
//! one workspace. On PostgreSQL that binding is also the row-level-security key
//! (`app.workspace_id`), so a query that forgets its `workspace_id` filter still sees
//! nothing of other workspaces.

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use std::time::Duration;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Which engine a URL names, or a clear error for anything else.
pub fn engine_of(url: &str) -> anyhow::Result<Engine> {
    if url.starts_with("sqlite:") {
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

/// Who a tenant transaction acts for: the workspace, and (for PostgreSQL's policies on
/// membership rows) the user, if the caller is one.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub workspace_id: Uuid,
    pub user_id: Option<Uuid>,
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let engine = engine_of(url)?;
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(10));
        match engine {
            Engine::Sqlite => {
                opts.max_connections(max_connections.max(2))
                    .min_connections(1);
                opts.map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(30))
                        .create_if_missing(true)
                });
            }
            Engine::Postgres => {
                opts.max_connections(max_connections);
            }
        }
        let conn = Database::connect(opts).await?;
        Ok(Self { conn })
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

    /// A write transaction. On SQLite it begins IMMEDIATE, taking the write lock up front:
    /// writers then queue on the busy timeout instead of failing with SQLITE_BUSY when a
    /// read transaction tries to upgrade.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.engine() {
            Engine::Sqlite => {
                self.conn
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await
            }
            Engine::Postgres => self.conn.begin().await,
        }
    }

    pub async fn begin_read(&self) -> Result<DatabaseTransaction, DbErr> {
        match self.engine() {
            Engine::Sqlite => self.conn.begin().await,
            Engine::Postgres => {
                self.conn
                    .begin_with_options(TransactionOptions {
                        access_mode: Some(AccessMode::ReadOnly),
                        ..Default::default()
                    })
                    .await
            }
        }
    }

    /// A transaction bound to one workspace (see the module docs).
    pub async fn tenant(&self, scope: Scope, write: bool) -> Result<DatabaseTransaction, DbErr> {
        let tx = if write {
            self.begin_write().await?
        } else {
            self.begin_read().await?
        };
        bind_scope(&tx, scope).await?;
        Ok(tx)
    }

    /// A write transaction that may look up a row by the digest of a secret token
    /// (an API key or invitation) before its workspace is known. On PostgreSQL the
    /// policies let a row through when the caller names its digest: only someone holding
    /// the token can.
    pub async fn begin_token_lookup(
        &self,
        token_digest: &str,
        write: bool,
    ) -> Result<DatabaseTransaction, DbErr> {
        let tx = if write {
            self.begin_write().await?
        } else {
            self.begin_read().await?
        };
        if self.engine() == Engine::Postgres {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.token_digest', $1, true)",
                [token_digest.into()],
            ))
            .await?;
        }
        Ok(tx)
    }

    /// A read transaction that may see the membership rows of one user across workspaces
    /// (for "my workspaces").
    pub async fn begin_user(
        &self,
        user_id: Uuid,
        write: bool,
    ) -> Result<DatabaseTransaction, DbErr> {
        let tx = if write {
            self.begin_write().await?
        } else {
            self.begin_read().await?
        };
        if self.engine() == Engine::Postgres {
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('app.user_id', $1, true)",
                [user_id.to_string().into()],
            ))
            .await?;
        }
        Ok(tx)
    }
}

/// Bind an open transaction to a workspace (PostgreSQL: set the RLS keys for this
/// transaction only; SQLite has no RLS, the application filter is the wall).
pub async fn bind_scope(tx: &DatabaseTransaction, scope: Scope) -> Result<(), DbErr> {
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('app.workspace_id', $1, true), set_config('app.user_id', $2, true), \
             set_config('app.token_digest', '', true)",
            [
                scope.workspace_id.to_string().into(),
                scope
                    .user_id
                    .map(|u| u.to_string())
                    .unwrap_or_default()
                    .into(),
            ],
        ))
        .await?;
    }
    Ok(())
}
