//! The audit log: append-only and hash-chained per workspace. Each event's hash covers its
//! content and the previous event's hash, so editing or deleting any event breaks every
//! hash after it; [`verify_chain`] finds the first break.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::Tx;
use crate::entities::{audit_event, audit_head};
use crate::error::ApiError;
use crate::tenancy::{Actor, TenantCtx};

/// One mutation to record.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    /// What changed. Never secret values.
    pub summary: Value,
    /// What the change can make stale in the hot cache.
    pub reach: Reach,
}

/// Which of a workspace's cached reads an audited change makes stale when it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Who may do what and how the workspace is set up: members, roles, API keys,
    /// modules, AI providers and settings, secrets, the workspace itself. Forgets every
    /// cached read of the workspace. The default, because forgetting too much only costs a
    /// read, while forgetting too little serves stale permissions.
    Workspace,
    /// The workspace's content (conversations; later tickets and leads), which no cached
    /// read but the audit page is made of. Forgets only that page, so that a busy
    /// workspace creating conversations keeps its memberships, modules and AI catalog
    /// cached.
    Content,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str, target_type: &'a str, target_id: impl ToString) -> Self {
        Self {
            action,
            target_type,
            target_id: Some(target_id.to_string()),
            summary: Value::Object(Default::default()),
            reach: Reach::Workspace,
        }
    }

    /// This change touches content only (see [`Reach::Content`]).
    pub fn content(mut self) -> Self {
        self.reach = Reach::Content;
        self
    }

    pub fn summary(mut self, summary: Value) -> Self {
        self.summary = summary;
        self
    }
}

/// The hot-cache tag of a workspace's cached audit pages: forgotten by every event, where
/// the workspace's own id is forgotten only by [`Reach::Workspace`] events. It is the
/// workspace id with its version bits flipped, so it never equals a real id (v4 and v7
/// ids become version 11 and 8).
pub fn page_tag(workspace_id: Uuid) -> Uuid {
    Uuid::from_u128(workspace_id.as_u128() ^ (0xF << 76))
}

/// Append an event inside the caller's transaction (the one making the change).
pub async fn record(tx: &Tx, ctx: &TenantCtx, event: Event<'_>) -> Result<(), ApiError> {
    record_as(tx, ctx.workspace_id, &ctx.actor, &ctx.meta, event).await
}

pub async fn record_as(
    tx: &Tx,
    workspace_id: Uuid,
    actor: &Actor,
    meta: &crate::request::RequestMeta,
    event: Event<'_>,
) -> Result<(), ApiError> {
    // Every change inside a workspace passes through here, so this is where the
    // workspace's cached reads (roles, keys, AI providers, the audit page) are marked
    // stale: all of them, or for content only the audit page.
    tx.mark_stale(match event.reach {
        Reach::Workspace => workspace_id,
        Reach::Content => page_tag(workspace_id),
    });
    // Reading the chain's head locks its row until commit (PostgreSQL) or runs under the
    // single writer (SQLite), so the chain never forks.
    let head = audit_head::Entity::find_by_id(workspace_id)
        .lock_exclusive()
        .one(tx)
        .await?;
    let (seq, prev_hash) = match &head {
        Some(h) => (h.seq + 1, h.head.clone()),
        None => (1, String::new()),
    };

    let mut model = audit_event::Model {
        workspace_id,
        id: Uuid::now_v7(),
        seq,
        actor_type: actor.kind().into(),
        actor_id: actor.id(),
        actor_label: actor.label(),
        action: event.action.into(),
        target_type: event.target_type.into(),
        target_id: event.target_id,
        summary: event.summary,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: meta.request_id.clone(),
        // Stored at microsecond precision on both engines, so hash what is stored.
        created_at: truncate_micros(Utc::now()),
        prev_hash,
        hash: String::new(),
    };
    model.hash = hash_event(&model);

    let new_head = audit_head::ActiveModel {
        workspace_id: Set(workspace_id),
        seq: Set(seq),
        head: Set(model.hash.clone()),
    };
    if head.is_some() {
        audit_head::Entity::update(new_head).exec(tx).await?;
    } else {
        audit_head::Entity::insert(new_head)
            .exec_without_returning(tx)
            .await?;
    }
    audit_event::Entity::insert(to_active(model))
        .exec_without_returning(tx)
        .await?;
    Ok(())
}

fn to_active(m: audit_event::Model) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        workspace_id: Set(m.workspace_id),
        id: Set(m.id),
        seq: Set(m.seq),
        actor_type: Set(m.actor_type),
        actor_id: Set(m.actor_id),
        actor_label: Set(m.actor_label),
        action: Set(m.action),
        target_type: Set(m.target_type),
        target_id: Set(m.target_id),
        summary: Set(m.summary),
        ip: Set(m.ip),
        user_agent: Set(m.user_agent),
        request_id: Set(m.request_id),
        created_at: Set(m.created_at),
        prev_hash: Set(m.prev_hash),
        hash: Set(m.hash),
    }
}

fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// SHA-256 over the previous hash and every field, each length-prefixed so that no two
/// different events serialise the same way.
pub fn hash_event(e: &audit_event::Model) -> String {
    let mut h = Sha256::new();
    let fields: [String; 14] = [
        e.prev_hash.clone(),
        e.workspace_id.to_string(),
        e.id.to_string(),
        e.seq.to_string(),
        e.actor_type.clone(),
        e.actor_id.map(|u| u.to_string()).unwrap_or_default(),
        e.actor_label.clone(),
        e.action.clone(),
        e.target_type.clone(),
        e.target_id.clone().unwrap_or_default(),
        canonical_json(&e.summary),
        format!(
            "{}|{}",
            e.ip.clone().unwrap_or_default(),
            e.user_agent.clone().unwrap_or_default()
        ),
        e.request_id.clone(),
        e.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// JSON with object keys sorted, so the hash does not depend on how a database stored it.
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<_> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ChainReport {
    pub ok: bool,
    pub events_checked: u64,
    /// Sequence number of the first event whose hash or link does not match.
    pub first_broken_seq: Option<i64>,
}

/// Walk a workspace's chain from the first event and report the first break. The chain's
/// head is also kept in `audit_heads`, so deleting the newest events shows too.
pub async fn verify_chain(
    tx: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> Result<ChainReport, ApiError> {
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(audit_event::Column::Seq)
        .all(tx)
        .await?;
    let (head_seq, head) = audit_head::Entity::find_by_id(workspace_id)
        .one(tx)
        .await?
        .map_or((0, String::new()), |h| (h.seq, h.head));
    let mut prev = String::new();
    for (expected_seq, e) in (1_i64..).zip(&events) {
        if e.seq != expected_seq || e.prev_hash != prev || hash_event(e) != e.hash {
            return Ok(ChainReport {
                ok: false,
                events_checked: (expected_seq - 1) as u64,
                first_broken_seq: Some(expected_seq),
            });
        }
        prev = e.hash.clone();
    }
    let checked = events.len() as u64;
    if head_seq != checked as i64 || head != prev {
        return Ok(ChainReport {
            ok: false,
            events_checked: checked,
            first_broken_seq: Some(checked as i64 + 1),
        });
    }
    Ok(ChainReport {
        ok: true,
        events_checked: checked,
        first_broken_seq: None,
    })
}
