use sea_orm::entity::prelude::*;

/// A conversation's public link (see `conversations::links`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_share_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: Uuid,
    /// The last message shared: the link shows the branch down to it.
    pub message_id: Uuid,
    /// SHA-256 of the link's token (`nexus_kernel::token::digest`).
    pub token_digest: String,
    /// Who made it or last moved it on (a member or an API key): the link works while
    /// they may write the conversation.
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    /// When the link was last moved on to the conversation's latest message.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
