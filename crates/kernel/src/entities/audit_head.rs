use sea_orm::entity::prelude::*;

/// The head of a workspace's audit hash chain: the last event's sequence number and hash.
/// A row of its own rather than columns of the workspace, which every request reads (see
/// `migrations::m0006_audit_heads`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_heads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    pub seq: i64,
    pub head: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
