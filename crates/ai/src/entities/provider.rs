use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_providers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// `openai` or `anthropic` ([`crate::provider::ProviderApi`]).
    pub api: String,
    pub base_url: String,
    pub models: Json,
    pub priority: i32,
    pub enabled: bool,
    pub has_api_key: bool,
    /// Anthropic only: mark the prompt's stable parts for its prompt cache.
    pub prompt_caching: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The protocol it speaks (only `openai` and `anthropic` are ever written).
    pub fn api(&self) -> crate::provider::ProviderApi {
        crate::provider::ProviderApi::parse(&self.api).unwrap_or_default()
    }
}
