//! Tables, the machine description, the goal checks and RESULTS.md.

use crate::load::{Outcome, Scenario};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

pub const HEADER: &str = "| scenario | VUs | requests | errors | req/s | p50 ms | p95 ms | p99 ms | CPU busy | bench (sys) | postgres |\n\
                          |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

/// The reads' target: p95 under this at the highest concurrency.
const READ_P95_GOAL_MS: f64 = 5.0;
/// CPU taken by neither this process nor PostgreSQL above which a row is flagged.
const NOISE_LIMIT_PERCENT: f64 = 15.0;

pub fn row(o: &Outcome) -> String {
    let cpu = o.cpu.map_or_else(
        || "? | ? | ?".to_owned(),
        |u| {
            format!(
                "{:.0}% | {:.0}% ({:.0}%) | {:.0}%",
                u.busy, u.bench, u.bench_sys, u.postgres
            )
        },
    );
    format!(
        "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {cpu} |",
        o.scenario.name(),
        o.concurrency,
        o.requests(),
        o.errors,
        o.throughput(),
        o.percentile_ms(0.50),
        o.percentile_ms(0.95),
        o.percentile_ms(0.99),
    )
}

/// The benchmark's view of one engine: its results, or why there are none.
pub struct EngineRun {
    pub name: &'static str,
    pub outcomes: Option<Vec<Outcome>>,
}

/// Time argon2id with the server's parameters (19 MiB, 2 passes, 1 lane) on one thread,
/// before any load: `cores / time` is the most logins per second this machine can do.
pub fn argon2_seconds() -> anyhow::Result<f64> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(19 * 1024, 2, 1, Some(32))
        .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = [0u8; 32];
    let mut hash = || {
        argon
            .hash_password_into(b"bench password 1234", b"bench-salt-16byt", &mut out)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    };
    // The first hashes on this VM run ~50% slower (fresh memory, clock ramp-up): warm up
    // before timing, or the ceiling comes out too low and login looks better than it is.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(400) {
        hash()?;
    }
    const RUNS: u32 = 20;
    let start = Instant::now();
    for _ in 0..RUNS {
        hash()?;
    }
    Ok(start.elapsed().as_secs_f64() / f64::from(RUNS))
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(['=', ':']))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

fn machine() -> String {
    let unknown = || "unknown".to_owned();
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(unknown);
    let mem = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(unknown, |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
    let os = proc_field("/etc/os-release", "PRETTY_NAME").unwrap_or_else(unknown);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| unknown(), |s| s.trim().to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(unknown);
    format!(
        "- cores (nproc): {}\n- CPU: {cpu}\n- memory: {mem}\n- OS: {os}, Linux {kernel}\n- {rustc}\n",
        cores()
    )
}

fn find(outcomes: &[Outcome], s: Scenario, c: usize) -> Option<&Outcome> {
    outcomes
        .iter()
        .find(|o| o.scenario == s && o.concurrency == c)
}

/// What the numbers say about the goals, computed so that a re-run states it afresh.
fn goals(outcomes: &[Outcome], top: usize, argon_s: f64) -> String {
    let mut s = String::new();
    let reads: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.scenario.is_read() && o.concurrency == top)
        .collect();
    let missed: Vec<String> = reads
        .iter()
        .filter(|o| o.percentile_ms(0.95).is_nan() || o.percentile_ms(0.95) >= READ_P95_GOAL_MS)
        .map(|o| format!("{} ({:.1} ms)", o.scenario.name(), o.percentile_ms(0.95)))
        .collect();
    if missed.is_empty() {
        let _ = writeln!(
            s,
            "- Reads, p95 < {READ_P95_GOAL_MS} ms at {top} VUs: **met** by all {} read scenarios.",
            reads.len()
        );
    } else {
        let _ = writeln!(
            s,
            "- Reads, p95 < {READ_P95_GOAL_MS} ms at {top} VUs: **missed** by {}.",
            missed.join(", ")
        );
    }
    let ceiling = cores() as f64 / argon_s;
    if let Some(o) = find(outcomes, Scenario::Login, 1) {
        let _ = writeln!(
            s,
            "- Login at 1 VU: p50 {:.1} ms, of which the hash alone is {:.1} ms.",
            o.percentile_ms(0.5),
            argon_s * 1000.0
        );
    }
    for c in [16, top] {
        if let Some(o) = find(outcomes, Scenario::Login, c) {
            let _ = writeln!(
                s,
                "- Login at {c} VUs: {:.0}/s = {:.0}% of the argon2id ceiling ({:.0}/s: {} cores / {:.1} ms per hash, timed in this process before the run).",
                o.throughput(),
                100.0 * o.throughput() / ceiling,
                ceiling,
                cores(),
                argon_s * 1000.0
            );
        }
    }
    if let (Some(one), Some(own)) = (
        find(outcomes, Scenario::AuditWriteShared, top),
        find(outcomes, Scenario::AuditWriteOwn, top),
    ) {
        let _ = writeln!(
            s,
            "- Audited writes at {top} VUs: {:.0}/s in one workspace, {:.0}/s spread over {top} workspaces.",
            one.throughput(),
            own.throughput()
        );
    }
    let noisy: Vec<String> = outcomes
        .iter()
        .filter(|o| {
            o.cpu
                .is_some_and(|u| u.busy - u.bench - u.postgres > NOISE_LIMIT_PERCENT)
        })
        .map(|o| format!("{} at {}", o.scenario.name(), o.concurrency))
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            s,
            "- **Other work took more than {NOISE_LIMIT_PERCENT}% of the machine** during: {}. Those rows are skewed; re-run on a quiet machine.",
            noisy.join(", ")
        );
    }
    let errors: usize = outcomes.iter().map(|o| o.errors).sum();
    let _ = writeln!(s, "- Errors (non-2xx or transport): {errors}.");
    for o in outcomes.iter().filter(|o| o.errors > 0) {
        let _ = writeln!(
            s,
            "  - {} at {} VUs: {} errors, first: `{}`",
            o.scenario.name(),
            o.concurrency,
            o.errors,
            o.first_error.as_deref().unwrap_or("")
        );
    }
    s
}

