//! Attachments: images and text files a member sends with a message.
//!
//! They arrive in the message's JSON body, in base64, and are checked here: an image must
//! be a PNG, JPEG, GIF or WebP (by its bytes, not only its declared type); anything else
//! must be UTF-8 text. Images go to the model as images (vision); a text file's words go
//! after the message's own, inside `<file name="…">` tags. The message's row keeps what
//! each one is (`messages.attachments`), the bytes are in `ai_attachments`, read only to
//! build a provider's request or to download one. An edit keeps the edited message's
//! attachments; a regeneration sends them again.

use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use nexus_identity::extract::Member;
use nexus_kernel::roles::Permission;
use nexus_kernel::tenancy::TenantCtx;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QueryTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::conversations::{assistant_on, find_readable};
use crate::entities::{attachment, message};
use crate::provider::{ChatMessage, Image};

/// At most this many attachments per message.
pub const MAX_ATTACHMENTS: usize = 8;
/// An image's largest size: Anthropic's limit of 5 MiB applies to its base64 (four bytes
/// for three), well under OpenAI's.
pub const MAX_IMAGE_BYTES: usize = (5 << 20) / 4 * 3;
/// A text file's largest size: its words go into the prompt, where a message's own are
/// limited to 100,000 characters.
pub const MAX_TEXT_BYTES: usize = 512 << 10;
/// All of one message's attachments together.
pub const MAX_TOTAL_BYTES: usize = 20 << 20;
/// The body a message with attachments may need: the files in base64 (four bytes for
/// three), and room for the message's words and the JSON around them (100,000 characters
/// that a client writes as `\u` escapes, six bytes each, take 1.2 MB).
pub const MAX_SEND_BODY: usize = MAX_TOTAL_BYTES / 3 * 4 + (2 << 20);
/// How long reading a message's body may take in all: a slow upload of the largest body
/// still fits, one that trickles holds a connection no longer.
const UPLOAD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);
/// The images one request to a model carries at most, the question's and its history's
/// together (Anthropic refuses more than 100, and shrinks its limits past 20), and their
/// bytes: older images past these are named instead (see [`fit_history`]).
const MAX_REQUEST_IMAGES: usize = 20;
const MAX_REQUEST_IMAGE_BYTES: usize = MAX_TOTAL_BYTES;

