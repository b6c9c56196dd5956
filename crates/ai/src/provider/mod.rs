//! One provider interface for every module, over two wire protocols: OpenAI-compatible
//! Chat Completions (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, LiteLLM, OpenRouter all
//! speak it) and Anthropic's Messages API. Requests are built in the Chat Completions
//! shape and translated at the edge; answers come back as the same [`StreamEvent`]s.

mod anthropic;
mod client;
mod openai;
mod sse;
mod think;

pub use client::{ProviderClient, ProviderStream};
pub use nexus_kernel::config::AiProviderApi as ProviderApi;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ChatMessage {
    pub role: String,
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(default)]
    pub tool_call_id: Option<String>,
    /// Images a user message shows the model (vision), after its text.
    #[serde(skip)]
    pub images: Vec<Image>,
}

/// An image sent to the model, already in base64: a request is serialised once per
/// attempt and once for its cache key, and the same image goes with every later turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub media_type: String,
    pub base64: std::sync::Arc<str>,
}

/// A prompt's tokens for one image, as an upper bound for quota reservations and the
/// count when a provider reports no usage: Anthropic's largest image is about 1,600
/// tokens, OpenAI's (high detail) about 1,100.
pub const IMAGE_TOKENS: u64 = 1_600;

/// Chat Completions' message: `content` is a string, or for a message with images an
/// array of parts (the text, then each image as a `data:` URL).
impl Serialize for ChatMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("role", &self.role)?;
        if self.images.is_empty() {
            map.serialize_entry("content", &self.content)?;
        } else {
            let text = self.content.as_deref().filter(|t| !t.is_empty());
            let parts: Vec<Value> = text
                .map(|t| serde_json::json!({"type": "text", "text": t}))
                .into_iter()
                .chain(self.images.iter().map(|i| {
                    let url = format!("data:{};base64,{}", i.media_type, i.base64);
                    serde_json::json!({"type": "image_url", "image_url": {"url": url}})
                }))
                .collect();
            map.serialize_entry("content", &parts)?;
        }
        if let Some(calls) = &self.tool_calls {
            map.serialize_entry("tool_calls", calls)?;
        }
        if let Some(id) = &self.tool_call_id {
            map.serialize_entry("tool_call_id", id)?;
        }
        map.end()
    }
}

impl ChatRequest {
    /// An upper bound on the prompt's tokens, for a quota reservation, that costs
    /// nothing next to running the tokenizer (see [`token_bound`]). The tools' schemas
    /// go with every request and count too.
    pub fn prompt_estimate(&self) -> u64 {
        let tokens = token_bound;
        let messages: u64 = self
            .messages
            .iter()
            .map(|m| {
                let calls: u64 = m
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|c| tokens(&c.function.name) + tokens(&c.function.arguments) + 4)
                    .sum();
                let images = m.images.len() as u64 * IMAGE_TOKENS;
                tokens(m.content.as_deref().unwrap_or_default()) + calls + images + 4
            })
            .sum();
        let tools = if self.tools.is_empty() {
            0
        } else {
            serde_json::to_string(&self.tools).map_or(0, |t| tokens(&t))
        };
        messages + tools
    }

    /// An upper bound on what one call of this request costs, for a quota reservation:
    /// the prompt's estimate and the completion budget it sends.
    pub fn cost_bound(&self) -> u64 {
        self.prompt_estimate() + u64::from(self.max_tokens.unwrap_or_default())
    }
}

/// At least as many tokens as `text` has, for ordinary text of any script, at the cost
/// of one pass over its bytes: a third of its ASCII letters and digits (English runs
/// about four to a token), half its ASCII spaces and punctuation (code is dense with
/// them), and for every other character one less than its bytes (Cyrillic and Arabic,
/// two bytes, are a token or less; Chinese and Japanese, three, one or two; emoji,
/// four, up to three). A third of the bytes, as before, fell short for code and every
/// script but Latin and Cyrillic: a reservation that falls short lets a workspace spend
/// past its quota.
pub fn token_bound(text: &str) -> u64 {
    let (mut words, mut marks, mut other) = (0u64, 0u64, 0u64);
    for b in text.bytes() {
        match b {
            b if b.is_ascii_alphanumeric() => words += 1,
            b if b.is_ascii() => marks += 1,
            // A character's first byte counts none, each continuation byte one.
            0xC0.. => {}
            _ => other += 1,
        }
    }
    words.div_ceil(3) + marks.div_ceil(2) + other
}

