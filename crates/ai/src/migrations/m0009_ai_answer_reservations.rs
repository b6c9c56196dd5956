//! An answer keeps the quota reservation that pays for it while it streams
//! (`messages.reserved_tokens`, and `reserved_for`: the member whose own limit was
//! reserved too), so that an answer a crash left `streaming` can be marked interrupted and
//! its reservation given back (`messages::recovery`). A partial index finds such answers
//! without reading a workspace's other messages.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_ai_answer_reservations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("messages")
                .add_column(big_integer("reserved_tokens").default(0))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("messages")
                .add_column(uuid_null("reserved_for"))
                .take(),
        )
        .await?;
        // The same statement on both engines (SeaQuery's index builder has no WHERE for
        // SQLite). Answers stream for minutes at most: the index stays small.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX messages_streaming ON messages (workspace_id, created_at) \
                 WHERE status = 'streaming'",
            )
            .await?;
        Ok(())
    }
}
