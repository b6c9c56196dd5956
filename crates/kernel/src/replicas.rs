//! What replicas behind one load balancer share through Redis (`NEXUS_REDIS_URL`):
//! hot-cache forgets, so a change on one replica is seen at once on all of them;
//! rate-limit counters, so a limit holds for the deployment, not per replica; and
//! announcements on topics a module names ([`Redis::announce`], [`Redis::hear`]), for
//! work only the replica doing it can touch (stopping an AI answer). Without Redis a
//! replica keeps all of it to itself, which is right when there is one.
//!
//! Redis going away never stops a request. Counters fall back to this replica's own for a
//! moment after a failed command; forgets that could not be sent are made good by telling
//! the others to forget everything once they can be sent again; and a replica that was
//! cut off from the forgets of the others forgets everything when it hears them again.
//! Between the two, at worst the hot cache's TTL bounds how stale a replica can be.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::Db;
use crate::hot_cache::Forget;

/// A slow or unreachable Redis costs a request at most this much before it falls back.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failed command, how long this replica stops asking (and logging).
const BACKOFF: Duration = Duration::from_secs(2);
/// How often the forget subscription checks that its connection is alive.
const PING_EVERY: Duration = Duration::from_secs(5);
/// At most this many forgets go out in one message.
const BATCH: usize = 256;
/// The first wait before subscribing again; it doubles up to 10 s.
const FIRST_RETRY: Duration = Duration::from_millis(100);

pub struct Redis {
    client: redis::Client,
    commands: ConnectionManager,
    prefix: String,
    /// Tells this replica's own forgets apart from the others'.
    replica: Uuid,
    started: Instant,
    /// Milliseconds since `started` before which Redis is not asked again.
    resting_until_ms: AtomicU64,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("replica", &self.replica)
            .finish()
    }
}

/// One message on the forget channel.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    from: Uuid,
    forgets: Vec<Forget>,
}

/// One message on a topic's channel.
#[derive(Debug, Serialize, Deserialize)]
struct Said {
    from: Uuid,
    said: String,
}

/// What a subscription does with what it hears.
trait Listener: Send + 'static {
    /// Subscribed, the first time or again after a failure: whatever was said while this
    /// replica was not listening is lost.
    fn subscribed(&mut self);
    /// A message, from this replica or another.
    fn heard(&mut self, payload: &[u8]);
}

/// Applies the other replicas' forgets to this one's hot cache.
struct ForgetListener {
    replica: Uuid,
    db: Db,
}

impl Listener for ForgetListener {
    fn subscribed(&mut self) {
        // Whatever the others forgot while this replica was not listening is unknown.
        self.db.cache().clear();
    }

    fn heard(&mut self, payload: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(err) => {
                tracing::warn!("ignoring a malformed cache-forget message: {err}");
                return;
            }
        };
        if envelope.from == self.replica {
            return;
        }
        for forget in &envelope.forgets {
            self.db.cache().apply(forget);
        }
    }
}

/// Passes on what the other replicas say on a topic.
struct TopicListener {
    replica: Uuid,
    topic: String,
    heard: mpsc::UnboundedSender<String>,
}

impl Listener for TopicListener {
    fn subscribed(&mut self) {}

    fn heard(&mut self, payload: &[u8]) {
        match serde_json::from_slice::<Said>(payload) {
            Ok(said) if said.from != self.replica => {
                let _ = self.heard.send(said.said);
            }
            Ok(_) => {}
            Err(err) => tracing::warn!("ignoring a malformed message on {}: {err}", self.topic),
        }
    }
}

