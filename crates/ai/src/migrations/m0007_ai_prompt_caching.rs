//! A provider may mark its prompts for Anthropic's prompt cache (`prompt_caching`), on by
//! default: existing Anthropic providers start caching, which costs more on a
//! conversation's first turn and much less on every later one.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_ai_prompt_caching"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on both engines; the default fills existing rows.
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE ai_providers ADD COLUMN prompt_caching BOOLEAN NOT NULL DEFAULT TRUE",
            )
            .await?;
        Ok(())
    }
}
