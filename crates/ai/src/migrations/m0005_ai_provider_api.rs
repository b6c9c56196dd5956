//! A provider names the wire protocol it speaks: `openai` (every provider so far) or
//! `anthropic`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_ai_provider_api"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on both engines; the default fills existing rows.
        m.get_connection()
            .execute_unprepared(
                "ALTER TABLE ai_providers ADD COLUMN api TEXT NOT NULL DEFAULT 'openai'",
            )
            .await?;
        Ok(())
    }
}
