//! The HTTP client for OpenAI-compatible endpoints.

use futures::StreamExt;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use super::sse::{ChunkParser, SseDecoder};
use super::{ChatRequest, ProviderError, StreamEvent};

#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
}

type ByteStream = Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// An open answer stream. Dropping it closes the connection, which cancels the request
/// upstream.
pub struct ProviderStream {
    body: ByteStream,
    decoder: SseDecoder,
    parser: ChunkParser,
    pending: VecDeque<StreamEvent>,
    ended: bool,
}

impl ProviderStream {
    /// The next event, `None` at a clean end, or an error if the stream broke.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, ProviderError>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            if self.ended {
                return None;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => {
                    for payload in self.decoder.feed(&bytes) {
                        match self.parser.parse(&payload) {
                            Ok(events) => self.pending.extend(events),
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    if self.parser.done {
                        self.ended = true;
                    }
                }
                Some(Err(e)) => return Some(Err(ProviderError::Interrupted(e.to_string()))),
                None => {
                    self.ended = true;
                    if let Some(payload) = self.decoder.finish() {
                        match self.parser.parse(&payload) {
                            Ok(events) => self.pending.extend(events),
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    // Some servers never send [DONE]; a finish_reason is enough. Without
                    // either, the stream was cut.
                    if !self.parser.finished && !self.parser.done {
                        return Some(Err(ProviderError::Interrupted(
                            "the stream ended before the answer did".into(),
                        )));
                    }
                }
            }
        }
    }
}

impl Default for OpenAiClient {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenAiClient {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Self { http }
    }

    fn url(base_url: &str, path: &str) -> String {
        format!("{}/{path}", base_url.trim_end_matches('/'))
    }

    /// Start a streamed chat completion. Resolves when the response headers arrive.
    pub async fn stream(
        &self,
        base_url: &str,
        api_key: Option<&SecretString>,
        request: &ChatRequest,
    ) -> Result<ProviderStream, ProviderError> {
        let mut body =
            serde_json::to_value(request).map_err(|e| ProviderError::Protocol(e.to_string()))?;
        body["stream"] = json!(true);
        body["stream_options"] = json!({ "include_usage": true });
        let mut rb = self
            .http
            .post(Self::url(base_url, "chat/completions"))
            .json(&body);
        if let Some(key) = api_key {
            rb = rb.bearer_auth(key.expose_secret());
        }
        let response = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                ProviderError::Timeout
            } else {
                ProviderError::Connect(without_url(&e))
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let text = response.text().await.unwrap_or_default();
            return Err(ProviderError::Status {
                status: status.as_u16(),
                retry_after,
                message: error_message(&text),
            });
        }
        Ok(ProviderStream {
            body: Box::pin(response.bytes_stream()),
            decoder: SseDecoder::default(),
            parser: ChunkParser::default(),
            pending: VecDeque::new(),
            ended: false,
        })
    }

    /// The models an endpoint lists (`GET {base}/models`), for the live provider check.
    pub async fn list_models(
        &self,
        base_url: &str,
        api_key: Option<&SecretString>,
    ) -> Result<Vec<String>, ProviderError> {
        let mut rb = self
            .http
            .get(Self::url(base_url, "models"))
            .timeout(Duration::from_secs(15));
        if let Some(key) = api_key {
            rb = rb.bearer_auth(key.expose_secret());
        }
        let response = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                ProviderError::Timeout
            } else {
                ProviderError::Connect(without_url(&e))
            }
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ProviderError::Interrupted(e.to_string()))?;
        if !status.is_success() {
            return Err(ProviderError::Status {
                status: status.as_u16(),
                retry_after: None,
                message: error_message(&text),
            });
        }
        let v: Value =
            serde_json::from_str(&text).map_err(|e| ProviderError::Protocol(e.to_string()))?;
        Ok(v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect())
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// The provider's error message, short, from an OpenAI-style error body or plain text.
fn error_message(body: &str) -> String {
    let msg = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.to_owned());
    msg.chars().take(300).collect()
}

/// reqwest errors name the URL; keep query strings (some gateways put keys there) out.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), url.origin().ascii_serialization().as_str());
    }
    text
}
