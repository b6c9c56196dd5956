use sea_orm::entity::prelude::*;

/// A member's rating of an answer (see `messages::feedback`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_feedback")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub message_id: Uuid,
    /// The member, or API key, who rated it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub rated_by: Uuid,
    pub conversation_id: Uuid,
    /// The answer's model, copied for the report by model.
    pub model: Option<String>,
    /// `up` or `down`.
    pub rating: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
