//! Reading a Messages request the way Anthropic does: what the real API refuses with a
//! 400, the fake refuses too, so that a wrong translation fails a test rather than a
//! customer's conversation.

use serde_json::Value;
use std::collections::HashSet;

use super::super::{PROMPT_OVERHEAD, Prefix, content_text, count_words};

/// What the fake needs from a Messages request, once checked.
pub(super) struct MessagesRequest {
    pub model: String,
    pub stream: bool,
    pub prompt_tokens: u64,
    pub last_user: String,
    /// The prefixes ending at each block marked `cache_control`, in order (see
    /// [`cache_breakpoints`]).
    pub breakpoints: Vec<Prefix>,
    /// Of `prompt_tokens`, how many were read from and written to the prompt cache
    /// (filled in by [`super::settle`]).
    pub cache_read: u64,
    pub cache_written: u64,
}

/// The most marks Anthropic takes in one request.
const MAX_BREAKPOINTS: usize = 4;

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
        check_system(&body["system"])?;
        let breakpoints = cache_breakpoints(body)?;
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
            breakpoints,
            cache_read: 0,
            cache_written: 0,
        })
    }
}

/// `system` is a string or a list of text blocks.
fn check_system(system: &Value) -> Result<(), String> {
    match system {
        Value::Null | Value::String(_) => Ok(()),
        Value::Array(blocks) => {
            for (i, b) in blocks.iter().enumerate() {
                if b["type"] != "text" || b["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
                    return Err(format!(
                        "system.{i}: text content blocks must contain non-whitespace text"
                    ));
                }
            }
            Ok(())
        }
        _ => Err("system: Input should be a valid string or list".into()),
    }
}

/// The prompt in Anthropic's cache order (tools, system, messages), cut after each block
/// marked `cache_control`. Refuses what Anthropic refuses: more than four marks, or a mark
/// of another type than `ephemeral`.
fn cache_breakpoints(body: &Value) -> Result<Vec<Prefix>, String> {
    let mut blocks: Vec<(String, u64, &Value)> = Vec::new();
    for tool in body["tools"].as_array().into_iter().flatten() {
        blocks.push((unmarked(tool), 0, tool));
    }
    for b in body["system"].as_array().into_iter().flatten() {
        let words = count_words(b["text"].as_str().unwrap_or_default());
        blocks.push((format!("system:{}", unmarked(b)), words, b));
    }
    for m in body["messages"].as_array().into_iter().flatten() {
        let role = m["role"].as_str().unwrap_or_default();
        for b in m["content"].as_array().into_iter().flatten() {
            let words = count_words(&blocks_text(&Value::Array(vec![b.clone()])));
            blocks.push((format!("{role}:{}", unmarked(b)), words, b));
        }
    }
    let mut out = Vec::new();
    let (mut key, mut tokens) = (String::new(), 0);
    for (text, words, block) in blocks {
        key.push_str(&text);
        key.push('\n');
        tokens += words;
        let Some(mark) = block.get("cache_control") else {
            continue;
        };
        if mark["type"] != "ephemeral" {
            return Err("cache_control.type: Input should be 'ephemeral'".into());
        }
        out.push(Prefix {
            key: key.clone(),
            tokens,
        });
    }
    if out.len() > MAX_BREAKPOINTS {
        return Err(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {}.",
            out.len()
        ));
    }
    Ok(out)
}

/// A block as JSON without its `cache_control`: the mark is not part of the prefix.
fn unmarked(block: &Value) -> String {
    let mut b = block.clone();
    if let Some(map) = b.as_object_mut() {
        map.remove("cache_control");
    }
    b.to_string()
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