const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// An attachment as sent with a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    /// The file's name, as shown (a path's folders are dropped).
    pub name: String,
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp` for an image; for a text
    /// file its type if the browser knows one (`text/plain` otherwise).
    pub media_type: String,
    /// The file's bytes in base64.
    pub data: String,
}

/// What a message's attachment is, as its row keeps it and as the API shows it; the
/// bytes are at `…/messages/{message_id}/attachments/{position}`, from 0 in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttachmentMeta {
    pub name: String,
    pub media_type: String,
    /// Bytes.
    pub size: i64,
}

impl AttachmentMeta {
    pub fn is_image(&self) -> bool {
        is_image_type(&self.media_type)
    }
}

/// Whether files of this type go to a model as images (and are served as themselves).
fn is_image_type(media_type: &str) -> bool {
    IMAGE_TYPES.contains(&media_type)
}

/// An attachment with its bytes: checked, ready to save and to send to a model.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub meta: AttachmentMeta,
    pub data: Arc<[u8]>,
}

/// The attachments of a message being sent, checked (422 naming the attachment and
/// what is wrong with it).
pub fn check(inputs: Vec<AttachmentInput>) -> Result<Vec<Attachment>, ApiError> {
    if inputs.len() > MAX_ATTACHMENTS {
        return Err(ApiError::field(
            "attachments",
            format!("must be at most {MAX_ATTACHMENTS}"),
        ));
    }
    let mut total = 0;
    let mut checked = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let field = |f: &str| format!("attachments[{i}].{f}");
        let name = file_name(&input.name).ok_or_else(|| {
            ApiError::field(
                &field("name"),
                "must be a file name of 1 to 255 characters, without control characters",
            )
        })?;
        let data = STANDARD
            .decode(input.data.as_bytes())
            .map_err(|_| ApiError::field(&field("data"), "must be base64"))?;
        if data.is_empty() {
            return Err(ApiError::field(&field("data"), "must not be empty"));
        }
        let media_type = input.media_type.trim().to_ascii_lowercase();
        let media_type = if is_image_type(&media_type) {
            if image_type(&data) != Some(media_type.as_str()) {
                return Err(ApiError::field(
                    &field("data"),
                    format!("is not the image its type says ({media_type})"),
                ));
            }
            if data.len() > MAX_IMAGE_BYTES {
                return Err(ApiError::field(
                    &field("data"),
                    format!("must be at most {} KiB for an image", MAX_IMAGE_BYTES >> 10),
                ));
            }
            media_type
        } else {
            if std::str::from_utf8(&data).is_err() || data.contains(&0) {
                return Err(ApiError::field(
                    &field("data"),
                    "must be an image (PNG, JPEG, GIF or WebP) or a text file",
                ));
            }
            if data.len() > MAX_TEXT_BYTES {
                return Err(ApiError::field(
                    &field("data"),
                    format!(
                        "must be at most {} KiB for a text file",
                        MAX_TEXT_BYTES >> 10
                    ),
                ));
            }
            text_type(&media_type)
        };
        total += data.len();
        if total > MAX_TOTAL_BYTES {
            return Err(ApiError::field(
                "attachments",
                format!("must be at most {} MiB together", MAX_TOTAL_BYTES >> 20),
            ));
        }
        checked.push(Attachment {
            meta: AttachmentMeta {
                name,
                media_type,
                size: data.len() as i64,
            },
            data: data.into(),
        });
    }
    Ok(checked)
}

/// The name to keep: its last path segment, trimmed; `None` if nothing is left, it is
/// too long or it holds control characters.
fn file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let ok = !last.is_empty() && last.chars().count() <= 255 && !last.chars().any(char::is_control);
    ok.then(|| last.to_owned())
}

/// Which image `data` is, by its first bytes.
fn image_type(data: &[u8]) -> Option<&'static str> {
    match data {
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some("image/png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

/// A text file's type as kept: the declared one when it is a text type (what a browser
/// says of Markdown, CSV, JSON, code), else `text/plain`. It is never served as declared
/// (see [`download_attachment`]).
fn text_type(declared: &str) -> String {
    let ok = declared.len() <= 100
        && (declared.starts_with("text/")
            || matches!(
                declared,
                "application/json"
                    | "application/xml"
                    | "application/yaml"
                    | "application/x-yaml"
                    | "application/toml"
                    | "application/sql"
                    | "application/javascript"
                    | "application/x-sh"
            ))
        && declared
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-".contains(&b));
    if ok {
        declared.to_owned()
    } else {
        "text/plain".into()
    }
}

/// The metadata to keep on the message's row, or none without attachments.
pub fn metadata(attachments: &[Attachment]) -> Option<Value> {
    if attachments.is_empty() {
        return None;
    }
    let metas: Vec<&AttachmentMeta> = attachments.iter().map(|a| &a.meta).collect();
    serde_json::to_value(metas).ok()
}

/// What a message's row says of its attachments (nothing for a row without any, or
/// one whose JSON is not a list of them).
pub fn of_message(m: &message::Model) -> Vec<AttachmentMeta> {
    m.attachments
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The statement that saves a new message's attachments, in its turn's transaction.
pub fn insert(
    ctx: &TenantCtx,
    conversation_id: Uuid,
    message_id: Uuid,
    attachments: &[Attachment],
    now: DateTime<Utc>,
) -> Option<InsertStatement> {
    if attachments.is_empty() {
        return None;
    }
    let rows = attachments
        .iter()
        .enumerate()
        .map(|(position, a)| attachment::ActiveModel {
            workspace_id: Set(ctx.workspace_id),
            message_id: Set(message_id),
            position: Set(position as i32),
            conversation_id: Set(conversation_id),
            name: Set(a.meta.name.clone()),
            media_type: Set(a.meta.media_type.clone()),
            size: Set(a.meta.size),
            data: Set(a.data.to_vec()),
            created_at: Set(now),
        });
    Some(attachment::Entity::insert_many(rows).into_query())
}

/// The attachments of these messages, each message's in order: one read, for a turn's
/// history (only the messages that have some are asked for).
pub async fn load(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Attachment>>, ApiError> {
    let mut by_message: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
    if message_ids.is_empty() {
        return Ok(by_message);
    }
    let rows = attachment::Entity::find()
        .filter(attachment::Column::WorkspaceId.eq(workspace_id))
        .filter(attachment::Column::MessageId.is_in(message_ids.iter().copied()))
        .order_by_asc(attachment::Column::MessageId)
        .order_by_asc(attachment::Column::Position)
        .all(db)
        .await?;
    for row in rows {
        by_message
            .entry(row.message_id)
            .or_default()
            .push(Attachment {
                meta: AttachmentMeta {
                    name: row.name,
                    media_type: row.media_type,
                    size: row.size,
                },
                data: row.data.into(),
            });
    }
    Ok(by_message)
}

/// Leave out of a request the history's images past what one request may carry, the
/// newest kept: `current` are the question's own (always sent), `history` the earlier
/// questions' files, `newest_first` their messages in that order. An image left out keeps
/// its name, and the model reads that it was not sent again.
pub fn fit_history(
    current: &[Attachment],
    history: &mut HashMap<Uuid, Vec<Attachment>>,
    newest_first: &[Uuid],
) {
    let images = current.iter().filter(|a| a.meta.is_image());
    let mut count = images.clone().count();
    let mut bytes: usize = images.map(|a| a.data.len()).sum();
    for id in newest_first {
        for a in history.get_mut(id).into_iter().flatten() {
            if !a.meta.is_image() {
                continue;
            }
            count += 1;
            bytes += a.data.len();
            if count > MAX_REQUEST_IMAGES || bytes > MAX_REQUEST_IMAGE_BYTES {
                a.data = Arc::from([]);
            }
        }
    }
}

/// A user message as the model reads it: its words, each text file's after them, and
/// its images (those [`fit_history`] left out, by name).
pub fn user_message(content: &str, attachments: &[Attachment]) -> ChatMessage {
    let mut message = ChatMessage::text("user", content);
    for a in attachments {
        if a.meta.is_image() && !a.data.is_empty() {
            message.images.push(Image {
                media_type: a.meta.media_type.clone(),
                base64: STANDARD.encode(&a.data).into(),
            });
        } else if a.meta.is_image() {
            let name = a.meta.name.replace(['[', ']'], "");
            if let Some(text) = message.content.as_mut() {
                text.push_str(&format!(
                    "\n\n[Image {name}: sent earlier in this conversation, not sent again]"
                ));
            }
        } else if let Some(text) = message.content.as_mut() {
            // Checked as UTF-8 when it arrived.
            let words = String::from_utf8_lossy(&a.data);
            let name = a.meta.name.replace('"', "'");
            text.push_str(&format!("\n\n<file name=\"{name}\">\n{words}\n</file>"));
        }
    }
    message
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download_attachment))
}

/// For the send route, whose body may carry files: a body larger than the server's usual
/// limit must arrive within [`UPLOAD_DEADLINE`] (the route is exempt from the request
/// timeout, which bounds the answer instead). A small body, as nearly every message's,
/// passes untouched.
pub async fn upload_deadline(req: Request, next: Next) -> Response {
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n <= 1 << 20);
    if small {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(UPLOAD_DEADLINE, axum::body::to_bytes(body, MAX_SEND_BODY)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(err)) => {
            let too_large = std::error::Error::source(&err)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::PayloadTooLarge.into_response()
            } else {
                ApiError::bad_request("bad_body", "The request body could not be read.")
                    .into_response()
            }
        }
        Err(_) => ApiError::bad_request(
            "upload_too_slow",
            format!(
                "The message took longer than {} seconds to arrive.",
                UPLOAD_DEADLINE.as_secs()
            ),
        )
        .into_response(),
    }
}

/// Download one of a message's attachments (readable by whoever may read the
/// conversation). Images are served as themselves, to show; text files as plain text
/// to save, never as the type they were sent with.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/conversations/{conversation_id}/messages/{message_id}/attachments/{position}", tag = "assistant",
    params(("workspace_id" = Uuid, Path), ("conversation_id" = Uuid, Path), ("message_id" = Uuid, Path),
        ("position" = u32, Path, description = "The attachment's place in the message's `attachments`, from 0")),
    responses(
        (status = 200, description = "The file's bytes", content_type = "application/octet-stream"),
        (status = 404, body = nexus_kernel::error::ErrorEnvelope),
    ))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn download_attachment(
    member: Member,
    Path(path): Path<(Uuid, Uuid, Uuid, u32)>,
) -> ApiResult<Response> {
    let (_, conversation_id, message_id, position) = path;
    assistant_on(&member).await?;
    member.require(Permission::ReadWorkspace)?;
    find_readable(member.tx(), &member.ctx, conversation_id).await?;
    let row = attachment::Entity::find()
        .filter(attachment::Column::WorkspaceId.eq(member.workspace_id()))
        .filter(attachment::Column::ConversationId.eq(conversation_id))
        .filter(attachment::Column::MessageId.eq(message_id))
        .filter(attachment::Column::Position.eq(i32::try_from(position).unwrap_or(i32::MAX)))
        .one(member.tx())
        .await?
        .ok_or(ApiError::NotFound)?;
    let (content_type, disposition) = if is_image_type(&row.media_type) {
        (row.media_type.clone(), "inline")
    } else {
        ("text/plain; charset=utf-8".to_owned(), "attachment")
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "{disposition}; filename*=UTF-8''{}",
                    encode_rfc5987(&row.name)
                ),
            ),
            // The bytes never change; only the conversation's readers may fetch them.
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
            // An image opened on its own runs nothing, whatever is in it.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; sandbox".to_owned(),
            ),
        ],
        row.data,
    )
        .into_response())
}

/// A file name for `filename*=UTF-8''…` (RFC 5987): every byte but letters, digits and a
/// few marks percent-encoded, so no name can break out of the header.
fn encode_rfc5987(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, media_type: &str, data: &[u8]) -> AttachmentInput {
        AttachmentInput {
            name: name.into(),
            media_type: media_type.into(),
            data: STANDARD.encode(data),
        }
    }

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];

    #[test]
    fn images_are_known_by_their_bytes() {
        let ok = check(vec![input("C:\\shots\\a.png", "image/PNG", PNG)]).expect("accepted");
        assert_eq!(ok[0].meta.name, "a.png");
        assert_eq!(ok[0].meta.media_type, "image/png");
        let lying =
            check(vec![input("a.png", "image/png", b"<svg onload=x>")]).expect_err("refused");
        assert!(format!("{lying:?}").contains("attachments[0].data"));
        let svg = check(vec![input("a.svg", "image/svg+xml", b"\x00\x01")]);
        assert!(svg.is_err(), "binary that is not an image is refused");
    }

    #[test]
    fn text_files_keep_a_text_type_only() {
        let ok = check(vec![
            input("notes.md", "text/markdown", b"# Hi"),
            input("page.html", "text/html", b"<b>x</b>"),
            input("main.ts", "video/mp2t", b"let x = 1;"),
        ])
        .expect("accepted");
        let types: Vec<&str> = ok.iter().map(|a| a.meta.media_type.as_str()).collect();
        assert_eq!(types, ["text/markdown", "text/html", "text/plain"]);
    }

    #[test]
    fn limits_are_named() {
        let many: Vec<_> = (0..9).map(|_| input("a.txt", "text/plain", b"x")).collect();
        assert!(check(many).is_err());
        let big = vec![b'a'; MAX_TEXT_BYTES + 1];
        assert!(check(vec![input("a.txt", "text/plain", &big)]).is_err());
        assert!(check(vec![input("", "text/plain", b"x")]).is_err());
        assert!(check(vec![input("a\nb.txt", "text/plain", b"x")]).is_err());
        assert!(check(vec![input("a.txt", "text/plain", b"")]).is_err());
        let not_base64 = AttachmentInput {
            name: "a.txt".into(),
            media_type: "text/plain".into(),
            data: "***".into(),
        };
        assert!(check(vec![not_base64]).is_err());
    }

    #[test]
    fn the_model_reads_text_files_after_the_words_and_sees_images() {
        let files = check(vec![
            input("a \"b\".txt", "text/plain", b"inside"),
            input("x.png", "image/png", PNG),
        ])
        .expect("accepted");
        let m = user_message("Look", &files);
        assert_eq!(
            m.content.as_deref(),
            Some("Look\n\n<file name=\"a 'b'.txt\">\ninside\n</file>")
        );
        assert_eq!(m.images.len(), 1);
        let wire = serde_json::to_value(&m).expect("accepted");
        assert_eq!(
            wire["content"][1]["image_url"]["url"],
            format!("data:image/png;base64,{}", STANDARD.encode(PNG))
        );
    }

    #[test]
    fn older_images_past_what_a_request_carries_are_named_instead() {
        let image = |name: &str, size: usize| Attachment {
            meta: AttachmentMeta {
                name: name.into(),
                media_type: "image/png".into(),
                size: size as i64,
            },
            data: vec![1u8; size].into(),
        };
        let (old, new) = (Uuid::from_u128(1), Uuid::from_u128(2));
        // The question's own image and the newest earlier one fit; the oldest does not.
        let current = [image("now.png", MAX_REQUEST_IMAGE_BYTES / 2)];
        let mut history = HashMap::from([
            (old, vec![image("old.png", MAX_REQUEST_IMAGE_BYTES / 4 + 1)]),
            (new, vec![image("new.png", MAX_REQUEST_IMAGE_BYTES / 4)]),
        ]);
        fit_history(&current, &mut history, &[new, old]);
        assert!(!history[&new][0].data.is_empty());
        let left_out = user_message("Earlier", &history[&old]);
        assert!(left_out.images.is_empty());
        assert_eq!(
            left_out.content.as_deref(),
            Some("Earlier\n\n[Image old.png: sent earlier in this conversation, not sent again]")
        );
        // And never more than so many images, however small.
        let many: Vec<Attachment> = (0..MAX_REQUEST_IMAGES)
            .map(|i| image(&format!("{i}"), 1))
            .collect();
        let mut history = HashMap::from([(old, many)]);
        fit_history(&current, &mut history, &[old]);
        let sent = history[&old].iter().filter(|a| !a.data.is_empty()).count();
        assert_eq!(sent, MAX_REQUEST_IMAGES - 1);
    }

    #[test]
    fn names_cannot_break_the_header() {
        assert_eq!(encode_rfc5987("a b\"\r\n.png"), "a%20b%22%0D%0A.png");
    }
}
