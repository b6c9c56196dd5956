use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub created_by: Uuid,
    pub title: String,
    pub title_generated: bool,
    pub model: String,
    #[sea_orm(column_type = "Text")]
    pub system_prompt: String,
    pub visibility: String,
    pub pinned: bool,
    pub archived: bool,
    pub head_message_id: Option<Uuid>,
    pub message_count: i32,
    pub tokens_used: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// How many times messages were deleted from it: a turn that read the conversation
    /// before a deletion must not save under messages that went (see `messages::delete`).
    pub prune_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
