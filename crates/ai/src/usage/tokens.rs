//! Counting tokens when a provider does not report usage (many local servers don't).
//! cl100k_base is exact for OpenAI's GPT-4-era models and a close estimate for others.

use std::sync::LazyLock;
use tiktoken_rs::CoreBPE;

use crate::provider::{ChatMessage, IMAGE_TOKENS};

static BPE: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::cl100k_base().ok());

pub fn count(text: &str) -> u64 {
    match BPE.as_ref() {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        // Without the tokenizer, the usual estimate of four characters per token.
        None => (text.chars().count() as u64).div_ceil(4),
    }
}

/// Prompt tokens of a message list, with OpenAI's per-message overhead; an image counts
/// as [`IMAGE_TOKENS`] (a tokenizer cannot count it).
pub fn count_messages(messages: &[ChatMessage]) -> u64 {
    messages
        .iter()
        .map(|m| {
            let tool_args: u64 = m
                .tool_calls
                .iter()
                .flatten()
                .map(|c| count(&c.function.arguments) + count(&c.function.name))
                .sum();
            let images = m.images.len() as u64 * IMAGE_TOKENS;
            4 + count(m.content.as_deref().unwrap_or_default()) + tool_args + images
        })
        .sum::<u64>()
        + 3
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_like_the_tokenizer() {
        assert_eq!(super::count("hello world"), 2);
        assert!(super::count(&"word ".repeat(100)) >= 100);
    }

    /// The quota reservation's cheap bound holds against the tokenizer in every script.
    #[test]
    fn the_reservation_bound_is_not_below_the_count() {
        for text in [
            "The quick brown fox jumps over the lazy dog. ".repeat(20),
            "敏捷的棕色狐狸跳过了懒狗。我们明天去北京看长城吧。".repeat(10),
            "素早い茶色の狐がのろまな犬を飛び越えた。".repeat(10),
            "Привет, как дела? Всё хорошо, спасибо.".repeat(10),
            "مرحبا، كيف حالك اليوم؟".repeat(10),
            "🎉🚀✨🔥👍 ".repeat(20),
            "fn main() { println!(\"{}\", 1 + 2); }\n".repeat(20),
        ] {
            let (bound, count) = (crate::provider::token_bound(&text), super::count(&text));
            assert!(bound >= count, "{bound} < {count} for {text:.30}");
        }
    }
}
