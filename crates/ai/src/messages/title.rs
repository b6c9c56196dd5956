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
use crate::entities::conversation;
use crate::provider::{ChatMessage, ChatRequest, StreamEvent};

const TITLE_TIMEOUT: Duration = Duration::from_secs(15);

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
        max_tokens: Some(24),
    };
    let generated = tokio::time::timeout(TITLE_TIMEOUT, async {
        let cancel = state.shutdown.child_token();
        let opened = ai
            .resilience
            .open(&turn.small_model_candidates, &request, &cancel)
            .await
            .ok()?;
        let mut text = String::new();
        let mut stream = opened.stream;
        for ev in opened.first {
            if let StreamEvent::Delta(t) = ev {
                text.push_str(&t);
            }
        }
        while let Some(Ok(ev)) = stream.next().await {
            if let StreamEvent::Delta(t) = ev {
                text.push_str(&t);
            }
        }
        clean(&text)
    })
    .await
    .ok()
    .flatten();
    let title = generated.unwrap_or_else(|| fallback_title(&question));
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
    if updated.is_ok() {
        let _ = db.commit().await;
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
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
