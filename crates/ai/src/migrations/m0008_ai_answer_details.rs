//! An answer keeps what a reasoning model thought before it (`messages.reasoning`; none for
//! the answers before, and for models that do not reason), and how many of its prompt
//! tokens the provider read from its prompt cache (`messages.cached_prompt_tokens`; 0 for
//! the answers before, as the usage ledger keeps them since m0007).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_ai_answer_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The same statements on both engines; the default fills existing rows.
        let conn = m.get_connection();
        conn.execute_unprepared("ALTER TABLE messages ADD COLUMN reasoning TEXT")
            .await?;
        conn.execute_unprepared(
            "ALTER TABLE messages ADD COLUMN cached_prompt_tokens BIGINT NOT NULL DEFAULT 0",
        )
        .await?;
        Ok(())
    }
}
