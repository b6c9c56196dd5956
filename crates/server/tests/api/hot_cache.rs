//! The hot cache refreshes what every request reads before it expires, on both engines:
//! each kind's background reload opens its own transaction, bound as the request's was,
//! and the entry it stores keeps the next requests off the database.
//!
//! Read through `/metrics`; nextest runs each test in its own process, so the counters
//! are this test's alone.

use nexus_testkit::fake_ai::FakeAi;
use nexus_testkit::{Client, TestApp, both_engines};
use std::time::Duration;

use crate::ai_support::enable_ai;
use crate::owner;

both_engines!(busy_entries_are_refreshed_before_they_expire);

/// Every kind read on an AI request: the session, the membership, the module switches,
/// the AI catalog, and an API key.
const KINDS: [&str; 5] = ["session", "member", "modules", "ai_catalog", "api_key"];

async fn busy_entries_are_refreshed_before_they_expire(app: TestApp) {
    let ttl = Duration::from_secs(app.state.settings.cache_seconds);
    assert!(!ttl.is_zero(), "the cache is on by default");
    let fake = FakeAi::start(None).await;
    let (o, ws, _) = owner(&app, "o@example.com").await;
    enable_ai(&o, &ws, &fake, "Main").await;
    let key = Client::with_key(&app.base, &o.create_key(&ws, "member").await);
    let requests = async || {
        for (client, path) in [
            (&o, format!("/api/v1/workspaces/{ws}/conversations")),
            (&o, format!("/api/v1/workspaces/{ws}/ai/models")),
            (&key, format!("/api/v1/workspaces/{ws}/conversations")),
        ] {
            let r = client.get(&path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
        }
    };
    requests().await;
    let misses = counts(&o, "hot_cache_lookups_total", "miss").await;

    // In the last quarter of their life: answered from the cache, and each reloaded once.
    app.state.db.cache().age(ttl * 4 / 5);
    requests().await;
    let mut stored = [0; KINDS.len()];
    for _ in 0..500 {
        stored = counts(&o, "hot_cache_refreshes_total", "stored").await;
        if stored.iter().all(|&n| n >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stored, [1; KINDS.len()], "one refresh stored per kind");
    let failed = counts(&o, "hot_cache_refreshes_total", "failed").await;
    assert_eq!(failed, [0; KINDS.len()]);
    assert_eq!(
        counts(&o, "hot_cache_lookups_total", "miss").await,
        misses,
        "nothing was read on the request path"
    );

    // Past the old entries' expiry, the refreshed ones are still alive.
    app.state.db.cache().age(ttl / 2);
    requests().await;
    assert_eq!(
        counts(&o, "hot_cache_lookups_total", "miss").await,
        misses,
        "the refreshed entries answered"
    );
}

/// The counter `name` with this `outcome`, for each of [`KINDS`] (0 if absent).
async fn counts(c: &Client, name: &str, outcome: &str) -> [u64; KINDS.len()] {
    let text = c.get("/metrics").await.text;
    KINDS.map(|kind| {
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")))
            .filter(|line| line.contains(&format!("kind=\"{kind}\"")))
            .filter(|line| line.contains(&format!("outcome=\"{outcome}\"")))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    })
}
