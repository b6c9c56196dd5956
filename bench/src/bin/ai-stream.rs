//! AI streaming benchmark: the same answers streamed directly from the fake OpenAI-compatible
//! provider and through Nexus (SSE), at 1, 50 and 500 concurrent streams, on SQLite and
//! PostgreSQL, in two ways: all of a level's streams started in the same millisecond (a
//! burst), and that many held open with starts arriving steadily (a busy steady state).
//! Reports time to first token and time between tokens (p50/p95/p99), errors, and the
//! process's memory; writes bench/AI_RESULTS.md.
//!
//! `cargo run --release -p nexus-bench --bin ai-stream -- [--engine sqlite|postgres|both]
//! [--levels 1,50,500] [--arrival at-once|held-open|both] [--samples 30] [--words 30]
//! [--out PATH]`

/// The same allocator as the `nexus` binary, so the numbers are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The platform benchmark's CPU accounting, from /proc.
#[path = "../cpu.rs"]
mod cpu;
/// PostgreSQL reached without TLS, as on one host.
#[path = "../database.rs"]
mod database;
/// `--engine`, as the platform benchmark reads it.
#[path = "../engines.rs"]
mod engines;
/// The bare relay: the floor under any gateway on this machine.
#[path = "../relay.rs"]
mod relay;

use anyhow::{Context, Result, bail};
use nexus_testkit::fake_ai::FakeAi;
use nexus_testkit::{Client, Engine, TestApp};
use relay::Relay;
use serde_json::json;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Concurrent streams per level, unless `--levels` says otherwise.
const LEVELS: [usize; 3] = [1, 50, 500];
/// Each level runs until it has at least this many streams per path, in rounds of its
/// size: one stream alone gives one time to first token, too few for a percentile.
/// `--samples` raises it, for comparing two builds at one level, where a p95 of 30 is a
/// couple of slow commits.
const MIN_SAMPLES: usize = 30;
/// Streams of the unrecorded warm-up round (the pool's size, see `run_engine`).
const WARM_UP_STREAMS: usize = 32;
/// The fake provider's pace: one word every this often (a fast hosted model).
const WORD_EVERY: Duration = Duration::from_millis(20);
/// Words in each question unless `--words` says otherwise; the echo answer is one word
/// longer. Short, so that 500 held open is also a test of arrival rate (800 new streams a
/// second); `--words 150` gives answers of 3 s, nearer a real chat's.
const DEFAULT_WORDS: usize = 30;
/// Words in each question: `--words`, set once before any stream starts.
static WORDS: AtomicUsize = AtomicUsize::new(DEFAULT_WORDS);

fn words() -> usize {
    WORDS.load(Ordering::Relaxed)
}

/// How long one stream lasts at the provider's pace: the echo's words, one every
/// `WORD_EVERY`.
fn stream_length() -> Duration {
    WORD_EVERY * (words() as u32 + 1)
}
/// Held-open levels record streams for at least this long (longer if `--samples` needs it).
const HELD_OPEN_WINDOW: Duration = Duration::from_secs(3);

/// Which levels to run, how, and how many streams each needs at least.
struct Plan {
    levels: Vec<usize>,
    min_samples: usize,
    at_once: bool,
    held_open: bool,
}

#[derive(Default)]
struct Samples {
    ttft: Vec<f64>,
    between: Vec<f64>,
    errors: usize,
    streams: usize,
}

impl Samples {
    /// A token arrived now: the first one's time since `started`, or the gap since the
    /// one before (`last`).
    fn token(&mut self, started: Instant, last: &mut Option<Instant>) {
        let now = Instant::now();
        let since = last.unwrap_or(started);
        let ms = now.duration_since(since).as_secs_f64() * 1000.0;
        if last.is_none() {
            self.ttft.push(ms);
        } else {
            self.between.push(ms);
        }
        *last = Some(now);
    }