impl ChatMessage {
    pub fn text(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: Some(content.into()),
            tool_calls: None,
            tool_call_id: None,
            images: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FunctionCall {
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

/// A tool offered to the model, serialised as `{"type":"function","function":{…}}`.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

impl Serialize for ToolSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({
            "type": "function",
            "function": { "name": self.name, "description": self.description, "parameters": self.parameters }
        })
        .serialize(s)
    }
}

/// The end of an answer, as both protocols' parsers report it: the tool calls gathered
/// (by index), then the finish reason in OpenAI's words. Calls cut off by the token limit
/// (`length`) have half their arguments and are not run. A call the provider sent without
/// an id gets a unique one: a conversation's history carries every round's calls, and
/// Anthropic refuses repeated ids.
fn finish_answer(
    calls: std::collections::BTreeMap<u64, ToolCall>,
    reason: String,
    out: &mut Vec<StreamEvent>,
) {
    if !calls.is_empty() && reason != "length" {
        let calls = calls
            .into_values()
            .map(|mut c| {
                if c.id.is_empty() {
                    c.id = format!("call_{}", uuid::Uuid::now_v7().simple());
                }
                c
            })
            .collect();
        out.push(StreamEvent::ToolCalls(calls));
    }
    out.push(StreamEvent::Finished { reason });
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Of `prompt_tokens`, those the provider read from its prompt cache (Anthropic's
    /// cache reads, OpenAI's `cached_tokens`), which it bills at a fraction of the input
    /// price.
    pub cached_prompt_tokens: u64,
}

/// What a stream yields, already normalised across providers' quirks.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of the answer's text.
    Delta(String),
    /// A piece of what a reasoning model thought before answering (`reasoning_content`
    /// from DeepSeek, vLLM and llama.cpp; `reasoning` from OpenRouter and Ollama;
    /// Anthropic's thinking). Shown to the reader, never sent back to the model.
    Reasoning(String),
    /// The model asks for these tool calls (complete: arguments reassembled).
    ToolCalls(Vec<ToolCall>),
    Usage(Usage),
    /// The answer ended normally.
    Finished {
        reason: String,
    },
}

impl StreamEvent {
    /// The event without NUL characters. A model can write U+0000 (asked to, or by a
    /// fault), and PostgreSQL refuses it in text and JSON: kept, it would fail the
    /// answer's save, and every checkpoint written in the same statement as it.
    pub fn without_nul(self) -> Self {
        fn clean(s: &mut String) {
            if s.contains('\0') {
                s.retain(|c| c != '\0');
            }
        }
        match self {
            Self::Delta(mut t) => {
                clean(&mut t);
                Self::Delta(t)
            }
            Self::Reasoning(mut t) => {
                clean(&mut t);
                Self::Reasoning(t)
            }
            Self::ToolCalls(mut calls) => {
                for c in &mut calls {
                    clean(&mut c.id);
                    clean(&mut c.function.name);
                    clean(&mut c.function.arguments);
                }
                Self::ToolCalls(calls)
            }
            other => other,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("timed out")]
    Timeout,
    #[error("provider answered {status}: {message}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("unexpected response: {0}")]
    Protocol(String),
    /// The stream broke after it had started.
    #[error("stream interrupted: {0}")]
    Interrupted(String),
}

impl ProviderError {
    /// Worth another attempt at the same provider: connection trouble, timeouts, 429, 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Timeout | Self::Interrupted(_) => true,
            Self::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            Self::Protocol(_) => false,
        }
    }

    /// Says something about the provider rather than about this one request: counts
    /// towards opening its circuit. A request it refuses (400, 404 for a model, 413, 422)
    /// would be refused anywhere and must not take the provider away from other answers.
    pub fn counts_against_provider(&self) -> bool {
        match self {
            // A redirect too: the address is wrong for every answer until an admin
            // changes it.
            Self::Status { status, .. } => {
                matches!(status, 300..=399 | 401 | 403 | 408 | 429) || *status >= 500
            }
            Self::Connect(_) | Self::Timeout | Self::Interrupted(_) | Self::Protocol(_) => true,
        }
    }

    /// A low-cardinality label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::Timeout => "timeout",
            Self::Status { status: 429, .. } => "rate_limited",
            Self::Status { status, .. } if *status >= 500 => "server_error",
            Self::Status { .. } => "client_error",
            Self::Protocol(_) => "protocol",
            Self::Interrupted(_) => "interrupted",
        }
    }
}
