//! Saved prompts: texts a member keeps to send again, theirs alone or the workspace's, which
//! the composer offers when a message starts with `/`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use nexus_kernel::migrations::tenant_table;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_ai_prompts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            tenant_table("ai_prompts")
                .col(uuid("id"))
                .col(uuid("created_by"))
                .col(string("title"))
                .col(text("content"))
                .col(string("visibility"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("workspace_id").col("id"))
                .foreign_key(
                    ForeignKey::create()
                        .from("ai_prompts", "workspace_id")
                        .to("workspaces", "id"),
                )
                .take(),
        )
        .await?;
        nexus_kernel::migrations::enable_rls(m.get_connection(), "ai_prompts", None).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the AI schema cannot be rolled back".into(),
        ))
    }
}
