//! A short-lived, in-process cache of what nearly every request reads: who a session
//! cookie or API key belongs to, a member's role, a workspace's AI providers.
//!
//! Entries are tagged with the ids they depend on (a user, a workspace, a key) and are
//! forgotten the moment a change to one of those commits in this process. Every change
//! inside a workspace writes an audit event, and [`crate::audit`] marks the workspace
//! stale on the transaction doing it, so a new kind of change cannot forget to
//! invalidate. With Redis configured, every forget is also sent to the other replicas
//! ([`HotCache::outbox`], [`crate::replicas`]); without it, or while Redis is away, they
//! see a change when their entry's TTL runs out (`NEXUS_CACHE_SECONDS`, 0 turns the cache
//! off).
//!
//! A reader that raced a change must not put back what it read before the change: it
//! takes [`HotCache::generation`] before reading, and [`HotCache::put`] drops the value if
//! anything was forgotten since.
//!
//! Entries read on nearly every request are refreshed ahead of their expiry
//! ([`HotCache::get_or_load_ahead`], [`HotCache::get_ahead`]): the first request in the
//! last quarter of an entry's life is answered from it and starts a reload in the
//! background, so a steady stream of requests never waits for the database to refill the
//! cache (measured: one AI message in eight paid 2–4 ms for it at the 5 s default).
//!
//! Metrics: `hot_cache_lookups_total{kind, outcome="hit"|"miss"}` and
//! `hot_cache_refreshes_total{kind, outcome="stored"|"raced"|"failed"}`.

use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Above this many entries, expired ones are swept on insert; if that is not enough the
/// cache starts over. Bounds memory when many sessions come and go.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    tags: Vec<Uuid>,
    stored: Instant,
    /// A reload of this entry is under way: no other request starts one.
    refreshing: bool,
}

pub struct HotCache {
    ttl: Duration,
    /// By kind, then key: a lookup by `&str` then needs no allocation.
    entries: Mutex<HashMap<&'static str, HashMap<String, Entry>>>,
    generation: AtomicU64,
    /// Where this replica's forgets go for the others, once something takes them.
    outbox: OnceLock<mpsc::UnboundedSender<Forget>>,
}

/// A forget, as sent between replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "forget", rename_all = "snake_case")]
pub enum Forget {
    /// Every entry tagged with any of these ids.
    Tagged { tags: Vec<Uuid> },
    /// One entry.
    Entry { kind: String, key: String },
    /// Everything: the sender lost some of its forgets and cannot say which.
    Everything,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotCache").field("ttl", &self.ttl).finish()
    }
}

/// A snapshot of the cache's invalidation counter, taken before reading the database.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

/// The right, given to one request, to reload an entry that is about to expire (see
/// [`HotCache::get_ahead`] and [`HotCache::refresh`]).
#[derive(Debug)]
#[must_use = "the entry is not refreshed again until this is passed to HotCache::refresh"]
pub struct Refresh {
    read_at: Generation,
    kind: &'static str,
    key: String,
}

