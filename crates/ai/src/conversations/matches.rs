//! Where a search found its words in each conversation of a page of results: the newest
//! message that has them, and the text around them, so that the list can show why a
//! conversation matched (a title rarely says).

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, FromQueryResult};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::message;
use nexus_kernel::ApiError;
use nexus_kernel::tenancy::TenantCtx;

/// The newest message of a conversation that has the searched words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchMatch {
    pub message_id: Uuid,
    /// The message's text around the words (about 160 characters, on one line), with `…`
    /// where it was cut.
    pub snippet: String,
}

// As 32-bit integers: PostgreSQL's `substr` and `strpos` take and give `integer`, and
// has no `substr(text, bigint, bigint)`.
/// Characters of context before the words.
const BEFORE: i32 = 60;
/// Characters of a snippet.
const LENGTH: i32 = 160;
/// Matching messages read at most: the newest, for a page of up to 200 conversations.
const MOST: u64 = 1000;

#[derive(FromQueryResult)]
struct Found {
    conversation_id: Uuid,
    id: Uuid,
    around: String,
    start: i64,
}

/// For each of `conversations` whose messages have `words` (as the search matches them),
/// its newest such message and the text around the words. The text is cut in the
/// database: a long message does not travel whole for a line of it. (Where the words
/// start is found in the lower-cased text, which on SQLite lower-cases ASCII only: a
/// word found there by another letter's case shows from the message's start.)
pub async fn newest_matches(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    words: &str,
    conversations: &[Uuid],
) -> Result<HashMap<Uuid, SearchMatch>, ApiError> {
    if conversations.is_empty() {
        return Ok(HashMap::new());
    }
    use message::Column as M;
    let backend = db.get_database_backend();
    let lowered = || SimpleExpr::from(Func::lower(Expr::col(M::Content)));
    // Where the words start, in characters: SQLite's `instr`, PostgreSQL's `strpos`.
    let position = Func::cust(if backend == DbBackend::Postgres {
        "strpos"
    } else {
        "instr"
    })
    .arg(lowered())
    .arg(words.to_lowercase());
    let position = SimpleExpr::from(position);
    let start: SimpleExpr = Expr::case(position.clone().gt(BEFORE), position.sub(BEFORE))
        .finally(1)
        .into();
    let around = Func::cust("substr")
        .arg(Expr::col(M::Content))
        .arg(start.clone())
        .arg(LENGTH + 1);
    let select = Query::select()
        .column(M::ConversationId)
        .column(M::Id)
        .expr_as(around, Alias::new("around"))
        .expr_as(start.cast_as(Alias::new("BIGINT")), Alias::new("start"))
        .from(message::Entity)
        .and_where(M::WorkspaceId.eq(ctx.workspace_id))
        .and_where(M::ConversationId.is_in(conversations.iter().copied()))
        .and_where(super::contains_words(Expr::col(M::Content), words, backend))
        .order_by(M::Id, sea_orm::Order::Desc)
        .limit(MOST)
        .to_owned();
    let rows = db.query_all_raw(backend.build(&select)).await?;
    let mut out = HashMap::new();
    for row in rows {
        let found = Found::from_query_result(&row, "")?;
        out.entry(found.conversation_id)
            .or_insert_with(|| SearchMatch {
                message_id: found.id,
                snippet: snippet(&found.around, found.start > 1),
            });
    }
    Ok(out)
}

/// `around` (up to one character more than a snippet: then it was cut) on one line,
/// with `…` where the message goes on.
fn snippet(around: &str, cut_before: bool) -> String {
    let cut_after = around.chars().count() > LENGTH as usize;
    let text: String = around.chars().take(LENGTH as usize).collect();
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{}{line}{}",
        if cut_before { "…" } else { "" },
        if cut_after { "…" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::snippet;

    #[test]
    fn a_snippet_is_one_line_marked_where_cut() {
        assert_eq!(snippet("a short\nanswer", false), "a short answer");
        assert_eq!(snippet("from the middle", true), "…from the middle");
        let long = "word ".repeat(40);
        let s = snippet(&long, false);
        assert!(s.ends_with('…') && s.chars().count() <= 161, "{s}");
    }
}