    fn merge(&mut self, other: Samples) {
        self.ttft.extend(other.ttft);
        self.between.extend(other.between);
        self.errors += other.errors;
        self.streams += other.streams;
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn question(i: usize) -> String {
    (0..words())
        .map(|w| format!("w{i}x{w}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Peak and current resident memory of this process (client, Nexus and the fake), MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Read an SSE body, calling `on_event` with each complete event's text as it arrives.
async fn read_events(
    mut response: reqwest::Response,
    mut on_event: impl FnMut(&str),
) -> Result<()> {
    let mut buffer = String::new();
    while let Some(chunk) = response.chunk().await? {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        let normalized = buffer.replace("\r\n", "\n");
        let mut rest = normalized.as_str();
        while let Some(end) = rest.find("\n\n") {
            on_event(&rest[..end]);
            rest = &rest[end + 2..];
        }
        buffer = rest.to_owned();
    }
    Ok(())
}

/// One stream straight from the provider: tokens are chunks with non-empty content.
async fn direct_stream(http: &reqwest::Client, base: &str, i: usize) -> Samples {
    let mut s = Samples {
        streams: 1,
        ..Default::default()
    };
    let started = Instant::now();
    let body = json!({ "model": "fake-small", "stream": true, "messages": [{ "role": "user", "content": question(i) }] });
    let response = match http
        .post(format!("{base}/chat/completions"))
        .json(&body)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r,
        _ => {
            s.errors += 1;
            return s;
        }
    };
    let mut last: Option<Instant> = None;
    let result = read_events(response, |event| {
        if event.contains("\"content\":\"") && !event.contains("\"content\":\"\"") {
            s.token(started, &mut last);
        }
    })
    .await;
    if result.is_err() || last.is_none() {
        s.errors += 1;
    }
    s
}

/// One stream through Nexus: tokens are `delta` events; the stream must end with `done`.
async fn nexus_stream(c: &Client, url: &str, i: usize) -> Samples {
    let mut s = Samples {
        streams: 1,
        ..Default::default()
    };
    let started = Instant::now();
    let rb = c
        .request(reqwest::Method::POST, url)
        .header("accept", "text/event-stream")
        .json(&json!({ "content": question(i) }));
    let response = match rb.send().await {
        Ok(r) if r.status().is_success() => r,
        _ => {
            s.errors += 1;
            return s;
        }
    };
    let mut last: Option<Instant> = None;
    let mut done = false;
    let result = read_events(response, |event| {
        if event.starts_with("event: delta") {
            s.token(started, &mut last);
        } else if event.starts_with("event: done") {
            done = true;
        }
    })
    .await;
    if result.is_err() || !done {
        s.errors += 1;
    }
    s
}

/// The three paths each level runs, as the tables name them.
const DIRECT: &str = "direct";
const RELAYED: &str = "bare relay";
const THROUGH: &str = "through Nexus";

struct Row {
    path: &'static str,
    streams: usize,
    s: Samples,
    wall: Duration,
    /// The machine's CPU while a held-open level recorded.
    cpu: Option<cpu::Usage>,
}

/// `n` streams held open: `n` workers, each starting its next stream as soon as its last
/// one ends, their first starts spread evenly over one stream's length, so that new
/// streams arrive steadily (about `n` per stream's length) instead of all in one
/// millisecond. Only streams started after that ramp and within `window` are recorded,
/// and the workers go on for one more stream's length, so every recorded stream ran with
/// `n` open around it. `stream(worker, seq)` runs a worker's `seq`th stream, or says
/// `None` when it has nothing left to send (the through-Nexus path's conversations ran
/// out: counted as an error, since the level then ran with fewer open).
/// Also returns the machine's CPU use over the recorded window.
async fn held_open<F, Fut>(
    n: usize,
    window: Duration,
    stream: F,
) -> Result<(Samples, Option<cpu::Usage>)>
where
    F: Fn(usize, usize) -> Option<Fut> + Send + Sync + 'static,
    Fut: Future<Output = Samples> + Send + 'static,
{
    let stream = Arc::new(stream);
    let began = Instant::now();
    let ramp = stream_length();
    let (record_from, record_until, stop) = (ramp, ramp + window, ramp + window + ramp);
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until((began + record_from).into()).await;
        let before = cpu::sample();
        tokio::time::sleep_until((began + record_until).into()).await;
        cpu::usage(before, cpu::sample())
    });
    let workers: Vec<_> = (0..n)
        .map(|worker| {
            let stream = stream.clone();
            let first_start = ramp.mul_f64(worker as f64 / n as f64);
            tokio::spawn(async move {
                tokio::time::sleep_until((began + first_start).into()).await;
                let mut recorded = Samples::default();
                for seq in 0.. {
                    let at = began.elapsed();
                    if at >= stop {
                        break;
                    }
                    let Some(one) = stream(worker, seq) else {
                        recorded.errors += 1;
                        break;
                    };
                    let one = one.await;
                    if at >= record_from && at < record_until {
                        recorded.merge(one);
                    }
                }
                recorded
            })
        })
        .collect();
    let mut samples = Samples::default();
    for w in workers {
        samples.merge(w.await.context("held-open worker")?);
    }
    Ok((samples, cpu.await.context("CPU sampler")?))
}

/// How long a held-open level records: the window, or longer when `min_samples` streams
/// at `n` open need it.
fn held_open_window(n: usize, min_samples: usize) -> Duration {
    HELD_OPEN_WINDOW.max(stream_length().mul_f64(min_samples as f64 / n as f64))
}

/// Conversations each held-open worker may need: one per stream it can start before it
/// stops (a stream never ends sooner than its length), the last one started just
/// before, and one to spare.
fn held_open_conversations(window: Duration) -> usize {
    let length = stream_length();
    let lasts = length + window + length;
    (lasts.as_secs_f64() / length.as_secs_f64()).ceil() as usize + 2
}

/// `n` new conversations, titled so that no title calls are mixed in; their message URLs.
async fn conversations(owner: &Client, ws: &str, n: usize) -> Result<Vec<String>> {
    let mut urls = Vec::with_capacity(n);
    for i in 0..n {
        let r = owner
            .post(
                &format!("/api/v1/workspaces/{ws}/conversations"),
                json!({ "title": format!("c{i}") }),
            )
            .await;
        anyhow::ensure!(r.status == 201, "conversation: {}", r.text);
        urls.push(format!(
            "/api/v1/workspaces/{ws}/conversations/{}/messages",
            r.id()
        ));
    }
    Ok(urls)
}

/// One message in each conversation, all at once, streamed through Nexus.
async fn through_nexus(owner: &Client, urls: Vec<String>) -> Result<Samples> {
    let tasks: Vec<_> = urls
        .into_iter()
        .enumerate()
        .map(|(i, url)| {
            let c = owner.clone();
            tokio::spawn(async move { nexus_stream(&c, &url, i).await })
        })
        .collect();
    let mut samples = Samples::default();
    for t in tasks {
        samples.merge(t.await.context("nexus stream task")?);
    }
    Ok(samples)
}

/// `n` streams from `base` (the provider, or the relay in front of it), all at once: their
/// samples, and how long the round took.
async fn at_once_direct(
    http: &reqwest::Client,
    base: &str,
    n: usize,
) -> Result<(Samples, Duration)> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, base) = (http.clone(), base.to_owned());
            tokio::spawn(async move { direct_stream(&http, &base, i).await })
        })
        .collect();
    let mut samples = Samples::default();
    for t in tasks {
        samples.merge(t.await.context("direct stream task")?);
    }
    Ok((samples, started.elapsed()))
}

