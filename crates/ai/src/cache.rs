//! The response cache: identical deterministic requests (same model, messages, tools,
//! parameters, temperature 0) are answered from the workspace's cache without calling the
//! provider. Answers are still streamed to the client.

use chrono::{Duration, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{Expr, InsertStatement, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::entities::cache_entry::{self, Column};
use crate::provider::{ChatRequest, Usage};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedAnswer {
    pub content: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The cache key of a request, or `None` when the request is not deterministic.
pub fn key(request: &ChatRequest) -> Option<String> {
    if request.temperature != Some(0.0) {
        return None;
    }
    let canonical = serde_json::to_vec(request).ok()?;
    Some(hex::encode(Sha256::digest(canonical)))
}

pub async fn get(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    key: &str,
) -> Result<Option<CachedAnswer>, sea_orm::DbErr> {
    let row = cache_entry::Entity::find()
        .filter(Column::WorkspaceId.eq(workspace_id))
        .filter(Column::Key.eq(key))
        .filter(Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    cache_entry::Entity::update_many()
        .col_expr(Column::Hits, Expr::col(Column::Hits).add(1))
        .filter(Column::WorkspaceId.eq(workspace_id))
        .filter(Column::Key.eq(key))
        .exec(db)
        .await?;
    metrics::counter!("ai_cache_hits_total").increment(1);
    Ok(serde_json::from_value(row.response).ok())
}

/// Keep an answer for `ttl_secs` (replacing an older one for the same key), as a
/// statement for the answer's save to send with its others.
pub fn put(
    workspace_id: Uuid,
    key: &str,
    model: &str,
    content: &str,
    usage: Usage,
    ttl_secs: u64,
) -> InsertStatement {
    let answer = CachedAnswer {
        content: content.to_owned(),
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
    };
    let now = Utc::now();
    cache_entry::Entity::insert(cache_entry::ActiveModel {
        workspace_id: Set(workspace_id),
        key: Set(key.to_owned()),
        model: Set(model.to_owned()),
        response: Set(serde_json::to_value(answer).unwrap_or_default()),
        hits: Set(0),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(Ord::min(ttl_secs, 365 * 24 * 3600) as i64)),
    })
    .on_conflict(
        OnConflict::columns([Column::WorkspaceId, Column::Key])
            .update_columns([Column::Response, Column::ExpiresAt])
            .to_owned(),
    )
    .into_query()
}
