//! A `kill -9` during a burst of writes loses no write the server acknowledged (SQLite in
//! WAL mode with synchronous=NORMAL survives process crashes; only power loss could cost
//! the last transactions).

use nexus_testkit::{Client, PASSWORD};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start(dir: &std::path::Path, port: u16) -> Child {
    start_with(dir, port, &[])
}

fn start_with(dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nexus"))
        .arg("serve")
        .envs(env.iter().copied())
        .env("NEXUS_DATA_DIR", dir)
        .env("NEXUS_LISTEN", format!("127.0.0.1:{port}"))
        .env("NEXUS_AUTH_RATE_PER_MINUTE", "100000")
        .env("NEXUS_PLANS__FREE__API_REQUESTS_PER_MINUTE", "1000000")
        .env("NEXUS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nexus")
}

async fn wait_ready(base: &str) {
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nexus did not become ready");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), port);
    wait_ready(&base).await;
    let c = Client::new(&base);
    c.signup("crash@example.com").await;
    let ws = c.create_workspace("Crash").await;

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let c = c.clone();
        let ws = ws.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("S{w}_{i}");
                let rb = c
                    .request(
                        reqwest::Method::PUT,
                        &format!("/api/v1/workspaces/{ws}/secrets/{name}"),
                    )
                    .json(&json!({ "value": "v" }));
                match rb.send().await {
                    Ok(r) if r.status().as_u16() == 200 => {
                        acknowledged.lock().expect("lock").push(name)
                    }
                    Ok(r) => panic!("write refused before the crash: {}", r.status()),
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    for w in writers {
        w.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 20,
        "only {} writes before the crash",
        acknowledged.len()
    );

    let mut child = start(dir.path(), port);
    wait_ready(&base).await;
    let c = Client::new(&base);
    assert_eq!(c.login("crash@example.com", PASSWORD).await.status, 200);
    let stored = c.get(&format!("/api/v1/workspaces/{ws}/secrets")).await;
    let names: std::collections::HashSet<String> = stored.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    let verify = c
        .get(&format!("/api/v1/workspaces/{ws}/audit-events/verify"))
        .await;
    assert_eq!(
        verify.body["ok"], true,
        "the audit chain survives the crash: {}",
        verify.text
    );
    child.kill().ok();
    child.wait().ok();
}

/// An answer streaming when the process is killed is found on a later turn (or read):
/// marked interrupted with what was checkpointed kept, and its quota reservation given
/// back, so the workspace can go on spending its month.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_a_crash_cut_off_is_recovered_and_its_reservation_given_back() {
    use crate::ai_support::{conversation, enable_ai, open_stream, read_until};
    use nexus_testkit::fake_ai::{Behavior, FakeAi, Reply};

    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // Recovery waits for the stream timeout and as long again (at most a minute), so a
    // short one keeps the test short. A month's quota of 1,500 tokens holds one
    // reservation (a short prompt and 1,000 for the answer), not two.
    let env = [
        ("NEXUS_AI_STREAM_TIMEOUT_SECS", "2"),
        ("NEXUS_AI_MAX_COMPLETION_TOKENS", "1000"),
        ("NEXUS_PLANS__FREE__MONTHLY_AI_TOKENS", "1500"),
    ];
    let mut child = start_with(dir.path(), port, &env);
    wait_ready(&base).await;
    let fake = FakeAi::start(None).await;
    let c = Client::new(&base);
    c.signup("recover@example.com").await;
    let ws = c.create_workspace("Recover").await;
    enable_ai(&c, &ws, &fake, "Fake").await;
    let conv = conversation(&c, &ws, json!({ "title": "Cut off" })).await;
    fake.push(Behavior::Reply(
        Reply::text("word ".repeat(200)).delay(Duration::from_millis(20)),
    ));
    let mut body = open_stream(&c, &ws, &conv, json!({ "content": "talk to me" }))
        .await
        .bytes_stream();
    read_until(&mut body, "event: delta", 1).await;
    // Long enough for a checkpoint of the text so far (about once a second).
    tokio::time::sleep(Duration::from_millis(1600)).await;
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    drop(body);

    let mut child = start_with(dir.path(), port, &env);
    wait_ready(&base).await;
    let c = Client::new(&base);
    assert_eq!(c.login("recover@example.com", PASSWORD).await.status, 200);
    let url = format!("/api/v1/workspaces/{ws}/conversations/{conv}/messages");
    // Not yet: a young answer may belong to another replica still streaming it.
    let early = c.get(&url).await;
    assert_eq!(
        early.body["items"][1]["status"], "streaming",
        "{}",
        early.text
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The next message is allowed: the abandoned reservation was given back first.
    fake.push(Behavior::Reply(Reply::text("back again")));
    let next = c.post(&url, json!({ "content": "are you there?" })).await;
    assert_eq!(next.status, 201, "{}", next.text);
    let list = c.get(&url).await;
    // The question, the cut answer, the new question and its answer.
    let cut = &list.body["items"][1];
    assert_eq!(cut["status"], "interrupted", "{cut}");
    assert_eq!(cut["error"]["code"], "server_restarted", "{cut}");
    assert!(
        cut["content"]
            .as_str()
            .is_some_and(|t| t.starts_with("word ")),
        "what was checkpointed is kept: {cut}"
    );
    child.kill().ok();
    child.wait().ok();
}