async fn run_engine(engine: Engine, plan: &Plan, out: &mut String) -> Result<()> {
    let fake = FakeAi::start(None).await;
    fake.set_echo_delay(WORD_EVERY);
    let Some(app) = TestApp::spawn_with(engine, |s| {
        s.plans.free.api_requests_per_minute = u32::MAX;
        s.plans.free.monthly_ai_tokens = u64::MAX / 4;
        s.plans.free.seats = 1000;
        s.auth_rate_per_minute = u32::MAX;
        s.database_max_connections = 32;
        // Measure a warm server: the pool starts full, as it stays under steady load.
        s.database_min_connections = 32;
        s.ai_max_completion_tokens = 256;
        database::without_tls(&mut s.database_url);
        database::without_tls(&mut s.migration_database_url);
    })
    .await
    else {
        writeln!(out, "\nPostgreSQL was not reachable: skipped.")?;
        return Ok(());
    };
    let owner = app.client();
    owner.signup("bench@example.com").await;
    let ws = owner.create_workspace("Bench").await;
    owner
        .put(
            &format!("/api/v1/workspaces/{ws}/modules/assistant"),
            json!({ "enabled": true }),
        )
        .await;
    let r = owner
        .post(&format!("/api/v1/workspaces/{ws}/ai/providers"), json!({ "name": "Fake", "base_url": fake.base_url(), "models": ["fake-small", "fake-large"] }))
        .await;
    anyhow::ensure!(r.status == 201, "add provider: {}", r.text);

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()?;
    let relay = Relay::start(&fake.base_url()).await?;
    // Warm-up, not recorded: one round as wide as the pool, so that every pooled
    // connection has prepared the message path's statements, as under steady load. A
    // fresh pool hands its connections out in turn, so 30 streams one after another would
    // each meet a cold one.
    through_nexus(&owner, conversations(&owner, &ws, WARM_UP_STREAMS).await?).await?;
    let mut rows = Vec::new();
    for &n in plan.levels.iter().filter(|_| plan.at_once) {
        let rounds = plan.min_samples.div_ceil(n);
        let (mut direct, mut relayed, mut through) =
            (Samples::default(), Samples::default(), Samples::default());
        let (mut direct_wall, mut relayed_wall, mut through_wall) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _ in 0..rounds {
            let urls = conversations(&owner, &ws, n).await?;
            let (s, wall) = at_once_direct(&http, &fake.base_url(), n).await?;
            direct.merge(s);
            direct_wall += wall;
            let (s, wall) = at_once_direct(&http, relay.base_url(), n).await?;
            relayed.merge(s);
            relayed_wall += wall;

            let started = Instant::now();
            through.merge(through_nexus(&owner, urls).await?);
            through_wall += started.elapsed();
        }
        let rounds_u32 = u32::try_from(rounds).unwrap_or(u32::MAX);
        for (path, s, wall) in [
            (DIRECT, direct, direct_wall),
            (RELAYED, relayed, relayed_wall),
            (THROUGH, through, through_wall),
        ] {
            rows.push(Row {
                path,
                streams: n,
                s,
                wall: wall / rounds_u32,
                cpu: None,
            });
        }
    }
    // One stream held open is the one-stream burst level again: held-open levels start at 2.
    let mut held = Vec::new();
    for &n in plan.levels.iter().filter(|&&n| n > 1 && plan.held_open) {
        let window = held_open_window(n, plan.min_samples);
        let bases = [fake.base_url(), relay.base_url().to_owned()];
        held.extend(held_open_level(&owner, &ws, &http, bases, n, window).await?);
    }
    let (rss, peak) = memory_mib();
    writeln!(
        out,
        "\n## {}\n",
        if engine == Engine::Sqlite {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    )?;
    if !rows.is_empty() {
        writeln!(out, "### All of a level's streams started at once\n")?;
        write_rows(out, &mut rows, "wall s")?;
    }
    if !held.is_empty() {
        writeln!(out, "\n### Streams held open, new ones arriving steadily\n")?;
        write_rows(out, &mut held, "recorded s")?;
    }
    writeln!(
        out,
        "\nMemory of the benchmark process (client, Nexus and the fake provider together) after the run: {rss:.0} MiB resident, {peak:.0} MiB peak."
    )?;
    Ok(())
}

/// One held-open level, direct, through the bare relay, then through Nexus (see
/// [`held_open`]): its three rows. `bases` are the provider's and the relay's base URLs.
async fn held_open_level(
    owner: &Client,
    ws: &str,
    http: &reqwest::Client,
    bases: [String; 2],
    n: usize,
    window: Duration,
) -> Result<[Row; 3]> {
    let per_worker = held_open_conversations(window);
    // Thousands of conversations at 500: made 32 at a time, or the set-up outlasts the run.
    let making = Arc::new(tokio::sync::Semaphore::new(32));
    let makers: Vec<_> = (0..n)
        .map(|_| {
            let (owner, ws, making) = (owner.clone(), ws.to_owned(), making.clone());
            tokio::spawn(async move {
                let _turn = making.acquire_owned().await?;
                conversations(&owner, &ws, per_worker).await
            })
        })
        .collect();
    let mut urls = Vec::with_capacity(n);
    for m in makers {
        urls.push(m.await.context("conversation maker")??);
    }
    // For profiling a held-open level alone (e.g. `perf record` started after this line).
    eprintln!("held open: {n} streams, direct, through the bare relay, then through Nexus");
    let mut straight = Vec::with_capacity(2);
    for base in bases {
        let http = http.clone();
        straight.push(
            held_open(n, window, move |worker, seq| {
                let (http, base) = (http.clone(), base.clone());
                Some(async move { direct_stream(&http, &base, worker * 1000 + seq).await })
            })
            .await?,
        );
    }
    let [(direct, direct_cpu), (relayed, relayed_cpu)] =
        <[_; 2]>::try_from(straight).map_err(|_| anyhow::anyhow!("two straight paths"))?;
    let (c, urls) = (owner.clone(), Arc::new(urls));
    let (through, through_cpu) = held_open(n, window, move |worker, seq| {
        let url = urls[worker].get(seq)?.clone();
        let c = c.clone();
        Some(async move { nexus_stream(&c, &url, worker * 1000 + seq).await })
    })
    .await?;
    Ok([
        Row {
            path: DIRECT,
            streams: n,
            s: direct,
            wall: window,
            cpu: direct_cpu,
        },
        Row {
            path: RELAYED,
            streams: n,
            s: relayed,
            wall: window,
            cpu: relayed_cpu,
        },
        Row {
            path: THROUGH,
            streams: n,
            s: through,
            wall: window,
            cpu: through_cpu,
        },
    ])
}

/// One level's rows (direct, bare relay, through Nexus, per level) as a table, then what
/// the relay and Nexus added at each level. `last` names the last column (a burst
/// round's wall time, or a held-open level's recording window).
fn write_rows(out: &mut String, rows: &mut [Row], last: &str) -> Result<()> {
    writeln!(
        out,
        "| path | streams | errors | TTFT p50 | TTFT p95 | TTFT p99 | between p50 | between p95 | between p99 | {last} |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for row in rows.iter_mut() {
        let s = &mut row.s;
        writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            row.path,
            row.streams,
            s.errors,
            pct(&mut s.ttft, 50.0),
            pct(&mut s.ttft, 95.0),
            pct(&mut s.ttft, 99.0),
            pct(&mut s.between, 50.0),
            pct(&mut s.between, 95.0),
            pct(&mut s.between, 99.0),
            row.wall.as_secs_f64()
        )?;
    }
    writeln!(
        out,
        "\nOverhead of Nexus (through minus direct), milliseconds, beside the floor under any \
         gateway on this machine (bare relay minus direct):\n"
    )?;
    writeln!(
        out,
        "| streams | TTFT p95 added | between-tokens p99 added | bare relay: TTFT p95 added | bare relay: between-tokens p99 added |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|")?;
    for level in rows.chunks_mut(3) {
        let [direct, relayed, through] = level else {
            continue;
        };
        let (ttft, between) = (
            pct(&mut direct.s.ttft, 95.0),
            pct(&mut direct.s.between, 99.0),
        );
        writeln!(
            out,
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            direct.streams,
            pct(&mut through.s.ttft, 95.0) - ttft,
            pct(&mut through.s.between, 99.0) - between,
            pct(&mut relayed.s.ttft, 95.0) - ttft,
            pct(&mut relayed.s.between, 99.0) - between,
        )?;
    }
    if rows.iter().any(|r| r.cpu.is_some()) {
        write_cpu(out, rows)?;
    }
    Ok(())
}

