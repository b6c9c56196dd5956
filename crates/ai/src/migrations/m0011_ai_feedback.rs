//! Feedback on answers: a member's thumbs up or down on an assistant message, with an
//! optional comment, one per member (or API key) and answer.
//!
//! The answer's model is copied in, so that the report by model reads this table alone.
//! A key to the answer's row removes the feedback with it (`ON DELETE CASCADE`). On
//! PostgreSQL its check locks that row `FOR KEY SHARE` while a rating is saved, which the
//! answer's own updates do not wait for (they change no key).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use nexus_kernel::migrations::tenant_table;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_ai_feedback"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("ai_feedback")
                .col(uuid("message_id"))
                .col(uuid("rated_by"))
                .col(uuid("conversation_id"))
                .col(string_null("model"))
                .col(string("rating"))
                .col(text_null("comment"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(
                    Index::create()
                        .col("workspace_id")
                        .col("message_id")
                        .col("rated_by"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("ai_feedback", ("workspace_id", "message_id"))
                        .to("messages", ("workspace_id", "id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        // A conversation's ratings by the member reading it, and the report's period.
        m.create_index(
            Index::create()
                .name("ai_feedback_conversation")
                .table("ai_feedback")
                .col("workspace_id")
                .col("conversation_id")
                .col("rated_by")
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ai_feedback_updated")
                .table("ai_feedback")
                .col("workspace_id")
                .col("updated_at")
                .take(),
        )
        .await?;
        nexus_kernel::migrations::enable_rls(m.get_connection(), "ai_feedback", None).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
