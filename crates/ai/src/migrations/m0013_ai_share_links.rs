//! Public links: a conversation's messages, up to one of them, readable by anyone holding
//! the link's token (see `conversations::links` and `shared`). One link per conversation;
//! a workspace's admins may forbid them (`ai_settings.public_links`, allowed by default).
//!
//! Messages can be deleted from now on: `conversations.prune_count` counts the deletions,
//! so that a turn that read a conversation before one does not save under messages that
//! went (its update of the conversation names the count it read).
//! The token itself is kept sealed with the workspace's secrets, to be shown again to
//! those who manage the link; this table keeps its digest, which finds the link.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use nexus_kernel::migrations::tenant_table;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_ai_share_links"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("ai_share_links")
                .col(uuid("conversation_id"))
                .col(uuid("message_id"))
                .col(string("token_digest").unique_key())
                .col(uuid("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("conversation_id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("ai_share_links", ("workspace_id", "conversation_id"))
                        .to("conversations", ("workspace_id", "id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("ai_settings")
                .add_column(boolean("public_links").default(true))
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("conversations")
                .add_column(integer("prune_count").default(0))
                .take(),
        )
        .await?;
        // Found by its token before its workspace is known: only someone holding the token
        // names its digest.
        nexus_kernel::migrations::enable_rls(
            m.get_connection(),
            "ai_share_links",
            Some("token_digest = nullif(current_setting('app.token_digest', true), '')"),
        )
        .await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