impl Redis {
    /// Connect, or say clearly why not: a replica configured to share must not start
    /// alone without noticing.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(url).context("NEXUS_REDIS_URL is not a Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .with_context(|| format!("Redis at NEXUS_REDIS_URL did not answer ({url})"))?;
        Ok(Arc::new(Self {
            client,
            commands,
            prefix: prefix.to_owned(),
            replica: Uuid::now_v7(),
            started: Instant::now(),
            resting_until_ms: AtomicU64::new(0),
        }))
    }

    /// A Redis key or channel of this deployment.
    fn name(&self, part: &str) -> String {
        format!("{}:{part}", self.prefix)
    }

    /// The Redis key of a rate-limit window.
    fn window_key(&self, key: &str) -> String {
        format!("{}:rl:{key}", self.prefix)
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Whether to ask Redis now: not while resting after a failure.
    fn available(&self) -> bool {
        self.now_ms() >= self.resting_until_ms.load(Ordering::Relaxed)
    }

    /// Note a failed command: rest for [`BACKOFF`], and log once per rest.
    fn failed(&self, what: &str, err: &dyn std::fmt::Display) {
        let until = self.now_ms() + BACKOFF.as_millis() as u64;
        if self.resting_until_ms.swap(until, Ordering::Relaxed) <= self.now_ms() {
            tracing::warn!(
                "Redis {what} failed ({err}); this replica counts on its own and makes no announcements for {}s",
                BACKOFF.as_secs()
            );
        }
    }

    /// Count one hit on a fixed window shared by every replica: the count so far
    /// (this one included) and the milliseconds left in the window.
    pub async fn hit(&self, key: &str, window: Duration) -> Option<(u64, u64)> {
        // One round trip, atomic: the first hit of a window starts its clock.
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                r"local n = redis.call('INCR', KEYS[1])
                  local ttl = redis.call('PTTL', KEYS[1])
                  if n == 1 or ttl < 0 then
                    redis.call('PEXPIRE', KEYS[1], ARGV[1])
                    ttl = tonumber(ARGV[1])
                  end
                  return {n, ttl}",
            )
        });
        if !self.available() {
            return None;
        }
        let mut con = self.commands.clone();
        let result: redis::RedisResult<(u64, i64)> = SCRIPT
            .key(self.window_key(key))
            .arg(window.as_millis() as u64)
            .invoke_async(&mut con)
            .await;
        match result {
            Ok((count, ttl)) => Some((count, ttl.max(0) as u64)),
            Err(err) => {
                self.failed("rate-limit count", &err);
                None
            }
        }
    }

    /// The count of a shared window without adding to it, and the milliseconds left.
    pub async fn peek(&self, key: &str) -> Option<(u64, u64)> {
        if !self.available() {
            return None;
        }
        let mut con = self.commands.clone();
        let key = self.window_key(key);
        let result: redis::RedisResult<(Option<u64>, i64)> = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut con)
            .await;
        match result {
            Ok((count, ttl)) => Some((count.unwrap_or(0), ttl.max(0) as u64)),
            Err(err) => {
                self.failed("rate-limit read", &err);
                None
            }
        }
    }

    /// Drop a shared window (a successful login clears its failures).
    pub async fn reset(&self, key: &str) {
        if !self.available() {
            return;
        }
        let mut con = self.commands.clone();
        let result: redis::RedisResult<()> = redis::cmd("DEL")
            .arg(self.window_key(key))
            .query_async(&mut con)
            .await;
        if let Err(err) = result {
            self.failed("rate-limit reset", &err);
        }
    }

    /// Send this replica's hot-cache forgets to the others and apply theirs here, in two
    /// tasks that run until `stop`.
    pub fn share_forgets(self: &Arc<Self>, db: &Db, stop: &CancellationToken) {
        if let Some(outbox) = db.cache().outbox() {
            tokio::spawn(self.clone().publish(outbox, stop.clone()));
        }
        let listener = ForgetListener {
            replica: self.replica,
            db: db.clone(),
        };
        tokio::spawn(
            self.clone()
                .subscribe(self.name("forget"), listener, stop.clone()),
        );
    }

    /// Say `message` on `topic` to the other replicas (not to this one); whether Redis
    /// took it within [`COMMAND_TIMEOUT`]. Only replicas hearing the topic at that moment
    /// get it: nothing is kept. Announcements are rare and each is awaited by someone, so
    /// unlike counters they are tried even while this replica rests after a failure.
    pub async fn announce(&self, topic: &str, message: &str) -> bool {
        let said = serde_json::to_string(&Said {
            from: self.replica,
            said: message.to_owned(),
        })
        .expect("a message serialises");
        let mut con = self.commands.clone();
        // The connection's own timeout covers the reply, not a reconnection.
        let sent = tokio::time::timeout(
            COMMAND_TIMEOUT,
            redis::cmd("PUBLISH")
                .arg(self.name(&format!("say:{topic}")))
                .arg(said)
                .query_async::<()>(&mut con),
        )
        .await;
        match sent {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                self.failed(&format!("announcement on {topic}"), &err);
                false
            }
            Err(_) => {
                self.failed(&format!("announcement on {topic}"), &"timed out");
                false
            }
        }
    }

    /// What the other replicas [`announce`](Self::announce) on `topic`, from now until
    /// `stop`; a subscription that fails is made again, and what was said meanwhile is
    /// lost.
    pub fn hear(
        self: &Arc<Self>,
        topic: &str,
        stop: &CancellationToken,
    ) -> mpsc::UnboundedReceiver<String> {
        let (heard, receiver) = mpsc::unbounded_channel();
        let listener = TopicListener {
            replica: self.replica,
            topic: topic.to_owned(),
            heard,
        };
        tokio::spawn(self.clone().subscribe(
            self.name(&format!("say:{topic}")),
            listener,
            stop.clone(),
        ));
        receiver
    }

    async fn publish(
        self: Arc<Self>,
        mut outbox: mpsc::UnboundedReceiver<Forget>,
        stop: CancellationToken,
    ) {
        let channel = self.name("forget");
        let mut lost_some = false;
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => return,
                next = outbox.recv() => match next {
                    Some(forget) => forget,
                    None => return,
                },
            };
            let mut forgets = vec![first];
            while forgets.len() < BATCH
                && let Ok(more) = outbox.try_recv()
            {
                forgets.push(more);
            }
            if lost_some {
                forgets = vec![Forget::Everything];
            }
            let message = serde_json::to_string(&Envelope {
                from: self.replica,
                forgets,
            })
            .expect("forgets serialise");
            let mut con = self.commands.clone();
            let sent: redis::RedisResult<()> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(message)
                .query_async(&mut con)
                .await;
            match sent {
                Ok(()) => lost_some = false,
                Err(err) => {
                    // The others keep what this change made stale: the next message that
                    // gets through tells them to drop everything.
                    lost_some = true;
                    self.failed("cache forget", &err);
                }
            }
        }
    }

    /// Listen on `channel` until `stop`, subscribing again whenever the subscription
    /// fails.
    async fn subscribe(
        self: Arc<Self>,
        channel: String,
        mut listener: impl Listener,
        stop: CancellationToken,
    ) {
        let mut delay = FIRST_RETRY;
        while !stop.is_cancelled() {
            if let Err(err) = self
                .listen(&channel, &mut listener, &stop, &mut delay)
                .await
            {
                tracing::warn!(
                    "Redis subscription to {channel} failed ({err:#}); retrying in {delay:?}"
                );
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }

    /// One subscription, until its connection fails or `stop`. Once subscribed, the next
    /// failure starts its retries from `FIRST_RETRY` again.
    async fn listen(
        &self,
        channel: &str,
        listener: &mut impl Listener,
        stop: &CancellationToken,
        retry_delay: &mut Duration,
    ) -> anyhow::Result<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        *retry_delay = FIRST_RETRY;
        let (mut sink, mut messages) = pubsub.split();
        listener.subscribed();
        let mut ping = tokio::time::interval(PING_EVERY);
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                _ = ping.tick() => {
                    tokio::time::timeout(COMMAND_TIMEOUT * 4, sink.ping::<redis::Value>())
                        .await
                        .context("ping timed out")??;
                }
                message = messages.next() => {
                    let Some(message) = message else {
                        anyhow::bail!("connection closed");
                    };
                    listener.heard(message.get_payload_bytes());
                }
            }
        }
    }
}
