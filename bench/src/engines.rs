//! The databases a benchmark runs on, as `--engine` names them.

use nexus_testkit::Engine;

/// `sqlite`, `postgres` or `both`; `None` for anything else.
pub fn parse(name: &str) -> Option<Vec<Engine>> {
    match name {
        "sqlite" => Some(vec![Engine::Sqlite]),
        "postgres" => Some(vec![Engine::Postgres]),
        "both" => Some(vec![Engine::Sqlite, Engine::Postgres]),
        _ => None,
    }
}