pub struct Report<'a> {
    pub command: String,
    pub warmup: Duration,
    pub seconds: u64,
    pub levels: &'a [usize],
    pub argon_s: f64,
    pub runs: &'a [EngineRun],
}

pub fn markdown(r: &Report) -> String {
    let top = r.levels.iter().copied().max().unwrap_or(1);
    let mut s = String::new();
    let _ = writeln!(s, "# Nexus load benchmark: results\n");
    let _ = writeln!(
        s,
        "Run on {} with:\n\n```sh\n{}\n```\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        r.command
    );
    let _ = writeln!(s, "## Machine\n\n{}", machine());
    let _ = writeln!(
        s,
        "The benchmark client (reqwest) and Nexus share one process and the same cores, and \
         PostgreSQL runs on them too, so every request's client-side work is taken from the \
         server's CPU budget. Numbers are a floor for a server on its own machine. \
         \"CPU busy\" is how busy the whole machine was during the measured window (100% = \
         all cores); \"bench\" is this process's part of it (client and Nexus), in \
         parentheses the part of the machine it spent in the kernel (page faults, \
         syscalls, scheduling), \
         \"postgres\" the PostgreSQL processes' part. Anything left over is other work on \
         the machine, which skews that row.\n"
    );
    let _ = writeln!(
        s,
        "## Method\n\nClosed loop: each of N virtual users (VUs) sends a request, reads the whole \
         answer, sends the next. Each scenario and level runs {:.1} s of warm-up (not recorded), \
         then {} s measured, except login, which runs max(48, 2 x VUs) measured requests. \
         req/s counts successful requests over the measured window; percentiles are over \
         successful requests (nearest rank). Levels: {:?} VUs. See README.md for what each \
         scenario sends.\n",
        r.warmup.as_secs_f64(),
        r.seconds,
        r.levels
    );
    for run in r.runs {
        let _ = writeln!(s, "## {}\n", run.name);
        match &run.outcomes {
            None => {
                let _ = writeln!(s, "Not run: PostgreSQL was not reachable.\n");
            }
            Some(outcomes) => {
                let _ = writeln!(s, "{HEADER}");
                for o in outcomes {
                    let _ = writeln!(s, "{}", row(o));
                }
                let _ = writeln!(s, "\n{}", goals(outcomes, top, r.argon_s));
            }
        }
    }
    s
}
