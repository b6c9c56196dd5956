//! The `nexus` server as a library: the binary's `main.rs` only parses the command line and
//! calls in here, so tests and benchmarks start exactly what production runs.

pub mod app;
pub mod bootstrap;
pub mod commands;
pub mod docs;
pub mod metrics;
pub mod middleware;
pub mod migrator;
pub mod openapi;
pub mod serve;
pub mod web;

pub use app::build_router;
pub use bootstrap::build_state;
