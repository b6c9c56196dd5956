//! Reading a Messages request the way Anthropic does: what the real API refuses with a
//! 400, the fake refuses too, so that a wrong translation fails a test rather than a
//! customer's conversation.

use serde_json::Value;
use std::collections::HashSet;

use super::super::{PROMPT_OVERHEAD, content_text, count_words};

/// What the fake needs from a Messages request, once checked.
pub(super) struct MessagesRequest {
    pub model: String,
    pub stream: bool,
    pub prompt_tokens: u64,
    pub last_user: String,
}

/// The text of a content: a string, or its `text` blocks and `tool_result` contents.
fn blocks_text(content: &Value) -> String {
    match content {
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b["type"].as_str() {
                Some("tool_result") => blocks_text(&b["content"]),
                _ => b["text"].as_str().unwrap_or_default().to_owned(),
            })
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        other => content_text(other),
    }
}

fn valid_tool_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl MessagesRequest {
    pub fn read(body: &Value) -> Result<Self, String> {
        let model = body["model"].as_str().ok_or("model: Field required")?;
        if body["max_tokens"].as_u64().is_none_or(|n| n < 1) {
            return Err("max_tokens: Field required".into());
        }
        let messages = body["messages"]
            .as_array()
            .ok_or("messages: Field required")?;
        check_messages(messages)?;
        let system = match &body["system"] {
            Value::Null => String::new(),
            other => blocks_text(other),
        };
        let words = count_words(&system)
            + messages
                .iter()
                .map(|m| count_words(&blocks_text(&m["content"])))
                .sum::<u64>();
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .map(|m| blocks_text(&m["content"]))
            .unwrap_or_default();
        Ok(Self {
            model: model.to_owned(),
            stream: body["stream"].as_bool().unwrap_or(false),
            prompt_tokens: words + PROMPT_OVERHEAD,
            last_user,
        })
    }
}

/// Roles, blocks and the pairing of tool uses with their results. (Anthropic merges
/// consecutive turns of one role, so alternation itself is not required.)
fn check_messages(messages: &[Value]) -> Result<(), String> {
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut ids = HashSet::new();
    // Tool uses of the previous assistant message: the next message must answer each.
    let mut unanswered: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or_default();
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}: Unexpected role \"{role}\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role."
            ));
        }
        if i == 0 && role != "user" {
            return Err("messages: the first message must use the \"user\" role".into());
        }
        let blocks: Vec<&Value> = match &m["content"] {
            Value::String(s) if s.trim().is_empty() => {
                return Err(format!("messages.{i}: content must be non-empty"));
            }
            Value::String(_) => Vec::new(),
            Value::Array(blocks) => blocks.iter().collect(),
            _ => {
                return Err(format!(
                    "messages.{i}.content: Input should be a valid list"
                ));
            }
        };
        let mut uses = Vec::new();
        let mut answered = Vec::new();
        let mut other_content = matches!(m["content"], Value::String(_));
        for (j, b) in blocks.iter().enumerate() {
            let at = format!("messages.{i}.content.{j}");
            match (b["type"].as_str(), role) {
                (Some("text"), _) => {
                    if b["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
                        return Err(format!(
                            "{at}: text content blocks must contain non-whitespace text"
                        ));
                    }
                    other_content = true;
                }
                (Some("tool_use"), "assistant") => {
                    let id = b["id"].as_str().unwrap_or_default();
                    if !valid_tool_id(id) {
                        return Err(format!(
                            "{at}.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
                        ));
                    }
                    if !ids.insert(id.to_owned()) {
                        return Err(format!("{at}: `tool_use` ids must be unique"));
                    }
                    if !b["input"].is_object() {
                        return Err(format!("{at}.input: Input should be a valid dictionary"));
                    }
                    uses.push(id.to_owned());
                }
                (Some("tool_result"), "user") => {
                    let id = b["tool_use_id"].as_str().unwrap_or_default();
                    if other_content {
                        return Err(format!(
                            "{at}: tool_result blocks must come before any other content"
                        ));
                    }
                    if !unanswered.iter().any(|u| u == id) {
                        return Err(format!(
                            "{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                        ));
                    }
                    answered.push(id.to_owned());
                }
                _ => {
                    return Err(format!("{at}: this block is not valid in a {role} message"));
                }
            }
        }
        if let Some(missing) = unanswered.iter().find(|u| !answered.contains(u)) {
            return Err(format!(
                "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing}"
            ));
        }
        unanswered = uses;
    }
    Ok(())
}
