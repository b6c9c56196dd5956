//! Quota leases: a process that is reserving many messages' quota at once for one
//! workspace reserves a share of the month in one transaction and hands it out from
//! memory (`usage::leases`). A lease's row says what it still holds on the counter, so
//! that what a stop leaves held is given back once no answer it paid for can be running
//! (`messages::recovery`).
//!
//! No key to the workspace's row: a busy workspace takes a lease every few seconds, and
//! each insert would lock that row against key changes until it commits, the wait
//! `m0004_ai_write_locks` took off messages. Workspaces are never deleted (only marked),
//! every write is scoped to the caller's, and row-level security checks each row's
//! `workspace_id`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use nexus_kernel::migrations::tenant_table;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_ai_quota_leases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("ai_quota_leases")
                .col(uuid("id"))
                .col(string("period"))
                .col(big_integer("tokens"))
                .col(timestamp_with_time_zone("expires_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .take(),
        )
        .await?;
        nexus_kernel::migrations::enable_rls(m.get_connection(), "ai_quota_leases", None).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
