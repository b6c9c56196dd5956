use axum::extract::State;
use chrono::{DateTime, Datelike, Utc};
use nexus_identity::entities::{api_key, user};
use nexus_identity::extract::Member;
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::sql::stmt;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// Start (RFC 3339); default: the first day of this month.
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (RFC 3339); default: now.
    pub to: Option<DateTime<Utc>>,
    /// `day` (default), `member` or `model`.
    pub group_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageRow {
    /// The day (`2026-11-22`), the member's or key's id, or the model.
    pub key: String,
    /// A readable name: the member's email, the key's name, or the model.
    pub label: String,
    pub prompt_tokens: i64,
    /// Of `prompt_tokens`, those the providers read from their prompt caches (Anthropic's
    /// cache reads, OpenAI's cached tokens), billed at a fraction of the input price.
    pub cached_prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    pub requests: i64,
    /// Requests answered from the workspace's response cache, without a provider.
    pub cached_requests: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    pub period: String,
    pub used_tokens: u64,
    pub limit_tokens: u64,
    pub resets_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    pub group_by: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub items: Vec<UsageRow>,
    pub totals: UsageRow,
    pub quota: QuotaView,
}

fn id_at(t: DateTime<Utc>) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(t.timestamp_millis().max(0) as u64, &[0u8; 10])
        .into_uuid()
}

/// The period a report covers: `from` defaults to the first day of this month, `to` to now.
pub fn period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let now = Utc::now();
    let from = from.unwrap_or_else(|| {
        let p = crate::usage::quota::current_period();
        DateTime::parse_from_rfc3339(&format!("{p}-01T00:00:00Z"))
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now)
    });
    let to = to.unwrap_or(now);
    // The ledger's ids carry their time in 48 bits of milliseconds from 1970: a date out
    // of that span would wrap, and the report would be quietly empty.
    for (name, at) in [("from", from), ("to", to)] {
        if !(1970..=9999).contains(&at.year()) {
            return Err(ApiError::field(name, "must be a date from 1970 to 9999"));
        }
    }
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    Ok((from, to))
}

/// Token usage over a period, by day, member or model, with the month's quota.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/ai/usage", tag = "ai",
    params(("workspace_id" = Uuid, Path), UsageParams),
    responses((status = 200, body = UsageReport)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_ai_usage(
    State(state): State<AppState>,
    member: Member,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> ApiResult<axum::Json<UsageReport>> {
    member.require(Permission::ReadAiUsage)?;
    let group_by = params.group_by.clone().unwrap_or_else(|| "day".into());
    let (from, to) = period(params.from, params.to)?;
    let db = member.tx();
    let backend = db.get_database_backend();
    let key_cols = match (group_by.as_str(), backend) {
        ("day", DbBackend::Postgres) => {
            "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day"
        }
        ("day", _) => "substr(created_at, 1, 10) AS day",
        ("member", _) => "user_id, api_key_id",
        ("model", _) => "model",
        _ => return Err(ApiError::field("group_by", "must be day, member or model")),
    };
    let group_cols = match group_by.as_str() {
        "day" => "day",
        "member" => "user_id, api_key_id",
        _ => "model",
    };
    let sql = format!(
        "SELECT {key_cols}, CAST(SUM(prompt_tokens) AS BIGINT) AS prompt, CAST(SUM(cached_prompt_tokens) AS BIGINT) AS cached_prompt, \
         CAST(SUM(completion_tokens) AS BIGINT) AS completion, \
         CAST(COUNT(*) AS BIGINT) AS requests, CAST(SUM(CASE WHEN cached THEN 1 ELSE 0 END) AS BIGINT) AS cached_requests \
         FROM ai_usage WHERE workspace_id = $1 AND id >= $2 AND id < $3 GROUP BY {group_cols} ORDER BY {group_cols}"
    );
    let rows = db
        .query_all_raw(stmt(
            backend,
            &sql,
            vec![
                member.workspace_id().into(),
                id_at(from).into(),
                id_at(to).into(),
            ],
        ))
        .await?;
    let mut items = Vec::new();
    for row in rows {
        let prompt: i64 = row.try_get("", "prompt")?;
        let completion: i64 = row.try_get("", "completion")?;
        let key = match group_by.as_str() {
            "day" => row.try_get::<String>("", "day")?,
            "model" => row.try_get::<String>("", "model")?,
            _ => {
                let user: Option<Uuid> = row.try_get("", "user_id")?;
                let key: Option<Uuid> = row.try_get("", "api_key_id")?;
                user.or(key).map(|u| u.to_string()).unwrap_or_default()
            }
        };
        items.push(UsageRow {
            label: key.clone(),
            key,
            prompt_tokens: prompt,
            cached_prompt_tokens: row.try_get("", "cached_prompt")?,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            requests: row.try_get("", "requests")?,
            cached_requests: row.try_get("", "cached_requests")?,
        });
    }
    if group_by == "member" {
        label_members(db, member.workspace_id(), &mut items).await?;
    }
    let sum = |f: fn(&UsageRow) -> i64| items.iter().map(f).sum::<i64>();
    let totals = UsageRow {
        key: "total".into(),
        label: "Total".into(),
        prompt_tokens: sum(|r| r.prompt_tokens),
        cached_prompt_tokens: sum(|r| r.cached_prompt_tokens),
        completion_tokens: sum(|r| r.completion_tokens),
        total_tokens: sum(|r| r.total_tokens),
        requests: sum(|r| r.requests),
        cached_requests: sum(|r| r.cached_requests),
    };
    let quota = QuotaView {
        period: crate::usage::quota::current_period(),
        used_tokens: crate::usage::quota::used_this_month(db, member.workspace_id()).await?,
        limit_tokens: state.settings.plan(member.ctx.plan).monthly_ai_tokens,
        resets_at: crate::usage::quota::resets_at(),
    };
    Ok(axum::Json(UsageReport {
        group_by,
        from,
        to,
        items,
        totals,
        quota,
    }))
}

/// Replace ids by the member's email or the key's name.
async fn label_members(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    items: &mut [UsageRow],
) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = items.iter().filter_map(|r| r.key.parse().ok()).collect();
    let labels = member_labels(db, workspace_id, ids).await?;
    for row in items {
        if let Some(label) = row.key.parse().ok().and_then(|id| labels.get(&id)) {
            row.label = label.clone();
        }
    }
    Ok(())
}

/// What to call each of these members or API keys: the member's email, or "API key"
/// and the key's name. Ids of neither (deleted since) are left out.
pub async fn member_labels(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, String>, ApiError> {
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::WorkspaceId.eq(workspace_id))
        .filter(api_key::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(users
        .into_iter()
        .map(|u| (u.id, u.email))
        .chain(
            keys.into_iter()
                .map(|k| (k.id, format!("API key {}", k.name))),
        )
        .collect())
}
