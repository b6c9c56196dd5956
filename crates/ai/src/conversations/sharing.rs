//! What a conversation keeps that only its creator may read, taken out as it is shared.
//!
//! The `search_conversations` tool, asked in a private conversation, lists the creator's
//! private conversations too (only the creator reads its results there; see
//! `ToolContext::shared`). Those results are kept with the answers: shared as they are,
//! every member would read the titles of the creator's private conversations. So when a
//! conversation becomes the workspace's, each kept result loses the conversations that
//! are not the workspace's. (What the model wrote about them in its answers stays: that
//! is the answer the creator chose to share, and reads before sharing.) An answer still
//! being written would be saved with its results whole, after this: a conversation is
//! not shared while one is.

use nexus_kernel::ApiError;
use nexus_kernel::tenancy::TenantCtx;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde_json::Value;
use std::collections::HashSet;
use uuid::Uuid;

use crate::entities::{conversation, message};

/// The tool whose results name other conversations.
const SEARCH_TOOL: &str = "search_conversations";

/// Ready `conversation_id` to be the workspace's: refused (409 `answer_streaming`) while
/// an answer is being written, then its kept search results lose every conversation
/// that is not the workspace's (other than this one, which is becoming it).
pub async fn make_shareable(
    db: &impl ConnectionTrait,
    ctx: &TenantCtx,
    conversation_id: Uuid,
) -> Result<(), ApiError> {
    let streaming = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::Status.eq("streaming"))
        .count(db)
        .await?;
    if streaming > 0 {
        return Err(ApiError::conflict(
            "answer_streaming",
            "An answer is still being written: share the conversation once it ends.",
        ));
    }
    let answers: Vec<(Uuid, Value)> = message::Entity::find()
        .filter(message::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(message::Column::ConversationId.eq(conversation_id))
        .filter(message::Column::ToolCalls.is_not_null())
        .select_only()
        .column(message::Column::Id)
        .column(message::Column::ToolCalls)
        .into_tuple()
        .all(db)
        .await?;
    let named: HashSet<Uuid> = answers
        .iter()
        .flat_map(|(_, calls)| found_in(calls))
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let mut shared: HashSet<Uuid> = conversation::Entity::find()
        .filter(conversation::Column::WorkspaceId.eq(ctx.workspace_id))
        .filter(conversation::Column::Id.is_in(named))
        .filter(conversation::Column::Visibility.eq("workspace"))
        .select_only()
        .column(conversation::Column::Id)
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    shared.insert(conversation_id);
    for (id, mut calls) in answers {
        if !keep_only(&mut calls, &shared) {
            continue;
        }
        message::Entity::update_many()
            .col_expr(message::Column::ToolCalls, Expr::value(calls))
            .filter(message::Column::WorkspaceId.eq(ctx.workspace_id))
            .filter(message::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The search results among an answer's kept tool calls: each result's list.
fn results_mut(calls: &mut Value) -> impl Iterator<Item = &mut Vec<Value>> {
    calls
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter(|call| call["name"] == SEARCH_TOOL)
        .filter_map(|call| call["result"]["conversations"].as_array_mut())
}

/// The conversations an answer's kept search results name.
fn found_in(calls: &Value) -> impl Iterator<Item = Uuid> + '_ {
    calls
        .as_array()
        .into_iter()
        .flatten()
        .filter(|call| call["name"] == SEARCH_TOOL)
        .filter_map(|call| call["result"]["conversations"].as_array())
        .flatten()
        .filter_map(id_of)
}

fn id_of(found: &Value) -> Option<Uuid> {
    found["id"].as_str().and_then(|id| id.parse().ok())
}

/// Keep in each search result only the conversations in `shared`; whether any went.
fn keep_only(calls: &mut Value, shared: &HashSet<Uuid>) -> bool {
    let mut changed = false;
    for found in results_mut(calls) {
        let before = found.len();
        found.retain(|c| id_of(c).is_some_and(|id| shared.contains(&id)));
        changed |= found.len() != before;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_search_results_lose_what_is_not_shared() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut calls = json!([
            { "id": "1", "name": SEARCH_TOOL, "arguments": "{}", "result": { "conversations": [
                { "id": a, "title": "Team plans" }, { "id": b, "title": "Secret plans" }, { "id": "junk" }
            ] } },
            { "id": "2", "name": "list_members", "arguments": "{}", "result": { "members": [{ "id": b }] } },
            { "id": "3", "name": SEARCH_TOOL, "arguments": "{}", "result": { "error": "`query` is required" } },
        ]);
        assert_eq!(found_in(&calls).collect::<Vec<_>>(), vec![a, b]);
        assert!(keep_only(&mut calls, &HashSet::from([a])));
        assert_eq!(
            calls[0]["result"]["conversations"],
            json!([{ "id": a, "title": "Team plans" }])
        );
        assert_eq!(calls[1]["result"]["members"][0]["id"], json!(b));
        assert!(
            !keep_only(&mut calls, &HashSet::from([a])),
            "nothing more to take out"
        );
    }
}
