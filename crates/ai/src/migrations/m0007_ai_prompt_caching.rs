//! A provider may mark its prompts for Anthropic's prompt cache (`prompt_caching`), on by
//! default: existing Anthropic providers start caching, which costs more on a
//! conversation's first turn and much less on every later one. The usage ledger keeps how
//! many of a call's prompt tokens a provider read from its cache (`cached_prompt_tokens`;
//! 0 for the calls before).

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
        // The same statements on both engines; the defaults fill existing rows.
        let conn = m.get_connection();
        conn.execute_unprepared(
            "ALTER TABLE ai_providers ADD COLUMN prompt_caching BOOLEAN NOT NULL DEFAULT TRUE",
        )
        .await?;
        conn.execute_unprepared(
            "ALTER TABLE ai_usage ADD COLUMN cached_prompt_tokens BIGINT NOT NULL DEFAULT 0",
        )
        .await?;
        Ok(())
    }
}
