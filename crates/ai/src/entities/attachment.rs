use sea_orm::entity::prelude::*;

/// The bytes of one of a user message's attachments (see `crate::attachments`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: Uuid,
    /// Its place among the message's attachments, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub conversation_id: Uuid,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub data: Vec<u8>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
