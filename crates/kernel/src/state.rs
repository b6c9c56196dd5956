//! What every handler can reach: the database, settings, the master keyring, limiters.

use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::db::Db;
use crate::rate_limit::RateLimiter;

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub keyring: Arc<Keyring>,
    pub limiter: Arc<RateLimiter>,
    /// Cancelled when the server begins to shut down, so long-running work (AI streams)
    /// can send its final event and stop before the drain deadline.
    pub shutdown: CancellationToken,
}
