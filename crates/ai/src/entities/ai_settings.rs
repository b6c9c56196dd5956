use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    pub default_model: Option<String>,
    pub small_model: Option<String>,
    pub large_model: Option<String>,
    pub fallback_models: Json,
    pub member_monthly_tokens: Option<i64>,
    pub updated_at: DateTimeUtc,
    /// Whether conversations may be shared by public link.
    pub public_links: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
