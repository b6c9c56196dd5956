use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub role: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    pub status: String,
    pub model: Option<String>,
    pub provider_id: Option<Uuid>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: Option<i64>,
    pub ttft_ms: Option<i64>,
    pub cached: bool,
    pub tool_calls: Option<Json>,
    pub error: Option<Json>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// What a reasoning model thought before answering; checkpointed like `content`.
    #[sea_orm(column_type = "Text", nullable)]
    pub reasoning: Option<String>,
    /// Of `prompt_tokens`, those the provider read from its prompt cache.
    pub cached_prompt_tokens: i64,
    /// The quota reservation paying for the answer while it streams; 0 once settled.
    pub reserved_tokens: i64,
    /// The member whose own monthly limit was reserved too.
    pub reserved_for: Option<Uuid>,
    /// A user message's attachments, in order: `[{name, media_type, size}]` (their bytes
    /// are in `ai_attachments`); none for most messages.
    pub attachments: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