/// Where the machine's time went while held-open levels recorded, and what one stream
/// cost it: a machine near 100% busy queues new streams, whatever each one costs.
fn write_cpu(out: &mut String, rows: &[Row]) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    writeln!(
        out,
        "\nCPU while recording (100% = all {cores} cores; `this process` is the client, Nexus and the fake provider together):\n"
    )?;
    writeln!(
        out,
        "| path | streams | recorded streams | machine busy % | this process % | of which kernel % | PostgreSQL % | machine CPU ms per stream |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for row in rows {
        let Some(cpu) = row.cpu else { continue };
        let per_stream = cpu.busy / 100.0 * cores * row.wall.as_secs_f64() * 1000.0
            / row.s.streams.max(1) as f64;
        writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} |",
            row.path,
            row.streams,
            row.s.streams,
            cpu.busy,
            cpu.bench,
            cpu.bench_sys,
            cpu.postgres,
            per_stream
        )?;
    }
    Ok(())
}

const USAGE: &str = "usage: ai-stream [--engine sqlite|postgres|both] [--levels 1,50,500] \
     [--arrival at-once|held-open|both] [--samples 30] [--words 30] [--out PATH]";

struct Args {
    engines: Vec<Engine>,
    plan: Plan,
    words: Option<usize>,
    out: String,
}

