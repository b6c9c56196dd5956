//! Prometheus metrics: request latency per route and status, and the database pool.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use nexus_kernel::AppState;
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide recorder (installed once, shared by every server in the process).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0,
                    ],
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            // Histogram samples pile up until drained; without this, a server nobody
            // scrapes grows without bound (seen in the benchmark: gigabytes).
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The text exposition, with pool gauges read at scrape time.
pub fn render(state: &AppState) -> String {
    let Some(handle) = handle() else {
        return String::new();
    };
    let (size, idle) = pool_stats(state);
    metrics::gauge!("db_pool_connections").set(size as f64);
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
    handle.render()
}

fn pool_stats(state: &AppState) -> (u32, usize) {
    let conn = state.db.conn();
    match state.db.engine() {
        nexus_kernel::db::Engine::Postgres => {
            let p = conn.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        nexus_kernel::db::Engine::Sqlite => {
            let p = conn.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
    }
}
