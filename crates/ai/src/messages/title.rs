//! Titles: after the first exchange the small model names the conversation; if it cannot,
//! the first words of the question do.

use chrono::Utc;
use nexus_kernel::AppState;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use std::time::Duration;

use super::engine::Turn;
use crate::AiService;
use crate::attachments::AttachmentMeta;
use crate::entities::conversation;
use crate::provider::{ChatMessage, ChatRequest, StreamEvent, Usage};
use crate::resilience::Candidate;
use crate::usage::{UsageRecord, quota, tokens};

const TITLE_TIMEOUT: Duration = Duration::from_secs(15);
/// A title is a few words.
const TITLE_MAX_TOKENS: u32 = 24;

pub fn fallback_title(question: &str) -> String {
    let words: Vec<&str> = question.split_whitespace().take(8).collect();
    let mut title: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    if title.is_empty() {
        title = "New conversation".into();
    }
    title
}

fn clean(raw: &str) -> Option<String> {
    let line = raw.lines().find(|l| !l.trim().is_empty())?.trim();
    let t: String = line
        .trim_matches(|c: char| c == '"' || c == '\'' || c == '#' || c == '*')
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect();
    (!t.is_empty()).then_some(t)
}

/// What the fallback title is made of: the question's own words (not the text files the
/// model read after them), or for files sent alone, their names.
fn first_words(content: &str, attachments: &[AttachmentMeta]) -> String {
    if !content.trim().is_empty() {
        return content.to_owned();
    }
    let names: Vec<&str> = attachments.iter().map(|a| a.name.as_str()).collect();
    names.join(", ")
}

pub async fn generate(state: AppState, ai: Arc<AiService>, turn: &Turn, answer: &str) {
    let question = turn
        .request
        .messages
        .last()
        .and_then(|m| m.content.clone())
        .unwrap_or_default();
    let request = ChatRequest {
        model: String::new(),
        messages: vec![
            ChatMessage::text(
                "system",
                "Write a short title (at most 6 words) for this conversation. Reply with the title only, no quotes.",
            ),
            ChatMessage::text(
                "user",
                format!(
                    "Question: {}\n\nAnswer: {}",
                    truncate(&question, 1000),
                    truncate(answer, 1000)
                ),
            ),
        ],
        tools: Vec::new(),
        temperature: Some(0.2),
        max_tokens: Some(TITLE_MAX_TOKENS),
    };
    // Titles cost tokens too: reserved like an answer, against the same limits, so a
    // workspace (or member) at its limit gets the first words instead.
    let budget = quota::Budget {
        tokens: request.cost_bound(),
        ..turn.budget
    };
    let reservation = quota::reserve(&state.db, &budget).await.ok();
    let started = std::time::Instant::now();
    let generated = match &reservation {
        Some(_) => ask(&state, &ai, turn, &request).await,
        None => None,
    };
    let title = generated
        .as_ref()
        .and_then(|(t, ..)| t.clone())
        .unwrap_or_else(|| {
            let question = &turn.user_message;
            fallback_title(&first_words(&question.content, &question.attachments))
        });
    let used = generated.as_ref().map_or(0, |(_, usage, _)| {
        usage.prompt_tokens + usage.completion_tokens
    });
    save(&state, turn, title, generated, started.elapsed()).await;
    if let Some(reservation) = reservation {
        quota::settle(&state.db, &reservation, used).await;
    }
}

/// Ask the small model for a title: the title (if it gave a usable one), what it used
/// and who answered; none if no candidate answered in time.
async fn ask(
    state: &AppState,
    ai: &AiService,
    turn: &Turn,
    request: &ChatRequest,
) -> Option<(Option<String>, Usage, Candidate)> {
    tokio::time::timeout(TITLE_TIMEOUT, async {
        let cancel = state.shutdown.child_token();
        let opened = ai
            .resilience
            .open(&turn.small_model_candidates, request, &cancel)
            .await
            .ok()?;
        let mut text = String::new();
        let mut usage = None;
        let mut stream = opened.stream;
        let mut events: Vec<StreamEvent> = opened.first;
        loop {
            for ev in events.drain(..) {
                match ev {
                    StreamEvent::Delta(t) => text.push_str(&t),
                    StreamEvent::Usage(u) => usage = Some(u),
                    _ => {}
                }
            }
            match stream.next().await {
                Some(Ok(ev)) => events.push(ev),
                _ => break,
            }
        }
        let usage = usage.unwrap_or_else(|| Usage {
            prompt_tokens: tokens::count_messages(&request.messages),
            completion_tokens: tokens::count(&text),
            cached_prompt_tokens: 0,
        });
        Some((clean(&text), usage, opened.candidate))
    })
    .await
    .ok()
    .flatten()
}

/// Name the conversation, unless someone did meanwhile, and put what the model used in
/// the ledger, in one transaction.
async fn save(
    state: &AppState,
    turn: &Turn,
    title: String,
    generated: Option<(Option<String>, Usage, Candidate)>,
    latency: Duration,
) {
    let Ok(db) = state.db.tenant(turn.ctx.scope(), true).await else {
        return;
    };
    // Only if nobody named it meanwhile.
    let updated = conversation::Entity::update_many()
        .col_expr(conversation::Column::Title, Expr::value(title))
        .col_expr(conversation::Column::TitleGenerated, Expr::value(true))
        .col_expr(conversation::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversation::Column::WorkspaceId.eq(turn.ctx.workspace_id))
        .filter(conversation::Column::Id.eq(turn.conversation_id))
        .filter(conversation::Column::TitleGenerated.eq(false))
        .exec(&db)
        .await;
    let metered = match &generated {
        Some((_, usage, candidate)) => {
            let record = UsageRecord {
                workspace_id: turn.ctx.workspace_id,
                user_id: turn.ctx.actor.user_id(),
                api_key_id: turn.ctx.actor.api_key_id(),
                conversation_id: Some(turn.conversation_id),
                message_id: None,
                provider_id: Some(candidate.provider.id),
                provider_name: candidate.provider.name.clone(),
                model: candidate.model.clone(),
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                cached_prompt_tokens: usage.cached_prompt_tokens,
                cached: false,
                latency_ms: latency.as_millis() as u64,
                status: "ok",
            };
            crate::usage::record(&db, record).await.is_ok()
        }
        None => true,
    };
    if updated.is_ok() && metered {
        let _ = db.commit().await;
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn files_sent_alone_name_the_fallback() {
        let file = |name: &str| crate::attachments::AttachmentMeta {
            name: name.into(),
            media_type: "image/png".into(),
            size: 1,
        };
        let files = [file("cat.png"), file("dog.png")];
        assert_eq!(super::first_words(" ", &files), "cat.png, dog.png");
        assert_eq!(super::first_words("What is this?", &files), "What is this?");
    }

    #[test]
    fn titles_are_cleaned_and_have_a_fallback() {
        assert_eq!(
            super::clean("\"Trip to Lisbon\"\nextra").as_deref(),
            Some("Trip to Lisbon")
        );
        assert_eq!(
            super::fallback_title("how do I   rotate the master key in production please now"),
            "how do I rotate the master key in"
        );
        assert_eq!(super::fallback_title("  "), "New conversation");
    }
}