/// The command line; an unknown flag or value is an error rather than a default, so a
/// typo cannot quietly run (and write) a different benchmark.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args> {
    let mut parsed = Args {
        engines: vec![Engine::Sqlite, Engine::Postgres],
        plan: Plan {
            levels: LEVELS.to_vec(),
            min_samples: MIN_SAMPLES,
            at_once: true,
            held_open: true,
        },
        words: None,
        out: concat!(env!("CARGO_MANIFEST_DIR"), "/AI_RESULTS.md").into(),
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--engine" => {
                parsed.engines = engines::parse(&value)
                    .with_context(|| format!("unknown engine {value:?}\n{USAGE}"))?;
            }
            "--levels" => {
                parsed.plan.levels = value
                    .split(',')
                    .map(|n| n.trim().parse::<usize>().ok().filter(|&n| n > 0))
                    .collect::<Option<Vec<_>>>()
                    .context("--levels takes positive numbers separated by commas, e.g. 1,50")?;
            }
            "--samples" => {
                parsed.plan.min_samples = value
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .context("--samples takes a positive number")?;
            }
            "--arrival" => {
                (parsed.plan.at_once, parsed.plan.held_open) = match value.as_str() {
                    "at-once" => (true, false),
                    "held-open" => (false, true),
                    "both" => (true, true),
                    other => bail!("unknown arrival {other:?}\n{USAGE}"),
                }
            }
            "--words" => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| (1..=1000).contains(&n))
                    .context("--words takes a number from 1 to 1000")?;
                parsed.words = Some(n);
            }
            "--out" => parsed.out = value,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(parsed)
}

