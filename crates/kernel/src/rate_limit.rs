//! Fixed-window rate limits (per IP on auth routes, per key or user on the API) and login
//! throttling per account. With Redis ([`crate::replicas`]) the windows are shared by
//! every replica, so a limit holds for the deployment; without it, or for the moment
//! Redis does not answer, each replica counts on its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::replicas::Redis;

#[derive(Debug, Default)]
pub struct RateLimiter {
    local: LocalWindows,
    shared: Option<Arc<Redis>>,
}

/// Seconds until a window resets, at least 1 (what `Retry-After` says).
fn seconds_left(ms: u64) -> u64 {
    ms.div_ceil(1000).max(1)
}

impl RateLimiter {
    /// Windows shared through Redis.
    pub fn shared(redis: Arc<Redis>) -> Self {
        Self {
            local: LocalWindows::default(),
            shared: Some(redis),
        }
    }

    /// Count one hit against `key`; `Err(seconds)` says how long until the window resets.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<(), u64> {
        if let Some(redis) = &self.shared
            && let Some((count, left_ms)) = redis.hit(key, window).await
        {
            return if count > u64::from(limit) {
                Err(seconds_left(left_ms))
            } else {
                Ok(())
            };
        }
        self.local.hit(key, limit, window)
    }

    /// Whether `key` is already at its limit, without counting a hit.
    pub async fn check(&self, key: &str, limit: u32, window: Duration) -> Result<(), u64> {
        if let Some(redis) = &self.shared
            && let Some((count, left_ms)) = redis.peek(key).await
        {
            return if count >= u64::from(limit) {
                Err(seconds_left(left_ms))
            } else {
                Ok(())
            };
        }
        self.local.check(key, limit, window)
    }

    pub async fn reset(&self, key: &str) {
        if let Some(redis) = &self.shared {
            redis.reset(key).await;
        }
        self.local.reset(key);
    }
}

/// This replica's own windows.
#[derive(Debug, Default)]
struct LocalWindows {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LocalWindows {
    fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = window.saturating_sub(now.duration_since(entry.0));
            return Err(seconds_left(left.as_millis() as u64));
        }
        entry.1 += 1;
        Ok(())
    }

    fn check(&self, key: &str, limit: u32, window: Duration) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((start, count)) if now.duration_since(*start) < window && *count >= limit => {
                let left = window.saturating_sub(now.duration_since(*start));
                Err(seconds_left(left.as_millis() as u64))
            }
            _ => Ok(()),
        }
    }

    fn reset(&self, key: &str) {
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_window_allows_its_limit_then_says_when_it_resets() {
        let limiter = RateLimiter::default();
        let minute = Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.hit("k", 3, minute).await, Ok(()));
        }
        let Err(secs) = limiter.hit("k", 3, minute).await else {
            panic!("the fourth hit is refused");
        };
        assert!((59..=60).contains(&secs), "{secs}");
        assert!(limiter.check("k", 3, minute).await.is_err());
        assert_eq!(limiter.hit("other", 3, minute).await, Ok(()));
        limiter.reset("k").await;
        assert_eq!(limiter.check("k", 3, minute).await, Ok(()));
        assert_eq!(limiter.hit("k", 3, minute).await, Ok(()));
    }

    #[tokio::test]
    async fn a_window_starts_over_when_it_ends() {
        let limiter = RateLimiter::default();
        let short = Duration::from_millis(30);
        assert_eq!(limiter.hit("k", 1, short).await, Ok(()));
        assert_eq!(limiter.hit("k", 1, short).await, Err(1));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(limiter.hit("k", 1, short).await, Ok(()));
    }
}
