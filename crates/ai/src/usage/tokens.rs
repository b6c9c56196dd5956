//! Counting tokens when a provider does not report usage (many local servers don't).
//! cl100k_base is exact for OpenAI's GPT-4-era models and a close estimate for others.

use std::sync::LazyLock;
use tiktoken_rs::CoreBPE;

use crate::provider::ChatMessage;

static BPE: LazyLock<Option<CoreBPE>> = LazyLock::new(|| tiktoken_rs::cl100k_base().ok());

pub fn count(text: &str) -> u64 {
    match BPE.as_ref() {
        Some(bpe) => bpe.encode_ordinary(text).len() as u64,
        // Without the tokenizer, the usual estimate of four characters per token.
        None => (text.chars().count() as u64).div_ceil(4),
    }
}

/// Prompt tokens of a message list, with OpenAI's per-message overhead.
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
            4 + count(m.content.as_deref().unwrap_or_default()) + tool_args
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
}
