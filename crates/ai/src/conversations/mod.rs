//! Conversations: a workspace's chats. A `private` conversation is invisible to everyone
//! but its creator; a `workspace` one is readable by every member and writable by its
//! creator and admins.

mod create;
mod delete;
mod get;
mod import;
pub mod links;
mod list;
mod matches;
mod sharing;
mod update;

pub use matches::SearchMatch;

use chrono::{DateTime, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::modules::{Module, require_module};
use nexus_kernel::roles::Role;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, AppState};
use sea_orm::sea_query::ExprTrait;
use sea_orm::sea_query::{BinOper, Expr, Func, LikeExpr, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::entities::{conversation, message};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            create::create_conversation,
            list::list_conversations
        ))
        .routes(routes!(import::import_conversation))
        .routes(routes!(
            links::get_share_link,
            links::put_share_link,
            links::delete_share_link
        ))
        .routes(routes!(links::list_share_links))
        .routes(routes!(
            get::get_conversation,
            update::update_conversation,
            delete::delete_conversation
        ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Private,
    Workspace,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Workspace => "workspace",
        }
    }

    /// As stored; anything but `workspace` is private (the safe reading).
    pub fn parse(stored: &str) -> Self {
        if stored == Self::Workspace.as_str() {
            Self::Workspace
        } else {
            Self::Private
        }
    }

    /// Who reads something kept this way (a conversation, a saved prompt): everyone in
    /// the workspace, or only its creator.
    pub fn readable(stored: &str, created_by: Uuid, ctx: &TenantCtx) -> bool {
        Self::parse(stored) == Self::Workspace || Some(created_by) == ctx.actor.id()
    }

    /// Who changes it: members and above, if they made it or, shared, if they are admins.
    pub fn writable(stored: &str, created_by: Uuid, ctx: &TenantCtx) -> bool {
        ctx.role >= Role::Member
            && (Some(created_by) == ctx.actor.id()
                || (Self::parse(stored) == Self::Workspace && ctx.role >= Role::Admin))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    /// Empty until the first exchange gives it one (or someone names it).
    pub title: String,
    pub model: String,
    pub system_prompt: String,
    pub visibility: Visibility,
    pub pinned: bool,
    pub archived: bool,
    pub created_by: Uuid,
    pub message_count: i32,
    pub tokens_used: i64,
    /// The last message of the branch being shown.
    pub head_message_id: Option<Uuid>,
    /// Whether the caller may send messages and change it.
    pub can_write: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// In search results (`q`), where the words were found in a message, if they were
    /// (a match in the title alone has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub matched: Option<SearchMatch>,
}

impl ConversationView {
    pub fn new(c: &conversation::Model, ctx: &TenantCtx) -> Self {
        Self {
            id: c.id,
            title: c.title.clone(),
            model: c.model.clone(),
            system_prompt: c.system_prompt.clone(),
            visibility: Visibility::parse(&c.visibility),
            pinned: c.pinned,
            archived: c.archived,
            created_by: c.created_by,
            message_count: c.message_count,
            tokens_used: c.tokens_used,
            head_message_id: c.head_message_id,
            can_write: can_write(c, ctx),
            created_at: c.created_at,
            updated_at: c.updated_at,
            matched: None,
        }
    }
}

pub fn can_read(c: &conversation::Model, ctx: &TenantCtx) -> bool {
    Visibility::readable(&c.visibility, c.created_by, ctx)
}

pub fn can_write(c: &conversation::Model, ctx: &TenantCtx) -> bool {
    Visibility::writable(&c.visibility, c.created_by, ctx)
}

/// [`can_write`] as a query filter, for a write that re-checks a conversation and changes
/// it in one statement.
pub fn writable(ctx: &TenantCtx) -> Condition {
    if ctx.role < Role::Member {
        return Condition::all().add(Expr::value(false));
    }
    let mut cond = Condition::any().add(conversation::Column::CreatedBy.eq(ctx.actor.id()));
    if ctx.role >= Role::Admin {
        cond = cond.add(conversation::Column::Visibility.eq("workspace"));
    }
    cond
}

/// Every assistant route starts here: the module must be on.
pub async fn assistant_on(member: &Member) -> Result<(), ApiError> {
    require_module(member.tx(), member.workspace_id(), Module::Assistant).await
}

/// A conversation the caller can read, or 404 (a private conversation of someone else
/// does not exist for them).
pub async fn find_readable(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    id: Uuid,
) -> Result<conversation::Model, ApiError> {
    readable_or_not_found(find(ctx, id).one(db).await?, ctx)
}

/// The query of [`find_readable`], whose row [`readable_or_not_found`] then checks.
pub fn find(ctx: &TenantCtx, id: Uuid) -> Select<conversation::Entity> {
    conversation::Entity::find()
        .filter(conversation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(conversation::Column::Id.eq(id))
}

/// The row [`find`] found, if the caller can read it; 404 if not.
pub fn readable_or_not_found(
    row: Option<conversation::Model>,
    ctx: &TenantCtx,
) -> Result<conversation::Model, ApiError> {
    row.filter(|c| can_read(c, ctx)).ok_or(ApiError::NotFound)
}

pub async fn find_writable(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    id: Uuid,
) -> Result<conversation::Model, ApiError> {
    let c = find_readable(db, ctx, id).await?;
    writable_or_forbidden(c, ctx)
}

/// [`find_writable`], holding the conversation's row until the transaction ends (on
/// PostgreSQL; SQLite writes one at a time anyway): for changes that must not interleave
/// with a turn's save, a deletion, or another such change.
pub async fn find_writable_locked(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    id: Uuid,
) -> Result<conversation::Model, ApiError> {
    let row = find(ctx, id).lock_exclusive().one(db).await?;
    writable_or_forbidden(readable_or_not_found(row, ctx)?, ctx)
}

/// A conversation the caller can read, if they can also write it; 403 if not.
pub fn writable_or_forbidden(
    c: conversation::Model,
    ctx: &TenantCtx,
) -> Result<conversation::Model, ApiError> {
    if can_write(&c, ctx) {
        Ok(c)
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            "Only its creator and admins can change this conversation.",
        ))
    }
}

