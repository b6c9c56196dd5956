use async_trait::async_trait;
use nexus_kernel::roles::Permission;
use serde_json::{Value, json};

use super::{Tool, ToolContext};
use crate::conversations::{check_search, search_visible};

/// Find earlier conversations the member can see, by title or message text.
pub struct SearchConversations;

#[async_trait]
impl Tool for SearchConversations {
    fn name(&self) -> &'static str {
        "search_conversations"
    }

    fn description(&self) -> &'static str {
        "Search this workspace's conversations that the user can see, by words in their title or messages."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "description": "Words to look for" },
                "limit": { "type": "integer", "minimum": 1, "maximum": 20 }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn permission(&self) -> Permission {
        Permission::UseAssistant
    }

    async fn call(&self, cx: &ToolContext<'_>, args: Value) -> Result<Value, String> {
        let query = args["query"]
            .as_str()
            .filter(|q| !q.trim().is_empty())
            .ok_or("`query` is required")?;
        check_search(query).map_err(|why| format!("`query` {why}"))?;
        let limit = args["limit"].as_u64().unwrap_or(5).clamp(1, 20);
        let tx = cx
            .state
            .db
            .tenant(cx.ctx.scope(), false)
            .await
            .map_err(|e| super::storage_failed("search_conversations", e))?;
        // In a shared conversation the member's private ones stay out of the results,
        // which everyone who reads the answer sees: the most a page can hold is asked
        // for, so that filtering them leaves enough.
        let asked = if cx.shared { 20 } else { limit };
        let found = search_visible(&tx, cx.ctx, Some(query), false, None, asked)
            .await
            .map_err(|e| super::storage_failed("search_conversations", e))?;
        let results: Vec<Value> = found
            .iter()
            .filter(|c| !cx.shared || c.visibility == "workspace")
            .take(limit as usize)
            .map(|c| json!({ "id": c.id, "title": c.title, "updated_at": c.updated_at, "model": c.model }))
            .collect();
        Ok(json!({ "conversations": results }))
    }
}
