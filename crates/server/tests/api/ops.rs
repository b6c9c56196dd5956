use nexus_testkit::{Engine, TestApp};
use serde_json::json;

use crate::assert_error;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_headers() {
    let Some(app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    let c = app.client();
    assert_eq!(c.get("/healthz").await.body, json!({ "status": "ok" }));
    assert_eq!(c.get("/readyz").await.status, 200);
    c.signup("m@example.com").await;
    c.get("/api/v1/me").await;
    let metrics = c.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .text
            .contains("http_request_duration_seconds_bucket"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("route=\"/api/v1/me\""));
    assert!(metrics.text.contains("db_pool_connections"));
    // The signup waited for SQLite's writer (see `kernel::db`).
    assert!(
        metrics
            .text
            .contains("db_writer_wait_seconds_count{kind=\"ordinary\"}"),
        "{}",
        metrics.text
    );

    let r = c.get("/api/v1/me").await;
    for h in [
        "x-request-id",
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
    ] {
        assert!(r.headers.get(h).is_some(), "missing {h}");
    }
    let echoed = c
        .send(
            c.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", "trace-abc-123"),
        )
        .await;
    assert_eq!(echoed.headers["x-request-id"], "trace-abc-123");
    // The web app (or, unbuilt, a page saying how to build it) at `/` and every client route.
    for route in ["/", "/w/some-workspace/members", "/login"] {
        let page = c.get(route).await;
        assert_eq!(page.status, 200, "{route}");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html"),
            "{route}"
        );
        assert!(page.text.contains("Nexus"), "{route}");
    }
    assert_eq!(c.get("/assets/missing-file.js").await.status, 404);
    // A shared conversation's page is not for search engines; the rest of the app is.
    let shared = c.get("/shared/some-token").await;
    assert_eq!(shared.status, 200);
    assert_eq!(shared.headers["x-robots-tag"], "noindex, nofollow");
    assert!(c.get("/login").await.headers.get("x-robots-tag").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_wrong_methods_and_huge_bodies_get_the_envelope() {
    let Some(app) = TestApp::spawn_with(Engine::Sqlite, |s| s.body_limit_bytes = 64 * 1024).await
    else {
        return;
    };
    let c = app.client();
    assert_error(&c.get("/api/v1/nope").await, 404, "not_found");
    assert_error(
        &c.call(reqwest::Method::PUT, "/api/v1/auth/login", Some(json!({})))
            .await,
        405,
        "method_not_allowed",
    );
    let big = "x".repeat(200 * 1024);
    let r = c
        .post(
            "/api/v1/auth/signup",
            json!({ "email": "a@example.com", "password": big, "name": "x" }),
        )
        .await;
    assert_error(&r, 413, "payload_too_large");
}

#[test]
fn an_unknown_database_scheme_or_an_in_memory_sqlite_is_a_clear_startup_error() {
    let err = nexus_kernel::db::engine_of("mysql://localhost/db").expect_err("unsupported");
    assert!(err.to_string().contains("sqlite: or postgres://"), "{err}");
    assert!(nexus_kernel::db::engine_of("sqlite://./data/x.db").is_ok());
    for memory in ["sqlite::memory:", "sqlite://x.db?mode=memory&cache=shared"] {
        let err = nexus_kernel::db::engine_of(memory).expect_err("in-memory");
        assert!(err.to_string().contains("must name a file"), "{err}");
    }
    assert!(nexus_kernel::db::engine_of("postgresql://u@h/db").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let Some(mut app) = TestApp::spawn(Engine::Sqlite).await else {
        return;
    };
    // Signups hash a password (tens of milliseconds): start several, each on its own
    // connection, and shut down while they run.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let c = app.client();
        let body = json!({ "email": format!("drain{i}@example.com"), "password": nexus_testkit::PASSWORD, "name": "D" });
        tasks.push(tokio::spawn(async move {
            c.post("/api/v1/auth/signup", body).await.status
        }));
    }
    // Shut down once the server has read all six (a connection whose request has not
    // been read yet counts as idle and is closed): those in flight (the gauge, less the
    // scrape asking for it) and those already answered.
    let probe = app.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let metrics = probe.get("/metrics").await.text;
        let value = |line: &str| {
            line.rsplit_once(' ')
                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                .unwrap_or_default()
        };
        let in_flight: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("http_requests_in_flight "))
            .map(value)
            .sum();
        let answered: f64 = metrics
            .lines()
            .filter(|l| {
                l.starts_with("http_requests_total{") && l.contains("route=\"/api/v1/auth/signup\"")
            })
            .map(value)
            .sum();
        if in_flight - 1.0 + answered >= 6.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the signups never all arrived: {in_flight} in flight, {answered} answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    app.begin_shutdown();
    for t in tasks {
        assert_eq!(
            t.await.expect("request"),
            201,
            "an in-flight request was cut off"
        );
    }
    // New connections are refused once it has stopped.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(reqwest::get(app.url("/healthz")).await.is_err());
}