impl HotCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            outbox: OnceLock::new(),
        }
    }

    /// From now on, every [`HotCache::forget`] and [`HotCache::forget_tagged`] is also
    /// sent here, for the other replicas. Called once, by whoever carries them.
    pub fn outbox(&self) -> Option<mpsc::UnboundedReceiver<Forget>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.outbox.set(tx).ok()?;
        Some(rx)
    }

    fn send(&self, forget: impl FnOnce() -> Forget) {
        if let Some(outbox) = self.outbox.get() {
            // Closed only when the carrier stopped (shutdown): nothing left to tell.
            let _ = outbox.send(forget());
        }
    }

    /// A forget another replica made: applied here, not sent on.
    pub fn apply(&self, forget: &Forget) {
        match forget {
            Forget::Tagged { tags } => self.forget_tagged_here(tags),
            Forget::Entry { kind, key } => self.forget_here(kind, key),
            Forget::Everything => self.clear(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, HashMap<String, Entry>>> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// The live value under `kind`/`key`, if any.
    pub fn get<T: Any + Send + Sync>(&self, kind: &'static str, key: &str) -> Option<Arc<T>> {
        self.lookup(kind, key, false).map(|(value, _)| value)
    }

    /// [`HotCache::get`], and a [`Refresh`] for the first caller to find the entry in the
    /// last quarter of its life: it should reload the value with [`HotCache::refresh`],
    /// while it (and everyone else) goes on with the one it got.
    pub fn get_ahead<T: Any + Send + Sync>(
        &self,
        kind: &'static str,
        key: &str,
    ) -> Option<(Arc<T>, Option<Refresh>)> {
        self.lookup(kind, key, true)
    }

    fn lookup<T: Any + Send + Sync>(
        &self,
        kind: &'static str,
        key: &str,
        claim_refresh: bool,
    ) -> Option<(Arc<T>, Option<Refresh>)> {
        if self.ttl.is_zero() {
            return None;
        }
        let found = {
            let mut entries = self.entries();
            entries
                .get_mut(kind)
                .and_then(|of_kind| of_kind.get_mut(key))
                .and_then(|entry| {
                    let age = entry.stored.elapsed();
                    if age >= self.ttl {
                        return None;
                    }
                    let value = entry.value.clone().downcast::<T>().ok()?;
                    let due = claim_refresh && !entry.refreshing && age >= self.refresh_from();
                    if due {
                        entry.refreshing = true;
                    }
                    Some((value, due))
                })
        };
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("hot_cache_lookups_total", "kind" => kind, "outcome" => outcome)
            .increment(1);
        let (value, due) = found?;
        // Taken after the claim: a forget from here on drops the reload's value.
        let refresh = due.then(|| Refresh {
            read_at: self.generation(),
            kind,
            key: key.to_owned(),
        });
        Some((value, refresh))
    }

    /// The age from which a hit starts a refresh: the last quarter of the TTL.
    fn refresh_from(&self) -> Duration {
        self.ttl - self.ttl / 4
    }

    /// Store what `reload` reads, in the background, unless a forget raced it. `None`
    /// (the row is gone, or the read failed) leaves the entry to expire, and the next
    /// request after that reads the database itself and gets the real answer.
    pub fn refresh<T>(
        self: &Arc<Self>,
        refresh: Refresh,
        tags: Vec<Uuid>,
        reload: impl Future<Output = Option<T>> + Send + 'static,
    ) -> tokio::task::JoinHandle<()>
    where
        T: Any + Send + Sync,
    {
        let cache = self.clone();
        tokio::spawn(async move {
            let Refresh { read_at, kind, key } = refresh;
            let outcome = match reload.await {
                Some(value) => {
                    if cache.put(read_at, kind, key.clone(), tags, Arc::new(value)) {
                        "stored"
                    } else {
                        "raced"
                    }
                }
                None => "failed",
            };
            if outcome != "stored" {
                // Another request in the rest of the entry's life may try again.
                let mut entries = cache.entries();
                if let Some(entry) = entries.get_mut(kind).and_then(|k| k.get_mut(&key)) {
                    entry.refreshing = false;
                }
            }
            metrics::counter!("hot_cache_refreshes_total", "kind" => kind, "outcome" => outcome)
                .increment(1);
        })
    }

    /// Store a value read from the database after `read_at` was taken; dropped (false)
    /// if anything was forgotten in between.
    pub fn put<T: Any + Send + Sync>(
        &self,
        read_at: Generation,
        kind: &'static str,
        key: String,
        tags: Vec<Uuid>,
        value: Arc<T>,
    ) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let mut entries = self.entries();
        // Checked under the lock that `forget_tagged` also takes, so a forget cannot slip
        // between this check and the insert.
        if self.generation.load(Ordering::Acquire) != read_at.0 {
            return false;
        }
        if entries.values().map(HashMap::len).sum::<usize>() >= MAX_ENTRIES {
            let ttl = self.ttl;
            for of_kind in entries.values_mut() {
                of_kind.retain(|_, e| e.stored.elapsed() < ttl);
            }
            if entries.values().map(HashMap::len).sum::<usize>() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.entry(kind).or_default().insert(
            key,
            Entry {
                value,
                tags,
                stored: Instant::now(),
                refreshing: false,
            },
        );
        true
    }

    /// The cached value, or `load`'s, which is then cached (unless a change raced it).
    pub async fn get_or_load<T, E, Fut>(
        &self,
        kind: &'static str,
        key: String,
        tags: Vec<Uuid>,
        load: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        Fut: Future<Output = Result<T, E>>,
    {
        self.get_or_load_tagged(kind, key, load, |_| tags).await
    }

    /// [`HotCache::get_or_load`] for values read on nearly every request, refreshed
    /// ahead of their expiry (see the module docs). `load` reads with what the request
    /// holds (its transaction); `reload` is called only when a refresh is due and returns
    /// a read that runs after the request is gone, so it opens its own transaction.
    pub async fn get_or_load_ahead<T, E, Fut, Reload>(
        self: &Arc<Self>,
        kind: &'static str,
        key: String,
        tags: Vec<Uuid>,
        load: impl FnOnce() -> Fut,
        reload: impl FnOnce() -> Reload,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        Fut: Future<Output = Result<T, E>>,
        Reload: Future<Output = Option<T>> + Send + 'static,
    {
        if let Some((hit, refresh)) = self.get_ahead::<T>(kind, &key) {
            if let Some(refresh) = refresh {
                self.refresh(refresh, tags, reload());
            }
            return Ok(hit);
        }
        self.load_and_put(kind, key, load, |_| tags).await
    }

    /// [`HotCache::get_or_load`] for values whose tags come from what was loaded (a list
    /// tagged with each of its members).
    pub async fn get_or_load_tagged<T, E, Fut>(
        &self,
        kind: &'static str,
        key: String,
        load: impl FnOnce() -> Fut,
        tags: impl FnOnce(&T) -> Vec<Uuid>,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(hit) = self.get::<T>(kind, &key) {
            return Ok(hit);
        }
        self.load_and_put(kind, key, load, tags).await
    }

    async fn load_and_put<T, E, Fut>(
        &self,
        kind: &'static str,
        key: String,
        load: impl FnOnce() -> Fut,
        tags: impl FnOnce(&T) -> Vec<Uuid>,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        Fut: Future<Output = Result<T, E>>,
    {
        let read_at = self.generation();
        let value = Arc::new(load().await?);
        self.put(read_at, kind, key, tags(&value), value.clone());
        Ok(value)
    }

    /// Forget one entry (a session that ended), here and on every replica.
    pub fn forget(&self, kind: &'static str, key: &str) {
        self.forget_here(kind, key);
        self.send(|| Forget::Entry {
            kind: kind.to_owned(),
            key: key.to_owned(),
        });
    }

    fn forget_here(&self, kind: &str, key: &str) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(of_kind) = entries.get_mut(kind) {
            of_kind.remove(key);
        }
    }

    /// Make every entry `by` older (tests of expiry and refresh, as time passing would).
    pub fn age(&self, by: Duration) {
        let mut entries = self.entries();
        for entry in entries.values_mut().flat_map(HashMap::values_mut) {
            entry.stored = entry.stored.checked_sub(by).unwrap_or(entry.stored);
        }
    }

    /// Forget everything (tests that move a row's clock back, as time passing would).
    pub fn clear(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Forget every entry that depends on any of `tags` (a user, a workspace, a key),
    /// here and on every replica.
    pub fn forget_tagged(&self, tags: &[Uuid]) {
        if tags.is_empty() {
            return;
        }
        self.forget_tagged_here(tags);
        self.send(|| Forget::Tagged {
            tags: tags.to_vec(),
        });
    }

    fn forget_tagged_here(&self, tags: &[Uuid]) {
        if tags.is_empty() {
            return;
        }
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        for of_kind in entries.values_mut() {
            of_kind.retain(|_, e| !e.tags.iter().any(|t| tags.contains(t)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_lives_until_its_ttl() {
        let cache = HotCache::new(Duration::from_millis(50));
        cache.put(cache.generation(), "k", "a".into(), vec![], Arc::new(1_u32));
        assert_eq!(cache.get::<u32>("k", "a").as_deref(), Some(&1));
        assert!(cache.get::<u32>("other", "a").is_none());
        assert!(
            cache.get::<String>("k", "a").is_none(),
            "wrong type is a miss"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get::<u32>("k", "a").is_none());
    }

    #[test]
    fn forgetting_a_tag_drops_every_entry_that_depends_on_it() {
        let cache = HotCache::new(Duration::from_secs(60));
        let (ws, user, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        cache.put(
            cache.generation(),
            "m",
            "1".into(),
            vec![ws, user],
            Arc::new(1_u8),
        );
        cache.put(
            cache.generation(),
            "m",
            "2".into(),
            vec![other],
            Arc::new(2_u8),
        );
        cache.forget_tagged(&[user]);
        assert!(cache.get::<u8>("m", "1").is_none());
        assert!(cache.get::<u8>("m", "2").is_some());
        cache.forget("m", "2");
        assert!(cache.get::<u8>("m", "2").is_none());
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_stored() {
        let cache = HotCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.forget_tagged(&[Uuid::now_v7()]);
        cache.put(before, "m", "1".into(), vec![], Arc::new(1_u8));
        assert!(cache.get::<u8>("m", "1").is_none());
    }

    #[tokio::test]
    async fn get_or_load_loads_once_and_passes_errors_through() {
        let cache = HotCache::new(Duration::from_secs(60));
        let loads = std::sync::atomic::AtomicU32::new(0);
        for _ in 0..3 {
            let v = cache
                .get_or_load("k", "a".into(), vec![], || async {
                    loads.fetch_add(1, Ordering::Relaxed);
                    Ok::<_, ()>(7_u8)
                })
                .await;
            assert_eq!(v.as_deref(), Ok(&7));
        }
        assert_eq!(loads.load(Ordering::Relaxed), 1);
        let failed = cache
            .get_or_load("k", "b".into(), vec![], || async { Err::<u8, _>("no") })
            .await;
        assert_eq!(failed, Err("no"));
        assert!(
            cache.get::<u8>("k", "b").is_none(),
            "a failure is not cached"
        );
    }

    #[test]
    fn forgets_go_to_the_outbox_and_remote_ones_do_not() {
        let cache = HotCache::new(Duration::from_secs(60));
        let mut outbox = cache.outbox().expect("first taker");
        assert!(cache.outbox().is_none(), "one carrier");
        let (ws, other) = (Uuid::now_v7(), Uuid::now_v7());
        cache.put(
            cache.generation(),
            "m",
            "1".into(),
            vec![ws],
            Arc::new(1_u8),
        );
        cache.put(cache.generation(), "s", "k".into(), vec![], Arc::new(2_u8));
        cache.forget_tagged(&[ws]);
        cache.forget("s", "k");
        assert_eq!(outbox.try_recv(), Ok(Forget::Tagged { tags: vec![ws] }));
        assert_eq!(
            outbox.try_recv(),
            Ok(Forget::Entry {
                kind: "s".into(),
                key: "k".into()
            })
        );
        assert!(cache.get::<u8>("m", "1").is_none());
        assert!(cache.get::<u8>("s", "k").is_none());

        // What another replica forgot is applied, not echoed back.
        cache.put(
            cache.generation(),
            "m",
            "2".into(),
            vec![other],
            Arc::new(3_u8),
        );
        let before = cache.generation();
        cache.apply(&Forget::Tagged { tags: vec![other] });
        assert!(cache.get::<u8>("m", "2").is_none());
        cache.put(before, "m", "3".into(), vec![], Arc::new(4_u8));
        assert!(
            cache.get::<u8>("m", "3").is_none(),
            "a read that raced a remote change is not stored either"
        );
        assert!(outbox.try_recv().is_err());

        // A replica that lost forgets makes the others drop everything.
        cache.put(cache.generation(), "m", "4".into(), vec![], Arc::new(5_u8));
        cache.apply(&Forget::Everything);
        assert!(cache.get::<u8>("m", "4").is_none());
        assert!(outbox.try_recv().is_err());
    }

    /// An entry in the last quarter of its life (the TTL is 60 s, so from 45 s on).
    fn nearly_expired(cache: &HotCache) {
        cache.age(Duration::from_secs(46));
    }

    #[tokio::test]
    async fn an_entry_near_expiry_is_served_and_refreshed_in_the_background() {
        let cache = Arc::new(HotCache::new(Duration::from_secs(60)));
        cache.put(cache.generation(), "k", "a".into(), vec![], Arc::new(1_u8));
        cache.age(Duration::from_secs(44));
        assert!(
            cache.get_ahead::<u8>("k", "a").expect("alive").1.is_none(),
            "not due before the last quarter"
        );
        cache.age(Duration::from_secs(2));

        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let mut released = Some(released);
        let reloads = std::sync::atomic::AtomicU32::new(0);
        for _ in 0..3 {
            let got = cache
                .get_or_load_ahead(
                    "k",
                    "a".into(),
                    vec![],
                    || async { Err::<u8, _>("a hit must not load") },
                    || {
                        reloads.fetch_add(1, Ordering::Relaxed);
                        let released = released.take().expect("one reload");
                        async move {
                            released.await.ok()?;
                            Some(2_u8)
                        }
                    },
                )
                .await;
            // The reload waits for `release`: this answer did not wait for it.
            assert_eq!(got.as_deref(), Ok(&1));
        }
        assert_eq!(reloads.load(Ordering::Relaxed), 1, "one reload per entry");

        release.send(()).expect("the reload waits");
        for _ in 0..1000 {
            if cache.get::<u8>("k", "a").as_deref() == Some(&2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(cache.get::<u8>("k", "a").as_deref(), Some(&2));
        // Stored afresh: 46 s later it is alive again, and due again.
        nearly_expired(&cache);
        let (value, refresh) = cache.get_ahead::<u8>("k", "a").expect("alive");
        assert_eq!(*value, 2);
        assert!(refresh.is_some());
    }

    #[tokio::test]
    async fn a_forget_during_a_refresh_wins() {
        let cache = Arc::new(HotCache::new(Duration::from_secs(60)));
        let ws = Uuid::now_v7();
        cache.put(
            cache.generation(),
            "k",
            "a".into(),
            vec![ws],
            Arc::new(1_u8),
        );
        nearly_expired(&cache);
        let (_, refresh) = cache.get_ahead::<u8>("k", "a").expect("alive");
        let refresh = refresh.expect("due");
        cache.forget_tagged(&[ws]);
        cache
            .refresh(refresh, vec![ws], async { Some(2_u8) })
            .await
            .expect("refresh task");
        assert!(
            cache.get::<u8>("k", "a").is_none(),
            "what was read before the forget is not put back"
        );
    }

    #[tokio::test]
    async fn a_refresh_that_fails_leaves_the_entry_for_another_try() {
        let cache = Arc::new(HotCache::new(Duration::from_secs(60)));
        cache.put(cache.generation(), "k", "a".into(), vec![], Arc::new(1_u8));
        nearly_expired(&cache);
        let (_, refresh) = cache.get_ahead::<u8>("k", "a").expect("alive");
        cache
            .refresh(refresh.expect("due"), vec![], async { None::<u8> })
            .await
            .expect("refresh task");
        let (value, refresh) = cache.get_ahead::<u8>("k", "a").expect("alive");
        assert_eq!(*value, 1);
        assert!(refresh.is_some(), "the next request may try again");
    }

    #[test]
    fn a_zero_ttl_turns_the_cache_off() {
        let cache = HotCache::new(Duration::ZERO);
        cache.put(cache.generation(), "k", "a".into(), vec![], Arc::new(1_u8));
        assert!(cache.get::<u8>("k", "a").is_none());
    }
}
