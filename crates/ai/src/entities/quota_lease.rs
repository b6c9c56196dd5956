use sea_orm::entity::prelude::*;

/// A share of a workspace's monthly quota that one process reserved at once, to hand out
/// to the messages of a busy moment without a transaction each (see `usage::leases`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ai_quota_leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The month whose counter holds the lease.
    pub period: String,
    /// What the lease still holds on the counter: what was never handed out, and what
    /// was handed out and not yet settled.
    pub tokens: i64,
    /// When no answer paid for by the lease can be running any more: then whatever it
    /// still holds was left by a stop, and is given back (`messages::recovery`).
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
