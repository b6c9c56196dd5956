//! The HTTP client for every provider: one connection pool, the wire protocol chosen per
//! call ([`ProviderApi`]), and the answer stream normalised to [`StreamEvent`]s.

use futures::StreamExt;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use secrecy::SecretString;
use serde_json::Value;
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use super::sse::{ChunkParser, SseDecoder};
use super::{ChatRequest, ProviderApi, ProviderError, StreamEvent, anthropic, openai};
use crate::resilience::ProviderTarget;

#[derive(Clone)]
pub struct ProviderClient {
    http: reqwest::Client,
}

/// The response body; an error is the connection's, as text.
type ByteStream = Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, String>> + Send>>;

/// Reads one protocol's SSE payloads into events.
enum EventParser {
    OpenAi(ChunkParser),
    Anthropic(anthropic::EventParser),
}

impl EventParser {
    fn new(api: ProviderApi) -> Self {
        match api {
            ProviderApi::Openai => Self::OpenAi(ChunkParser::default()),
            ProviderApi::Anthropic => Self::Anthropic(anthropic::EventParser::default()),
        }
    }

    fn parse(
        &mut self,
        payload: &str,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<(), ProviderError> {
        match self {
            Self::OpenAi(p) => out.extend(p.parse(payload)?),
            Self::Anthropic(p) => out.extend(p.parse(payload)?),
        }
        Ok(())
    }

    /// The provider said the stream is over (nothing after this matters).
    fn done(&self) -> bool {
        match self {
            Self::OpenAi(p) => p.done,
            Self::Anthropic(p) => p.done,
        }
    }

    /// Whether a stream that closes now ended the answer rather than being cut: the
    /// answer's end was announced (a finish reason, a stop reason), whether or not the
    /// closing marker (`[DONE]`, which some servers never send; `message_stop`) came.
    fn complete(&self) -> bool {
        match self {
            Self::OpenAi(p) => p.finished || p.done,
            Self::Anthropic(p) => p.finished || p.done,
        }
    }
}

/// The most of an event a stream may hold before its end (a token is a few bytes; a
/// whole tool call's arguments arrive in one at most).
const MAX_EVENT_BYTES: usize = 16 << 20;
/// The most of an error's body read: its message is cut to a few hundred characters.
const MAX_ERROR_BODY: usize = 64 << 10;
/// The most of a model list read (OpenRouter's, with every model's details, is some 1 MB).
const MAX_MODEL_LIST: usize = 16 << 20;

/// A response's body, up to `limit` bytes: an error's is cut there (lossy at the cut),
/// a longer list is an error. A provider sending without end holds no more memory.
async fn read_at_most(mut response: reqwest::Response, limit: usize) -> Result<String, String> {
    let cut_ok = !response.status().is_success();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            if !cut_ok {
                return Err(format!("the answer went on past {} MB", limit >> 20));
            }
            body.truncate(limit);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// An open answer stream. Dropping it closes the connection, which cancels the request
/// upstream.
pub struct ProviderStream {
    body: ByteStream,
    decoder: SseDecoder,
    parser: EventParser,
    pending: VecDeque<StreamEvent>,
    ended: bool,
}

impl ProviderStream {
    fn new(api: ProviderApi, body: ByteStream) -> Self {
        Self {
            body,
            decoder: SseDecoder::default(),
            parser: EventParser::new(api),
            pending: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event, `None` at a clean end, or an error if the stream broke.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, ProviderError>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev.without_nul()));
            }
            if self.ended {
                return None;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => {
                    for payload in self.decoder.feed(&bytes) {
                        if let Err(e) = self.parser.parse(&payload, &mut self.pending) {
                            return Some(Err(e));
                        }
                    }
                    if self.decoder.held() > MAX_EVENT_BYTES {
                        return Some(Err(ProviderError::Protocol(format!(
                            "an event went on past {} MB",
                            MAX_EVENT_BYTES >> 20
                        ))));
                    }
                    if self.parser.done() {
                        self.ended = true;
                    }
                }
                // A connection that breaks after the answer's end was announced lost
                // nothing but the closing marker.
                Some(Err(e)) if self.parser.complete() => {
                    tracing::debug!(error = %e, "provider connection lost after the answer ended");
                    self.ended = true;
                }
                Some(Err(e)) => return Some(Err(ProviderError::Interrupted(e))),
                None => {
                    self.ended = true;
                    if let Some(payload) = self.decoder.finish()
                        && let Err(e) = self.parser.parse(&payload, &mut self.pending)
                    {
                        return Some(Err(e));
                    }
                    if !self.parser.complete() {
                        return Some(Err(ProviderError::Interrupted(
                            "the stream ended before the answer did".into(),
                        )));
                    }
                }
            }
        }
    }
}

impl Default for ProviderClient {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderClient {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(1024)
            .tcp_nodelay(true)
            // A provider is the address it was given: a redirect could take the request
            // (and a key in a header of its own, as Anthropic's, which reqwest keeps
            // across hosts) to another host, an internal one included.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http }
    }

    fn url(base_url: &str, path: &str) -> String {
        format!("{}/{path}", base_url.trim_end_matches('/'))
    }

    fn authorised(
        api: ProviderApi,
        rb: reqwest::RequestBuilder,
        api_key: Option<&SecretString>,
    ) -> reqwest::RequestBuilder {
        match api {
            ProviderApi::Openai => openai::authorise(rb, api_key),
            ProviderApi::Anthropic => anthropic::authorise(rb, api_key),
        }
    }

