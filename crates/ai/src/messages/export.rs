//! A conversation as a file to keep or share: Markdown (the branch being shown, to read)
//! or JSON (every message of every branch, with their links, to archive or import
//! elsewhere).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use nexus_identity::domain::slug_or;
use nexus_identity::extract::Member;
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{MessageView, path_to, readable_with_messages, siblings};
use crate::attachments;
use crate::conversations::{ConversationView, assistant_on};
use crate::entities::{conversation, message};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `markdown` (the default) or `json`.
    pub format: Option<String>,
}

/// A conversation exported as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationExport {
    pub conversation: ConversationView,
    /// Every message, oldest first, of every branch: `parent_id` and `sibling_ids` say
    /// how they hang together, and the conversation's `head_message_id` which branch was
    /// being shown.
    pub messages: Vec<MessageView>,
    pub exported_at: DateTime<Utc>,
}

/// Download a conversation: `format=markdown` (the default), the branch being shown as a
/// document to read; or `format=json`, every message of every branch. Readable by whoever
/// may read the conversation.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/export", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ExportParams),
    responses(
        (status = 200, description = "text/markdown, or application/json (a ConversationExport)", body = ConversationExport),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
        (status = 422, description = "An unknown format", body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn export_conversation(
    member: Member,
    Path(path): Path<(Uuid, Uuid)>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let (_, id) = path;
    assistant_on(&member).await?;
    member.require(Permission::ReadWorkspace)?;
    let json = match params.format.as_deref() {
        None | Some("markdown") => false,
        Some("json") => true,
        Some(_) => return Err(ApiError::field("format", "must be markdown or json")),
    };
    let (c, all) = readable_with_messages(member.tx(), &member.ctx, id).await?;
    let now = Utc::now();
    let name = slug_or(&c.title, "conversation");
    if json {
        let export = ConversationExport {
            conversation: ConversationView::new(&c, &member.ctx),
            messages: all
                .iter()
                .map(|m| MessageView::new(m, siblings(&all, m)))
                .collect(),
            exported_at: now,
        };
        let body = serde_json::to_vec_pretty(&export).map_err(anyhow::Error::from)?;
        return Ok(download("application/json", &format!("{name}.json"), body));
    }
    let shown = path_to(&all, c.head_message_id);
    let body = markdown(&c, &shown, now);
    Ok(download(
        "text/markdown; charset=utf-8",
        &format!("{name}.md"),
        body.into_bytes(),
    ))
}

fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

const UNTITLED: &str = "Untitled conversation";

/// The branch being shown, as a Markdown document: a heading per message (who, which
/// model, when), its text as written, and what else happened (tools called, an answer cut
/// short).
fn markdown(c: &conversation::Model, shown: &[&message::Model], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let title = if c.title.trim().is_empty() {
        UNTITLED
    } else {
        c.title.trim()
    };
    let _ = writeln!(out, "# {title}\n");
    let _ = writeln!(out, "- Model: {}", c.model);
    let _ = writeln!(out, "- Started: {}", when(c.created_at));
    let _ = writeln!(out, "- Exported: {}", when(now));
    if !c.system_prompt.trim().is_empty() {
        out.push_str("\n**System prompt**\n\n");
        for line in c.system_prompt.trim().lines() {
            let _ = writeln!(out, "> {line}");
        }
    }
    for m in shown {
        out.push_str("\n---\n\n");
        let who = if m.role == "user" {
            "You".to_owned()
        } else {
            match &m.model {
                Some(model) => format!("Assistant ({model})"),
                None => "Assistant".to_owned(),
            }
        };
        let _ = writeln!(out, "## {who} · {}\n", when(m.created_at));
        if !m.content.trim().is_empty() {
            let _ = writeln!(out, "{}", m.content.trim_end());
        }
        let files: Vec<String> = attachments::of_message(m)
            .into_iter()
            .map(|a| a.name)
            .collect();
        if !files.is_empty() {
            let _ = writeln!(out, "\n_Attached: {}_", files.join(", "));
        }
        let tools = tool_names(m);
        if !tools.is_empty() {
            let _ = writeln!(out, "\n_Tools called: {}_", tools.join(", "));
        }
        if let Some(note) = status_note(m) {
            let _ = writeln!(out, "\n_{note}_");
        }
    }
    out
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The names of the tools an answer called, in order.
fn tool_names(m: &message::Model) -> Vec<String> {
    m.tool_calls
        .as_ref()
        .and_then(|calls| calls.as_array())
        .map(|calls| {
            calls
                .iter()
                .filter_map(|call| call.get("name")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What a reader should know about an answer that did not complete.
fn status_note(m: &message::Model) -> Option<String> {
    let why = m
        .error
        .as_ref()
        .and_then(|e| e.get("message"))
        .and_then(|s| s.as_str());
    let note = match (m.status.as_str(), why) {
        ("streaming", _) => "Still being written when exported.".to_owned(),
        ("interrupted", Some(why)) => format!("Cut short: {why}"),
        ("interrupted", None) => "Cut short.".to_owned(),
        ("error", Some(why)) => format!("Failed: {why}"),
        ("error", None) => "Failed.".to_owned(),
        _ => return None,
    };
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        let name = |title: &str| slug_or(title, "conversation");
        assert_eq!(
            name("Quarterly plan: Q3/Q4 \"draft\""),
            "quarterly-plan-q3-q4-draft"
        );
        assert_eq!(name(""), "conversation");
        assert_eq!(name("¿Qué tal? 日本"), "qu-tal");
        assert_eq!(name("../../etc/passwd"), "etc-passwd");
    }
}
