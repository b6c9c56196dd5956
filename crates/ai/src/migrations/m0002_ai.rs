use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{FIRST_MIGRATION_TABLES, TENANT_TABLES};
use nexus_kernel::migrations::tenant_table;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_ai"
    }
}

fn fk_workspace(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "workspace_id")
        .to("workspaces", "id")
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("ai_providers")
                .col(uuid("id"))
                .col(string("name"))
                .col(string("base_url"))
                .col(json("models"))
                .col(integer("priority"))
                .col(boolean("enabled"))
                .col(boolean("has_api_key"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(&mut fk_workspace("ai_providers"))
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("ai_settings")
                .col(string_null("default_model"))
                .col(string_null("small_model"))
                .col(string_null("large_model"))
                .col(json("fallback_models"))
                .col(big_integer_null("member_monthly_tokens"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("workspace_id"))
                .foreign_key(&mut fk_workspace("ai_settings"))
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("conversations")
                .col(uuid("id"))
                .col(uuid("created_by"))
                .col(string("title"))
                .col(boolean("title_generated"))
                .col(string("model"))
                .col(text("system_prompt"))
                .col(string("visibility"))
                .col(boolean("pinned"))
                .col(boolean("archived"))
                .col(uuid_null("head_message_id"))
                .col(integer("message_count"))
                .col(big_integer("tokens_used"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(&mut fk_workspace("conversations"))
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("messages")
                .col(uuid("id"))
                .col(uuid("conversation_id"))
                .col(uuid_null("parent_id"))
                .col(string("role"))
                .col(text("content"))
                .col(string("status"))
                .col(string_null("model"))
                .col(uuid_null("provider_id"))
                .col(big_integer("prompt_tokens"))
                .col(big_integer("completion_tokens"))
                .col(big_integer_null("latency_ms"))
                .col(big_integer_null("ttft_ms"))
                .col(boolean("cached"))
                .col(json_null("tool_calls"))
                .col(json_null("error"))
                .col(uuid_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(&mut fk_workspace("messages"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("messages_conversation")
                .table("messages")
                .col("workspace_id")
                .col("conversation_id")
                .col("id")
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("ai_usage")
                .col(uuid("id"))
                .col(uuid_null("user_id"))
                .col(uuid_null("api_key_id"))
                .col(uuid_null("conversation_id"))
                .col(uuid_null("message_id"))
                .col(uuid_null("provider_id"))
                .col(string("provider_name"))
                .col(string("model"))
                .col(big_integer("prompt_tokens"))
                .col(big_integer("completion_tokens"))
                .col(boolean("cached"))
                .col(big_integer("latency_ms"))
                .col(string("status"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(&mut fk_workspace("ai_usage"))
                .take(),
        )
        .await?;
        // Monthly token counters: `user_id` is the nil UUID for the workspace's total.
        m.create_table(
            tenant_table("ai_quota_usage")
                .col(string("period"))
                .col(uuid("user_id"))
                .col(big_integer("used"))
                .col(big_integer("reserved"))
                .primary_key(
                    Index::create()
                        .col("workspace_id")
                        .col("period")
                        .col("user_id"),
                )
                .foreign_key(&mut fk_workspace("ai_quota_usage"))
                .take(),
        )
        .await?;
        m.create_table(
            tenant_table("ai_cache")
                .col(string("key"))
                .col(string("model"))
                .col(json("response"))
                .col(integer("hits"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .primary_key(Index::create().col("workspace_id").col("key"))
                .foreign_key(&mut fk_workspace("ai_cache"))
                .take(),
        )
        .await?;
        for table in &TENANT_TABLES[..FIRST_MIGRATION_TABLES] {
            nexus_kernel::migrations::enable_rls(m.get_connection(), table, None).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
