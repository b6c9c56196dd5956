//! Replicas behind one load balancer: two servers on one PostgreSQL database, sharing one
//! Redis. A change through either is seen at once through both, a rate limit holds for
//! the pair, and Redis going away stops no request.

use std::time::{Duration, Instant};

use nexus_kernel::config::Settings;
use nexus_testkit::{Client, Engine, TestApp, member_with_role, test_redis_url};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::{assert_error, owner};

/// Long enough that a test never sees an entry expire: what the others see, they see
/// because they were told.
const NEVER_EXPIRES: u64 = 600;

/// Two replicas sharing `redis` (a URL), each adjusted by `tweak`; `None` skips (no
/// PostgreSQL or no Redis, and neither required).
async fn replicas(
    redis: Option<String>,
    tweak: impl Fn(&mut Settings) + Copy,
) -> Option<(TestApp, TestApp)> {
    let redis = redis?;
    let prefix = format!("nexus-test-{}", uuid::Uuid::new_v4().simple());
    let a = TestApp::spawn_with(Engine::Postgres, |s| {
        s.redis_url = Some(redis);
        s.redis_prefix = prefix;
        s.cache_seconds = NEVER_EXPIRES;
        tweak(s);
    })
    .await?;
    let b = a.replica(tweak).await;
    Some((a, b))
}

/// Ask until `done` holds: a forget crosses Redis in a moment, not within the request
/// that made the change.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "{what} never happened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_is_seen_through_the_other() {
    let Some((a, b)) = replicas(test_redis_url().await, |_| {}).await else {
        return;
    };
    let (o, ws, _) = owner(&a, "o@example.com").await;
    let (m, _) = member_with_role(&a.base, &o, &ws, "m@example.com", "admin").await;
    let (o_b, m_b) = (o.against(&b.base), m.against(&b.base));
    // A third replica without Redis shows what the other two would do without it.
    let alone = a
        .replica(|s| {
            s.redis_url = None;
        })
        .await;
    let o_alone = o.against(&alone.base);

    // Warm every cache on B (and on the lone replica).
    assert_eq!(
        o_b.get("/api/v1/me").await.body["workspaces"][0]["name"],
        "Acme"
    );
    assert_eq!(
        o_alone.get("/api/v1/me").await.body["workspaces"][0]["name"],
        "Acme"
    );
    let secret = format!("/api/v1/workspaces/{ws}/secrets/S");
    assert_eq!(m_b.put(&secret, json!({ "value": "v" })).await.status, 200);

    // A rename through A: B's cached workspace list follows.
    o.patch(
        &format!("/api/v1/workspaces/{ws}"),
        json!({ "name": "Renamed" }),
    )
    .await;
    eventually("the rename reaching B", async || {
        o_b.get("/api/v1/me").await.body["workspaces"][0]["name"] == "Renamed"
    })
    .await;
    assert_eq!(
        o_alone.get("/api/v1/me").await.body["workspaces"][0]["name"],
        "Acme",
        "without Redis a replica keeps its entry until it expires"
    );

    // A demotion through A: B stops taking the member's writes.
    let demote = o
        .patch(
            &format!(
                "/api/v1/workspaces/{ws}/members/{}",
                member_id(&o, &ws).await
            ),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(demote.status, 200, "{}", demote.text);
    eventually("the demotion reaching B", async || {
        m_b.put(&secret, json!({ "value": "w" })).await.status == 403
    })
    .await;

    // A logout through A ends the session on B too.
    assert_eq!(o.post("/api/v1/auth/logout", json!({})).await.status, 204);
    eventually("the logout reaching B", async || {
        o_b.get("/api/v1/me").await.status == 401
    })
    .await;
}

/// The user id of the member `m@example.com`.
async fn member_id(o: &Client, ws: &str) -> String {
    let list = o.get(&format!("/api/v1/workspaces/{ws}/members")).await;
    list.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["email"] == "m@example.com")
        .and_then(|m| m["user_id"].as_str())
        .expect("member listed")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_replicas() {
    let Some((a, b)) = replicas(test_redis_url().await, |s| {
        s.plans.free.api_requests_per_minute = 6;
        s.login_failures_before_lockout = 3;
    })
    .await
    else {
        return;
    };
    let (o, ws, _) = owner(&a, "o@example.com").await;
    let key = o.create_key(&ws, "viewer").await;
    let (k_a, k_b) = (
        Client::with_key(&a.base, &key),
        Client::with_key(&b.base, &key),
    );
    let path = format!("/api/v1/workspaces/{ws}/members");
    for k in [&k_a, &k_b, &k_a, &k_b, &k_a, &k_b] {
        assert_eq!(k.get(&path).await.status, 200);
    }
    for k in [&k_a, &k_b] {
        let refused = k.get(&path).await;
        assert_error(&refused, 429, "rate_limited");
        let retry: u64 = refused.headers["retry-after"]
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry), "{retry}");
    }

    // Failed logins count against the account on every replica; a success clears them.
    let (x_a, x_b) = (a.client(), b.client());
    for x in [&x_a, &x_b] {
        assert_eq!(x.login("o@example.com", "wrong password").await.status, 401);
    }
    assert_eq!(
        x_a.login("o@example.com", nexus_testkit::PASSWORD)
            .await
            .status,
        200
    );
    for x in [&x_a, &x_b, &x_a] {
        assert_eq!(x.login("o@example.com", "wrong password").await.status, 401);
    }
    assert_error(
        &x_b.login("o@example.com", nexus_testkit::PASSWORD).await,
        429,
        "too_many_attempts",
    );
}