/// Where a page of the list starts: after (pinned, updated_at, id) of the last row.
#[derive(Debug, Clone, Copy)]
pub struct ListCursor {
    pinned: bool,
    updated_at: DateTime<Utc>,
    id: Uuid,
}

impl ListCursor {
    pub fn of(c: &conversation::Model) -> Self {
        Self {
            pinned: c.pinned,
            updated_at: c.updated_at,
            id: c.id,
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{}_{}_{}",
            u8::from(self.pinned),
            self.updated_at.timestamp_nanos_opt().unwrap_or_default(),
            self.id
        )
    }

    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::field("cursor", "is not a cursor from this API");
        let mut parts = s.splitn(3, '_');
        let pinned = match parts.next() {
            Some("1") => true,
            Some("0") => false,
            _ => return Err(bad()),
        };
        let nanos: i64 = parts.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let id = parts
            .next()
            .and_then(|i| Uuid::parse_str(i).ok())
            .ok_or_else(bad)?;
        Ok(Self {
            pinned,
            updated_at: DateTime::from_timestamp_nanos(nanos),
            id,
        })
    }
}

/// What a search may look for (the list's `q`, the search tool's `query`): its words
/// go into a `LIKE` or (on SQLite) a `GLOB` of twice their length or more.
pub(crate) fn check_search(words: &str) -> Result<(), &'static str> {
    if words.len() > 200 || words.chars().any(char::is_control) {
        return Err("must be at most 200 characters, without control characters");
    }
    Ok(())
}

/// A text column that holds `words`, ignoring case, in Unicode. On PostgreSQL,
/// `lower(column) LIKE '%words%'`. SQLite's `lower` and `LIKE` fold ASCII letters only
/// ("éclair" would not find "Éclair"), so there each letter of the words becomes a
/// class of its two cases in a `GLOB`: `*[éÉ][cC]lair*`.
pub(crate) fn contains_words(
    column: impl Into<SimpleExpr>,
    words: &str,
    backend: DbBackend,
) -> SimpleExpr {
    let column = column.into();
    if backend == DbBackend::Sqlite {
        let mut glob = String::from("*");
        for c in words.chars() {
            let (lower, upper) = (single(c.to_lowercase()), single(c.to_uppercase()));
            match (lower, upper) {
                (Some(l), Some(u)) if l != u => glob.extend(['[', l, u, ']']),
                // GLOB's own characters stand for themselves inside a class.
                _ if matches!(c, '*' | '?' | '[') => glob.extend(['[', c, ']']),
                _ => glob.push(c),
            }
        }
        glob.push('*');
        return column.binary(BinOper::Custom("GLOB"), glob);
    }
    let mut pattern = String::from("%");
    for c in words.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    SimpleExpr::from(Func::lower(column)).like(LikeExpr::new(pattern).escape('\\'))
}

/// The one character a case mapping gives, if it gives one (`ß` upper-cases to `SS`).
fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let first = mapped.next()?;
    mapped.next().is_none().then_some(first)
}

/// Conversations the caller can see, pinned first, most recently active first; `query`
/// matches the title or any message's text (case-insensitive).
pub async fn search_visible(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    query: Option<&str>,
    archived: bool,
    after: Option<ListCursor>,
    limit: u64,
) -> Result<Vec<conversation::Model>, ApiError> {
    use conversation::Column as C;
    let mut visible = Condition::any().add(C::Visibility.eq("workspace"));
    if let Some(actor) = ctx.actor.id() {
        visible = visible.add(C::CreatedBy.eq(actor));
    }
    let mut q = conversation::Entity::find()
        .filter(C::WorkspaceId.eq(ctx.workspace_id))
        .filter(visible)
        .filter(C::Archived.eq(archived));
    if let Some(text) = query.map(str::trim).filter(|t| !t.is_empty()) {
        let backend = db.get_database_backend();
        let in_messages = Query::select()
            .column(message::Column::ConversationId)
            .from(message::Entity)
            .and_where(message::Column::WorkspaceId.eq(ctx.workspace_id))
            .and_where(contains_words(
                Expr::col(message::Column::Content),
                text,
                backend,
            ))
            .to_owned();
        q = q.filter(
            Condition::any()
                .add(contains_words(Expr::col(C::Title), text, backend))
                .add(C::Id.in_subquery(in_messages)),
        );
    }
    if let Some(c) = after {
        // Keyset pagination over (pinned DESC, updated_at DESC, id DESC).
        q = q.filter(
            Condition::any()
                .add(C::Pinned.lt(c.pinned))
                .add(
                    Condition::all()
                        .add(C::Pinned.eq(c.pinned))
                        .add(C::UpdatedAt.lt(c.updated_at)),
                )
                .add(
                    Condition::all()
                        .add(C::Pinned.eq(c.pinned))
                        .add(C::UpdatedAt.eq(c.updated_at))
                        .add(C::Id.lt(c.id)),
                ),
        );
    }
    Ok(q.order_by_desc(C::Pinned)
        .order_by_desc(C::UpdatedAt)
        .order_by_desc(C::Id)
        .limit(limit)
        .all(db)
        .await?)
}
