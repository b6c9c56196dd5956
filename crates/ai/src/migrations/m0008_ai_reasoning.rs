//! An answer keeps what a reasoning model thought before it (`messages.reasoning`; none for
//! the answers before, and for models that do not reason).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_ai_reasoning"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The same statement on both engines.
        m.get_connection()
            .execute_unprepared("ALTER TABLE messages ADD COLUMN reasoning TEXT")
            .await?;
        Ok(())
    }
}
