//! Getting an answer started despite failing providers: up to 3 attempts per candidate
//! with exponential backoff and full jitter (respecting `Retry-After`), then the next
//! provider/model in the workspace's order, skipping providers whose circuit is open.
//! Once the first token has arrived the answer is committed to that provider; a failure
//! after that ends the answer as `interrupted`.

mod breaker;

pub use breaker::{BreakerState, Breakers};

use rand::Rng;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::provider::{
    ChatRequest, ProviderApi, ProviderClient, ProviderError, ProviderStream, StreamEvent,
};

/// A provider endpoint the workspace may use. The platform's default provider has the
/// nil id.
pub struct ProviderTarget {
    pub id: Uuid,
    pub name: String,
    pub api: ProviderApi,
    pub base_url: String,
    pub api_key: Option<SecretString>,
    /// Anthropic only: ask for the prompt's stable parts to be cached.
    pub prompt_caching: bool,
}

#[derive(Clone)]
pub struct Candidate {
    pub provider: Arc<ProviderTarget>,
    pub model: String,
}

pub struct Opened {
    pub stream: ProviderStream,
    /// Events received up to and including the first token.
    pub first: Vec<StreamEvent>,
    pub candidate: Candidate,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cancelled")]
    Cancelled,
    #[error("every provider failed; last error: {last}")]
    AllFailed { last: ProviderError },
    #[error("every provider's circuit is open")]
    AllOpen,
}

pub struct Resilience {
    pub client: ProviderClient,
    pub breakers: Breakers,
    pub first_token_timeout: Duration,
    pub retry_base: Duration,
    pub max_attempts: u32,
}

const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A provider that asks us to wait longer than this is skipped for the next candidate.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

impl Resilience {
    /// Start the answer on the first candidate that produces a first token.
    pub async fn open(
        &self,
        candidates: &[Candidate],
        request: &ChatRequest,
        cancel: &CancellationToken,
    ) -> Result<Opened, OpenError> {
        let mut last = None;
        for candidate in candidates {
            let provider_id = candidate.provider.id;
            let mut req = request.clone();
            req.model = candidate.model.clone();
            for attempt in 0..self.max_attempts {
                let Some(admission) = self.breakers.admit(provider_id) else {
                    tracing::debug!(provider = %candidate.provider.name, "circuit open; skipping");
                    break;
                };
                let result = tokio::select! {
                    () = cancel.cancelled() => return Err(OpenError::Cancelled),
                    r = tokio::time::timeout(self.first_token_timeout, self.first_token(candidate, &req)) => r,
                };
                let err = match result {
                    Ok(Ok((stream, first))) => {
                        self.breakers.success(provider_id, &candidate.provider.name);
                        return Ok(Opened {
                            stream,
                            first,
                            candidate: candidate.clone(),
                        });
                    }
                    Ok(Err(e)) => e,
                    Err(_) => ProviderError::Timeout,
                };
                if err.counts_against_provider() {
                    self.breakers.failure(provider_id, &candidate.provider.name);
                } else {
                    // It answered, refusing only this request: it is up (and a trial
                    // request of a half-open circuit must not stay in flight forever).
                    self.breakers.success(provider_id, &candidate.provider.name);
                }
                // The verdict is in: a half-open circuit's trial ends here, not after the
                // wait below, in which the circuit may open and half-open again and admit
                // another trial (whose flag a late drop of this one would clear).
                drop(admission);
                metrics::counter!("ai_provider_errors_total", "kind" => err.kind(), "provider" => candidate.provider.name.clone()).increment(1);
                tracing::warn!(provider = %candidate.provider.name, model = %candidate.model, attempt, error = %err, "AI provider call failed");
                let retry = err.is_retryable() && attempt + 1 < self.max_attempts;
                let wait = match &err {
                    ProviderError::Status {
                        retry_after: Some(after),
                        ..
                    } => (*after <= MAX_RETRY_AFTER).then_some(*after),
                    _ => Some(self.backoff(attempt)),
                };
                last = Some(err);
                match (retry, wait) {
                    (true, Some(wait)) => tokio::select! {
                        () = cancel.cancelled() => return Err(OpenError::Cancelled),
                        () = tokio::time::sleep(wait) => {}
                    },
                    _ => break,
                }
            }
        }
        Err(match last {
            Some(last) => OpenError::AllFailed { last },
            None => OpenError::AllOpen,
        })
    }

    /// Full jitter: a random delay between zero and the exponential bound.
    fn backoff(&self, attempt: u32) -> Duration {
        let bound = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(MAX_BACKOFF);
        let millis = bound.as_millis() as u64;
        Duration::from_millis(if millis == 0 {
            0
        } else {
            rand::thread_rng().gen_range(0..=millis)
        })
    }

    async fn first_token(
        &self,
        candidate: &Candidate,
        req: &ChatRequest,
    ) -> Result<(ProviderStream, Vec<StreamEvent>), ProviderError> {
        let p = &candidate.provider;
        let mut stream = self.client.stream(p, req).await?;
        let mut first = Vec::new();
        loop {
            match stream.next().await {
                Some(Ok(ev)) => {
                    let is_token = !matches!(ev, StreamEvent::Usage(_));
                    first.push(ev);
                    if is_token {
                        return Ok((stream, first));
                    }
                }
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(ProviderError::Interrupted(
                        "the stream ended before any answer".into(),
                    ));
                }
            }
        }
    }
}
