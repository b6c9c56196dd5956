//! The head of each workspace's audit chain (its last sequence number and hash) moves off
//! the workspace's row into a row of its own, `audit_heads`.
//!
//! Every audited change updated the workspace's row twice, and on PostgreSQL every insert
//! into a table with a key to `workspaces` (a new conversation, say) locks that row
//! `FOR KEY SHARE`. An update of a row others hold such locks on leaves a multixact as the
//! old version's `xmax`, which PostgreSQL cannot mark with a hint bit, so every later
//! read of the row walked its dead versions and looked each one's members up again
//! until a vacuum. Measured (`pg_stat_statements`) while the AI benchmark's set-up
//! created 4,535 conversations 32 at a time in one workspace: a request's read of the
//! workspace took 1 ms and 30 buffers (a read of another table's row: 0.02 ms); the
//! conversation's insert, whose key check reads the same row, 1 ms, and the head's second
//! update 1.3 ms, both while the chain's lock was held.
//!
//! Nothing refers to an `audit_heads` row, so its old versions are plain ones, and the
//! workspace's row now changes only when the workspace does. The same set-up: the read
//! 0.018 ms, the insert 0.13 ms, the head's update 0.07 ms, and the whole set-up 27.5 s
//! → 14.2 s (SQLite: 4.5 s either way).

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_audit_heads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            super::tenant_table("audit_heads")
                .col(big_integer("seq"))
                .col(string("head"))
                .primary_key(Index::create().col("workspace_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("audit_heads", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;
        let conn = m.get_connection();
        // A workspace without events gets its row with its first event.
        conn.execute_unprepared(
            "INSERT INTO audit_heads (workspace_id, seq, head)
             SELECT id, audit_seq, audit_head FROM workspaces WHERE audit_seq > 0",
        )
        .await?;
        // One column per statement: SQLite drops no more at a time.
        for column in ["audit_seq", "audit_head"] {
            conn.execute_unprepared(&format!("ALTER TABLE workspaces DROP COLUMN {column}"))
                .await?;
        }
        // A head deleted or set back shows in `audit::verify_chain` as a broken chain.
        super::enable_rls(conn, "audit_heads", None).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the audit chain's head cannot move back".into(),
        ))
    }
}
