//! Scenarios and the closed-loop runner: `concurrency` virtual users each send one request,
//! wait for the whole answer, and send the next, first for a short warm-up (not recorded)
//! and then for the measured window.

use crate::fixture::{Fixture, PASSWORD, Vu};
use reqwest::RequestBuilder;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest a budgeted scenario may run.
const BUDGET_GUARD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Login,
    Me,
    ListWorkspaces,
    ListMembers,
    AuditWriteShared,
    AuditWriteOwn,
    ListAuditEvents,
    ListAuditEventsFiltered,
}

impl Scenario {
    /// Writes come before the audit-log read so that it reads a large, real log.
    pub const ALL: [Scenario; 8] = [
        Scenario::Login,
        Scenario::Me,
        Scenario::ListWorkspaces,
        Scenario::ListMembers,
        Scenario::AuditWriteShared,
        Scenario::AuditWriteOwn,
        Scenario::ListAuditEvents,
        Scenario::ListAuditEventsFiltered,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Login => "login (POST /auth/login)",
            Scenario::Me => "GET /me",
            Scenario::ListWorkspaces => "list workspaces",
            Scenario::ListMembers => "list members",
            Scenario::AuditWriteShared => "audit write, one shared workspace",
            Scenario::AuditWriteOwn => "audit write, workspace per VU",
            Scenario::ListAuditEvents => "list audit events (50)",
            Scenario::ListAuditEventsFiltered => "list audit events, filtered (50)",
        }
    }

    /// The reads that the p95 < 5 ms goal is about. The filtered audit read is not one of
    /// them: it is there to show what a read the hot cache does not hold costs.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Scenario::Me
                | Scenario::ListWorkspaces
                | Scenario::ListMembers
                | Scenario::ListAuditEvents
        )
    }

    /// Login verifies an argon2id hash (19 MiB, 2 passes) by design, tens of ms of CPU
    /// each, so it runs a fixed number of requests instead of a time window: at 64 VUs
    /// one round of logins can take longer than the window itself.
    pub fn budget(self, concurrency: usize) -> Option<usize> {
        (self == Scenario::Login).then_some((2 * concurrency).max(48))
    }

    /// The `n`th request of VU `vu`. Reads of the shared workspace and all writes use
    /// API keys (a program's way in); `/me` and the workspace list only exist for people,
    /// so they use the browser session.
    fn request(self, fx: &Fixture, vu: &Vu, n: u64) -> RequestBuilder {
        let shared = &fx.shared_ws;
        match self {
            Scenario::Login => vu
                .program
                .post(fx.url("/api/v1/auth/login"))
                .json(&json!({ "email": vu.email, "password": PASSWORD })),
            Scenario::Me => vu.browser.get(fx.url("/api/v1/me")),
            Scenario::ListWorkspaces => vu.browser.get(fx.url("/api/v1/workspaces")),
            Scenario::ListMembers => vu
                .program
                .get(fx.url(&format!("/api/v1/workspaces/{shared}/members")))
                .bearer_auth(&vu.shared_key),
            Scenario::AuditWriteShared => vu
                .program
                .patch(fx.url(&format!("/api/v1/workspaces/{shared}")))
                .bearer_auth(&vu.shared_key)
                .json(&json!({ "name": format!("Shared {n}") })),
            Scenario::AuditWriteOwn => vu
                .program
                .patch(fx.url(&format!("/api/v1/workspaces/{}", vu.own_ws)))
                .bearer_auth(&vu.own_key)
                .json(&json!({ "name": format!("Own {n}") })),
            Scenario::ListAuditEvents => vu
                .program
                .get(fx.url(&format!(
                    "/api/v1/workspaces/{shared}/audit-events?limit=50"
                )))
                .bearer_auth(&vu.shared_key),
            // Every seeded and written event is a rename, so this is a full page too.
            Scenario::ListAuditEventsFiltered => vu
                .program
                .get(fx.url(&format!(
                    "/api/v1/workspaces/{shared}/audit-events?limit=50&action=workspace.renamed"
                )))
                .bearer_auth(&vu.shared_key),
        }
    }
}

pub struct Outcome {
    pub scenario: Scenario,
    pub concurrency: usize,
    /// Sorted latencies of the successful measured requests.
    pub latencies: Vec<Duration>,
    pub errors: usize,
    /// From the start of the measured window to the end of its last request.
    pub elapsed: Duration,
    pub first_error: Option<String>,
    pub cpu: Option<crate::cpu::Usage>,
}

impl Outcome {
    pub fn requests(&self) -> usize {
        self.latencies.len() + self.errors
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Nearest-rank percentile in milliseconds (NaN when nothing succeeded).
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

#[derive(Default)]
struct VuRecord {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    last_finish: Option<Instant>,
}

/// Send and read the whole body (the connection returns to the pool only then, and a
/// real client reads it too). Non-2xx and transport errors are errors, not panics.
async fn send(rb: RequestBuilder) -> Result<(), String> {
    let res = rb.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| format!("body: {e}"))?;
    if status.is_success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&body);
        Err(format!(
            "{status}: {}",
            text.chars().take(200).collect::<String>()
        ))
    }
}

pub async fn run(
    fx: Arc<Fixture>,
    scenario: Scenario,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
) -> anyhow::Result<Outcome> {
    let cap = scenario.budget(concurrency);
    let measure_start = Instant::now() + warmup;
    // A budgeted scenario ends when its budget is spent; the long stop is only a guard.
    let end = measure_start + if cap.is_some() { BUDGET_GUARD } else { measure };
    let taken = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..concurrency.min(fx.vus.len()) {
        let fx = fx.clone();
        let taken = taken.clone();
        set.spawn(async move {
            let vu = &fx.vus[i];
            let mut rec = VuRecord::default();
            for n in 0u64.. {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                // Only requests that start inside the window count; warm-up ones warm
                // connections, caches and the database pool.
                let measured = t0 >= measure_start;
                if measured
                    && let Some(cap) = cap
                    && taken.fetch_add(1, Ordering::Relaxed) >= cap
                {
                    break;
                }
                let result = send(scenario.request(&fx, vu, n)).await;
                let took = t0.elapsed();
                if !measured {
                    continue;
                }
                rec.last_finish = Some(Instant::now());
                match result {
                    Ok(()) => rec.latencies.push(took),
                    Err(e) => {
                        rec.errors += 1;
                        rec.first_error.get_or_insert(e);
                    }
                }
            }
            rec
        });
    }

    tokio::time::sleep_until(measure_start.into()).await;
    let cpu_before = crate::cpu::sample();

    let mut out = Outcome {
        scenario,
        concurrency,
        latencies: Vec::new(),
        errors: 0,
        elapsed: measure,
        first_error: None,
        cpu: None,
    };
    let mut last_finish = None;
    while let Some(rec) = set.join_next().await {
        let rec = rec?;
        out.latencies.extend(rec.latencies);
        out.errors += rec.errors;
        out.first_error = out.first_error.or(rec.first_error);
        last_finish = last_finish.max(rec.last_finish);
    }
    out.cpu = crate::cpu::usage(cpu_before, crate::cpu::sample());
    if let Some(last) = last_finish {
        out.elapsed = last.saturating_duration_since(measure_start);
    }
    out.latencies.sort_unstable();
    Ok(out)
}
