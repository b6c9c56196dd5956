//! `nexus-bench`: start Nexus in-process on SQLite and/or PostgreSQL (through the test
//! kit), drive its REST API over real HTTP with 1, 16 and 64 virtual users, and report
//! throughput and latency percentiles to stdout and to a Markdown file.
//!
//! `cargo run --release -p nexus-bench -- [--engine sqlite|postgres|both] [--seconds N] [--out FILE] [--only TEXT] [--redis URL]`

/// The same allocator as the `nexus` binary, so the numbers are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cpu;
mod engines;
mod fixture;
mod load;
mod report;

use anyhow::{Context, Result, bail};
use load::{Outcome, Scenario};
use nexus_testkit::{Engine, TestApp};
use report::{EngineRun, Report};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const LEVELS: [usize; 3] = [1, 16, 64];
const WARMUP: Duration = Duration::from_millis(500);

struct Args {
    engines: Vec<Engine>,
    seconds: u64,
    out: PathBuf,
    /// Only the scenarios whose name contains this (for profiling one of them).
    only: Option<String>,
    /// Share rate limits and cache forgets through this Redis, as replicas do.
    redis: Option<String>,
}

fn usage() -> &'static str {
    "usage: nexus-bench [--engine sqlite|postgres|both] [--seconds N] [--out FILE] [--only TEXT] [--redis URL]"
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args> {
    let mut parsed = Args {
        engines: vec![Engine::Sqlite, Engine::Postgres],
        seconds: 3,
        out: PathBuf::from("bench/RESULTS.md"),
        only: None,
        redis: None,
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{}", usage());
            std::process::exit(0);
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{}", usage()))?;
        match flag.as_str() {
            "--engine" => {
                parsed.engines = engines::parse(&value)
                    .with_context(|| format!("unknown engine {value:?}\n{}", usage()))?;
            }
            "--seconds" => {
                parsed.seconds = value.parse().context("--seconds takes a whole number")?;
            }
            "--out" => parsed.out = PathBuf::from(value),
            "--only" => parsed.only = Some(value),
            "--redis" => parsed.redis = Some(value),
            other => bail!("unknown argument {other:?}\n{}", usage()),
        }
    }
    Ok(parsed)
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    }
}

/// All scenarios at all levels on one engine; `None` when PostgreSQL is not reachable.
async fn bench_engine(
    engine: Engine,
    seconds: u64,
    only: Option<&str>,
    redis: Option<&str>,
) -> Result<Option<Vec<Outcome>>> {
    // Raise every limit that would otherwise answer 429: this measures the server, not
    // the rate limiter or login throttling. 32 connections so 64 VUs queue on the
    // server's work rather than on a small pool.
    let Some(app) = TestApp::spawn_with(engine, |s| {
        s.plans.free.api_requests_per_minute = u32::MAX;
        s.auth_rate_per_minute = u32::MAX;
        s.login_failures_before_lockout = i32::MAX;
        s.database_max_connections = 32;
        // Measure a warm server: the pool starts full, as it stays under steady load.
        s.database_min_connections = 32;
        s.redis_url = redis.map(str::to_owned);
    })
    .await
    else {
        println!("NOTICE: PostgreSQL is not reachable; skipping the PostgreSQL half.");
        return Ok(None);
    };
    let top = LEVELS.iter().copied().max().unwrap_or(1);
    println!("\n## {}\n\nsetting up {top} users…", engine_name(engine));
    let fx = Arc::new(fixture::build(&app.base, top).await?);
    println!("{}", report::HEADER);
    let mut outcomes = Vec::new();
    for scenario in Scenario::ALL
        .into_iter()
        .filter(|s| only.is_none_or(|o| s.name().contains(o)))
    {
        for c in LEVELS {
            let o = load::run(
                fx.clone(),
                scenario,
                c,
                WARMUP,
                Duration::from_secs(seconds),
            )
            .await?;
            println!("{}", report::row(&o));
            outcomes.push(o);
        }
    }
    // Close the clients before the server (and, on PostgreSQL, its database) goes away.
    drop(fx);
    drop(app);
    Ok(Some(outcomes))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args(std::env::args().skip(1))?;
    let given: Vec<String> = std::env::args().skip(1).collect();
    let mut command = "cargo run --release -p nexus-bench".to_owned();
    if !given.is_empty() {
        command = format!("{command} -- {}", given.join(" "));
    }

    // Before any load, so the reference number is not slowed down by the server.
    let argon_s = tokio::task::spawn_blocking(report::argon2_seconds).await??;
    println!(
        "argon2id (19 MiB, 2 passes): {:.1} ms per hash on one core",
        argon_s * 1000.0
    );

    let mut runs = Vec::new();
    for engine in &args.engines {
        runs.push(EngineRun {
            name: engine_name(*engine),
            outcomes: bench_engine(
                *engine,
                args.seconds,
                args.only.as_deref(),
                args.redis.as_deref(),
            )
            .await?,
        });
    }

    let md = report::markdown(&Report {
        command,
        warmup: WARMUP,
        seconds: args.seconds,
        levels: &LEVELS,
        argon_s,
        runs: &runs,
    });
    std::fs::write(&args.out, md).with_context(|| format!("write {}", args.out.display()))?;
    println!("\nwrote {}", args.out.display());
    Ok(())
}