    /// Start a streamed answer. Resolves when the response headers arrive.
    pub async fn stream(
        &self,
        target: &ProviderTarget,
        request: &ChatRequest,
    ) -> Result<ProviderStream, ProviderError> {
        let api = target.api;
        let (path, body) = match api {
            ProviderApi::Openai => ("chat/completions", openai::stream_body(request)?),
            ProviderApi::Anthropic => (
                "messages",
                anthropic::stream_body(request, target.prompt_caching),
            ),
        };
        let rb = self
            .http
            .post(Self::url(&target.base_url, path))
            .json(&body);
        let response = Self::authorised(api, rb, target.api_key.as_ref())
            .send()
            .await
            .map_err(send_error)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let moved = redirected_to(status, response.headers());
            let text = read_at_most(response, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            return Err(ProviderError::Status {
                status: status.as_u16(),
                retry_after,
                message: moved.unwrap_or_else(|| error_message(&text)),
            });
        }
        let body = response
            .bytes_stream()
            .map(|r| r.map_err(|e| e.to_string()));
        Ok(ProviderStream::new(api, Box::pin(body)))
    }

    /// The models an endpoint lists (`GET {base}/models`, the same shape in both
    /// protocols), for the live provider check.
    pub async fn list_models(
        &self,
        api: ProviderApi,
        base_url: &str,
        api_key: Option<&SecretString>,
    ) -> Result<Vec<String>, ProviderError> {
        let path = match api {
            ProviderApi::Openai => "models",
            // Anthropic pages its list, 20 by default.
            ProviderApi::Anthropic => "models?limit=1000",
        };
        let rb = self
            .http
            .get(Self::url(base_url, path))
            .timeout(Duration::from_secs(15));
        let response = Self::authorised(api, rb, api_key)
            .send()
            .await
            .map_err(send_error)?;
        let status = response.status();
        let moved = redirected_to(status, response.headers());
        let limit = if status.is_success() {
            MAX_MODEL_LIST
        } else {
            MAX_ERROR_BODY
        };
        let text = read_at_most(response, limit)
            .await
            .map_err(ProviderError::Interrupted)?;
        if !status.is_success() {
            return Err(ProviderError::Status {
                status: status.as_u16(),
                retry_after: None,
                message: moved.unwrap_or_else(|| error_message(&text)),
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

fn send_error(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Connect(without_url(&e))
    }
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 allows both), at most an hour.
/// Where a redirect (which is not followed) leads, said so that an admin can give the
/// provider that address instead.
fn redirected_to(status: reqwest::StatusCode, headers: &HeaderMap) -> Option<String> {
    if !status.is_redirection() {
        return None;
    }
    let to = headers.get(LOCATION)?.to_str().ok()?;
    let to: String = to.chars().take(300).collect();
    Some(format!(
        "the address redirects to {to}, and redirects are not followed: give the provider the address it leads to"
    ))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs.min(3600.0)),
        Ok(_) => return None,
        // A date already past means "now".
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(Duration::from_secs(3600)))
}

/// The provider's error message, short, from an error body (`{"error":{"message":…}}` in
/// both protocols) or plain text.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Usage;

    /// A stream of these body pieces, then a broken connection.
    fn cut_after(api: ProviderApi, pieces: &[&'static str]) -> ProviderStream {
        let items: Vec<Result<bytes::Bytes, String>> = pieces
            .iter()
            .map(|p| Ok(bytes::Bytes::from_static(p.as_bytes())))
            .chain([Err("connection reset".to_owned())])
            .collect();
        ProviderStream::new(api, Box::pin(futures::stream::iter(items)))
    }

    async fn drain(mut s: ProviderStream) -> (Vec<StreamEvent>, Option<ProviderError>) {
        let mut events = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(ev) => events.push(ev),
                Err(e) => return (events, Some(e)),
            }
        }
        (events, None)
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, v.parse().expect("header value"));
            retry_after(&h)
        };
        assert_eq!(with("2"), Some(Duration::from_secs(2)));
        assert_eq!(with("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(with("-1"), None);
        assert_eq!(with("soon"), None);
        assert_eq!(with("999999"), Some(Duration::from_secs(3600)));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let wait = with(&later).expect("a date");
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert_eq!(
            with("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a date already past means now"
        );
    }

    #[tokio::test]
    async fn a_connection_lost_after_the_end_was_announced_loses_nothing() {
        let openai = cut_after(
            ProviderApi::Openai,
            &[
                "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n",
            ],
        );
        let (events, error) = drain(openai).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(events[0], StreamEvent::Delta("hi".into()));

        let anthropic = cut_after(
            ProviderApi::Anthropic,
            &[
                "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":4}}}\n\n",
                "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
                "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n",
            ],
        );
        let (events, error) = drain(anthropic).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            events.last(),
            Some(&StreamEvent::Usage(Usage {
                prompt_tokens: 4,
                completion_tokens: 1,
                cached_prompt_tokens: 0,
            }))
        );
    }

    #[tokio::test]
    async fn a_connection_lost_mid_answer_interrupts_it() {
        for api in [ProviderApi::Openai, ProviderApi::Anthropic] {
            let body = match api {
                ProviderApi::Openai => "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
                ProviderApi::Anthropic => {
                    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
                }
            };
            let (events, error) = drain(cut_after(api, &[body])).await;
            assert_eq!(events, [StreamEvent::Delta("hi".into())]);
            assert!(
                matches!(error, Some(ProviderError::Interrupted(ref m)) if m == "connection reset"),
                "{error:?}"
            );
        }
    }
}
