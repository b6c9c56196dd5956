//! CPU use over a measured window, from /proc: how busy the whole machine was, how much
//! of that was this process (client and Nexus together) and how much PostgreSQL. What is
//! left is the kernel's work for others or anything else running, which skews the run.

#[derive(Clone, Copy)]
pub struct Sample {
    busy: u64,
    total: u64,
    process: u64,
    process_sys: u64,
    postgres: u64,
}

/// Shares of the whole machine (100% = all cores) during a window.
#[derive(Clone, Copy)]
pub struct Usage {
    pub busy: f64,
    pub bench: f64,
    /// The kernel's part of `bench`: page faults, syscalls, scheduling.
    pub bench_sys: f64,
    pub postgres: f64,
}

/// Command name, utime and stime of one /proc/<pid>/stat.
fn process_ticks(path: &std::path::Path) -> Option<(String, u64, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces; utime and stime are
    // fields 14 and 15 of the line, 12th and 13th after the name.
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    let rest: Vec<&str> = rest.split_whitespace().collect();
    let user = rest.get(11)?.parse().ok()?;
    let sys = rest.get(12)?.parse().ok()?;
    Some((comm, user, sys))
}

/// All `postgres` processes on the machine (the server and its backends), if readable.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| process_ticks(&e.path().join("stat")))
        .filter(|(comm, ..)| comm == "postgres")
        .map(|(_, user, sys)| user + sys)
        .sum()
}

/// Ticks (USER_HZ) from the first line of /proc/stat and from /proc/self/stat.
pub fn sample() -> Option<Sample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = ticks.iter().take(8).sum();
    // idle and iowait are the not-busy columns.
    let idle = ticks.get(3)? + ticks.get(4)?;
    let (_, user, sys) = process_ticks(std::path::Path::new("/proc/self/stat"))?;
    Some(Sample {
        busy: total - idle,
        total,
        process: user + sys,
        process_sys: sys,
        postgres: postgres_ticks(),
    })
}

pub fn usage(before: Option<Sample>, after: Option<Sample>) -> Option<Usage> {
    let (b, a) = (before?, after?);
    let total = a.total.checked_sub(b.total).filter(|t| *t > 0)? as f64;
    // A backend that exits inside the window takes its ticks with it: never below 0.
    let share = |after: u64, before: u64| 100.0 * after.saturating_sub(before) as f64 / total;
    Some(Usage {
        busy: share(a.busy, b.busy),
        bench: share(a.process, b.process),
        bench_sys: share(a.process_sys, b.process_sys),
        postgres: share(a.postgres, b.postgres),
    })
}
