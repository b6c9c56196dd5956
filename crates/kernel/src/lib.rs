//! The platform kernel: what every module stands on.
//!
//! Ids, the error type at the HTTP edge, settings, the database and its migrations,
//! tenancy, roles and permissions, modules and plans, the audit log and encrypted secrets.
//! Nothing here knows how a caller was authenticated; `nexus-identity` resolves callers
//! into the [`tenancy::TenantCtx`] defined here.

pub mod audit;
pub mod config;
pub mod crypto;
pub mod db;
pub mod entities;
pub mod error;
pub mod hot_cache;
pub mod ids;
pub mod json;
pub mod migrations;
pub mod modules;
pub mod pagination;
pub mod query;
pub mod rate_limit;
pub mod replicas;
pub mod request;
pub mod roles;
pub mod secrets;
pub mod state;
pub mod tenancy;
pub mod token;

pub use error::{ApiError, ApiResult};
pub use state::AppState;