/// Redis behind a connection this test can cut, as a network partition would.
struct CuttableRedis {
    url: String,
    cut: tokio_util::sync::CancellationToken,
}

impl CuttableRedis {
    async fn start(redis: &str) -> Self {
        let upstream = redis
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("redis://{}", listener.local_addr().expect("addr"));
        let cut = tokio_util::sync::CancellationToken::new();
        let cut_all = cut.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if cut_all.is_cancelled() {
                    let _ = inbound.shutdown().await;
                    continue;
                }
                let upstream = upstream.clone();
                let cut = cut_all.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cut.cancelled() => {}
                    }
                });
            }
        });
        Self { url, cut }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_on_while_redis_is_away() {
    let Some(redis) = test_redis_url().await else {
        return;
    };
    let proxy = CuttableRedis::start(&redis).await;
    let Some((a, b)) = replicas(Some(proxy.url.clone()), |s| {
        s.plans.free.api_requests_per_minute = 1_000;
    })
    .await
    else {
        return;
    };
    let (o, ws, _) = owner(&a, "o@example.com").await;
    let key = o.create_key(&ws, "admin").await;
    let k_b = Client::with_key(&b.base, &key);
    let path = format!("/api/v1/workspaces/{ws}/members");
    assert_eq!(k_b.get(&path).await.status, 200);

    proxy.cut.cancel();
    for _ in 0..5 {
        assert_eq!(k_b.get(&path).await.status, 200, "counted on B alone");
        let write = k_b
            .put(
                &format!("/api/v1/workspaces/{ws}/secrets/S"),
                json!({ "value": "v" }),
            )
            .await;
        assert_eq!(write.status, 200, "{}", write.text);
    }
    assert_eq!(o.get("/api/v1/me").await.status, 200);

    // Starting a replica is different: one told to share and unable to must say so.
    let refused = nexus_server::build_state(Settings {
        redis_url: Some(proxy.url.clone()),
        ..(*a.state.settings).clone()
    })
    .await
    .expect_err("a replica that cannot reach its Redis does not start");
    assert!(
        format!("{refused:#}").contains("NEXUS_REDIS_URL"),
        "{refused:#}"
    );
}

/// A stop sent through one replica stops the answer the other one writes, also when
/// answers finish in the background; a replica without Redis cannot reach the writer
/// and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_written_by_one_replica_stops_through_the_other() {
    use crate::ai_support::{ai_owner, open_stream, parse_sse, read_until};
    use futures::StreamExt;
    use nexus_testkit::fake_ai::{Behavior, Reply};

    let Some((a, b)) = replicas(test_redis_url().await, |s| {
        s.ai_finish_in_background = true;
    })
    .await
    else {
        return;
    };
    let alone = a
        .replica(|s| {
            s.redis_url = None;
        })
        .await;
    let (fake, o, ws, conv) = ai_owner(&a, "Stop me").await;
    let (o_b, o_alone) = (o.against(&b.base), o.against(&alone.base));
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(300)).delay(Duration::from_millis(20)),
    ));
    let mut body = open_stream(&o, &ws, &conv, json!({ "content": "go on" }))
        .await
        .bytes_stream();
    let mut text = read_until(&mut body, "event: delta", 1).await;
    let events = parse_sse(&text);
    let answer = events
        .iter()
        .find(|e| e.name == "message")
        .and_then(|e| e.data["assistant_message_id"].as_str())
        .expect("answer id")
        .to_owned();
    let stop = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages/{answer}/stop");

    assert_error(
        &o_alone.post(&stop, json!({})).await,
        409,
        "answer_elsewhere",
    );
    assert_eq!(o_b.post(&stop, json!({})).await.status, 204);
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.expect("chunk")));
    }
    let events = parse_sse(&text);
    let end = events.last().expect("events");
    assert_eq!(end.name, "error", "{text}");
    assert_eq!(end.data["code"], "cancelled", "{text}");
    assert_eq!(end.data["assistant_message"]["status"], "interrupted");
    assert_error(&o_b.post(&stop, json!({})).await, 409, "answer_finished");
}
