//! What every handler can reach: the database, settings, the master keyring, limiters.

use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::rate_limit::RateLimiter;
use crate::replicas::Redis;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub keyring: Arc<Keyring>,
    pub limiter: Arc<RateLimiter>,
    /// The Redis the replicas share (`NEXUS_REDIS_URL`), for what one replica must tell
    /// the others; none when this replica runs alone.
    pub redis: Option<Arc<Redis>>,
    /// Cancelled when the server begins to shut down, so long-running work (AI streams)
    /// can send its final event and stop before the drain deadline.
    pub shutdown: CancellationToken,
    /// Work that outlives the request that started it: AI turns (which may finish in the
    /// background) and WebSocket sessions, which the server stops tracking once upgraded.
    /// On shutdown the server waits for it, up to the drain deadline, before it closes
    /// the database, so their final events and saves are not cut off.
    pub tasks: TaskTracker,
}