/// How the results were made: the cargo command with this run's arguments, but for where
/// they were written.
fn command_line(mut args: impl Iterator<Item = String>) -> String {
    let mut shown = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--out" {
            args.next();
        } else {
            shown.push(arg);
        }
    }
    let cargo = "cargo run --release -p nexus-bench --bin ai-stream";
    if shown.is_empty() {
        cargo.to_owned()
    } else {
        format!("{cargo} -- {}", shown.join(" "))
    }
}

/// The rounds a burst of each level runs to reach `min_samples` streams: "30 rounds of
/// 1, one of 50, one of 500".
fn rounds_per_level(plan: &Plan) -> String {
    plan.levels
        .iter()
        .map(|&n| match plan.min_samples.div_ceil(n) {
            1 => format!("one of {n}"),
            rounds => format!("{rounds} rounds of {n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main]
async fn main() -> Result<()> {
    let Args {
        engines,
        plan,
        words: asked_words,
        out: out_path,
    } = parse_args(std::env::args().skip(1))?;
    let command = command_line(std::env::args().skip(1));
    if let Some(n) = asked_words {
        WORDS.store(n, Ordering::Relaxed);
    }
    let mut out = String::new();
    writeln!(out, "# Nexus AI streaming benchmark: results\n")?;
    writeln!(
        out,
        "Run on {} with `{command}`.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )?;
    writeln!(
        out,
        "Each stream asks a {}-word question; the fake OpenAI-compatible provider (a real HTTP server, `nexus-testkit`) echoes it back one word every {} ms. \
         `direct` streams from the provider itself; `bare relay` streams the same through a relay that only relays (an HTTP server and client set up as Nexus's, forwarding the answer's bytes unread: the floor under any gateway on this machine); `through Nexus` sends the same question as a message in its own conversation and reads the SSE answer, \
         so it includes everything Nexus does per message: quota reservation, saving both messages, the provider call, the usage ledger. \
         TTFT is from sending the request to the first token; `between` is the gap between tokens as the client sees them. \
         Before the levels, one unrecorded round of {WARM_UP_STREAMS} streams warms Nexus's database pool. \
         Each level runs in the ways `--arrival` names (both by default). *All at once*: every stream of the level starts in the same millisecond; the level repeats in rounds until each path has at least {} streams \
         ({}), and `wall s` is one round's. *Held open*: the level's number of streams stay open, \
         each followed by the next as soon as it ends, the first ones started evenly over one stream's length ({} ms), so that new streams arrive steadily, about one per stream's length per open stream; \
         streams started in the next `recorded s` seconds are recorded, and streams go on starting for one more stream's length so that every recorded one ran among that many. \
         One stream held open is the one-stream row above. The client, Nexus, the fake provider (and PostgreSQL) share the machine's 2 cores; \
         Nexus reaches PostgreSQL over TCP without TLS (`sslmode=disable`), as a deployment on one host would.",
        words(),
        WORD_EVERY.as_millis(),
        plan.min_samples,
        rounds_per_level(&plan),
        stream_length().as_millis(),
    )?;
    for engine in engines {
        run_engine(engine, &plan, &mut out).await?;
        print!("{out}");
    }
    std::fs::write(&out_path, &out).with_context(|| format!("writing {out_path}"))?;
    println!("\nwrote {out_path}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> impl Iterator<Item = String> {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn the_command_line_shown_leaves_out_where_the_results_went() {
        assert_eq!(
            command_line(args("--out /tmp/a.md")),
            "cargo run --release -p nexus-bench --bin ai-stream"
        );
        assert_eq!(
            command_line(args("--samples 100 --out /tmp/a.md --engine postgres")),
            "cargo run --release -p nexus-bench --bin ai-stream -- --samples 100 --engine postgres"
        );
    }

    #[test]
    fn bursts_repeat_until_each_level_has_its_samples() {
        let plan = parse_args(args("--samples 100 --levels 1,50,500"))
            .expect("valid arguments")
            .plan;
        assert_eq!(
            rounds_per_level(&plan),
            "100 rounds of 1, 2 rounds of 50, one of 500"
        );
    }
}
