//! A circuit breaker per provider: it opens after 5 consecutive failures, so a dead
//! provider stops costing every request its timeouts; after the open period one trial
//! request goes through (half-open), and its result closes or reopens the circuit.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const FAILURE_THRESHOLD: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

/// A request let through by [`Breakers::admit`]; hold it until the attempt ends.
pub struct Admission<'a> {
    _trial: Option<Trial<'a>>,
}

/// A half-open circuit's one trial request. After a success or a failure the circuit is
/// closed or open again and giving the trial back changes nothing; without either, it
/// lets the next request be the trial.
struct Trial<'a> {
    breakers: &'a Breakers,
    id: Uuid,
}

impl Drop for Trial<'_> {
    fn drop(&mut self) {
        self.breakers.with(self.id, |b| b.trial_in_flight = false);
    }
}

#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

pub struct Breakers {
    open_for: Duration,
    map: Mutex<HashMap<Uuid, Breaker>>,
}

impl Breakers {
    pub fn new(open_for: Duration) -> Self {
        Self {
            open_for,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, id: Uuid, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(id).or_default())
    }

    /// May a request go to this provider now? Not while its circuit is open; the one
    /// request a half-open circuit lets through holds a [`Trial`], which gives the trial
    /// back if it ends without a verdict (its answer was cancelled, or its caller gave
    /// up waiting), else the circuit would stay half-open, refusing every request.
    pub fn admit(&self, id: Uuid) -> Option<Admission<'_>> {
        let open_for = self.open_for;
        self.with(id, |b| match b.opened_at {
            None => Some(None),
            Some(at) if at.elapsed() >= open_for && !b.trial_in_flight => {
                b.trial_in_flight = true;
                Some(Some(Trial { breakers: self, id }))
            }
            Some(_) => None,
        })
        .map(|trial| Admission { _trial: trial })
    }

    #[cfg(test)]
    fn allow(&self, id: Uuid) -> bool {
        self.admit(id).map(std::mem::forget).is_some()
    }

    pub fn success(&self, id: Uuid, name: &str) {
        let was_open = self.with(id, |b| std::mem::take(b).opened_at.is_some());
        if was_open {
            tracing::info!(provider = name, "circuit closed");
            metrics::gauge!("ai_breaker_open", "provider" => name.to_owned()).set(0.0);
        }
    }

    pub fn failure(&self, id: Uuid, name: &str) {
        let opened = self.with(id, |b| {
            b.consecutive_failures += 1;
            if b.trial_in_flight || b.consecutive_failures >= FAILURE_THRESHOLD {
                b.opened_at = Some(Instant::now());
                b.trial_in_flight = false;
                true
            } else {
                false
            }
        });
        if opened {
            tracing::warn!(provider = name, "circuit opened");
            metrics::gauge!("ai_breaker_open", "provider" => name.to_owned()).set(1.0);
        }
    }

    pub fn state(&self, id: Uuid) -> BreakerState {
        let open_for = self.open_for;
        self.with(id, |b| match b.opened_at {
            None => BreakerState::Closed,
            Some(at) if at.elapsed() >= open_for => BreakerState::HalfOpen,
            Some(_) => BreakerState::Open,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_five_failures_and_half_opens_for_one_trial() {
        let b = Breakers::new(Duration::from_millis(30));
        let id = Uuid::now_v7();
        for _ in 0..4 {
            assert!(b.allow(id));
            b.failure(id, "p");
        }
        assert_eq!(b.state(id), BreakerState::Closed);
        b.failure(id, "p");
        assert_eq!(b.state(id), BreakerState::Open);
        assert!(!b.allow(id));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.state(id), BreakerState::HalfOpen);
        assert!(b.allow(id), "one trial");
        assert!(!b.allow(id), "only one");
        b.failure(id, "p");
        assert_eq!(b.state(id), BreakerState::Open, "a failed trial reopens");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(id));
        b.success(id, "p");
        assert_eq!(b.state(id), BreakerState::Closed);
    }

    #[test]
    fn an_abandoned_trial_lets_the_next_request_try() {
        let b = Breakers::new(Duration::from_millis(30));
        let id = Uuid::now_v7();
        for _ in 0..5 {
            b.failure(id, "p");
        }
        std::thread::sleep(Duration::from_millis(40));
        let trial = b.admit(id);
        assert!(trial.is_some(), "the trial");
        assert!(b.admit(id).is_none(), "only one");
        drop(trial);
        assert_eq!(b.state(id), BreakerState::HalfOpen);
        assert!(
            b.admit(id).is_some(),
            "a new trial after the first ended without a verdict"
        );
    }
}
