//! Attachments: images and text files sent with a user message. The message keeps what
//! they are (`messages.attachments`: name, media type and size of each, in order), so
//! that listing a conversation reads no file; `ai_attachments` keeps their bytes, read
//! only to build a provider's request or to download one. They go with their message.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use nexus_kernel::migrations::tenant_table;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_ai_attachments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("ai_attachments")
                .col(uuid("message_id"))
                .col(integer("position"))
                .col(uuid("conversation_id"))
                .col(string("name"))
                .col(string("media_type"))
                .col(big_integer("size"))
                .col(binary("data"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(
                    Index::create()
                        .col("workspace_id")
                        .col("message_id")
                        .col("position"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("ai_attachments", ("workspace_id", "message_id"))
                        .to("messages", ("workspace_id", "id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("messages")
                .add_column(json_null("attachments"))
                .take(),
        )
        .await?;
        nexus_kernel::migrations::enable_rls(m.get_connection(), "ai_attachments", None).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
