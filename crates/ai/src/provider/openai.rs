//! OpenAI's Chat Completions: the request as we send it. The stream's chunks are read by
//! [`super::sse::ChunkParser`].

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{ChatRequest, ProviderError};

pub fn authorise(
    rb: reqwest::RequestBuilder,
    api_key: Option<&SecretString>,
) -> reqwest::RequestBuilder {
    match api_key {
        Some(key) => rb.bearer_auth(key.expose_secret()),
        None => rb,
    }
}

/// Our request is already in this protocol's shape; ask for a stream with usage.
pub fn stream_body(request: &ChatRequest) -> Result<Value, ProviderError> {
    let mut body =
        serde_json::to_value(request).map_err(|e| ProviderError::Protocol(e.to_string()))?;
    body["stream"] = json!(true);
    body["stream_options"] = json!({ "include_usage": true });
    Ok(body)
}
