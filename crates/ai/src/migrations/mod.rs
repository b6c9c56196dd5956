//! The AI module's tables. Append-only, run after the kernel's.

use sea_orm_migration::MigrationTrait;

mod m0002_ai;
mod m0004_ai_write_locks;
mod m0005_ai_provider_api;
mod m0007_ai_prompt_caching;
mod m0008_ai_answer_details;
mod m0009_ai_answer_reservations;
mod m0010_ai_quota_leases;
mod m0011_ai_feedback;
mod m0012_ai_prompts;
mod m0013_ai_share_links;
mod m0014_ai_attachments;

pub fn all() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m0002_ai::Migration),
        Box::new(m0004_ai_write_locks::Migration),
        Box::new(m0005_ai_provider_api::Migration),
        Box::new(m0007_ai_prompt_caching::Migration),
        Box::new(m0008_ai_answer_details::Migration),
        Box::new(m0009_ai_answer_reservations::Migration),
        Box::new(m0010_ai_quota_leases::Migration),
        Box::new(m0011_ai_feedback::Migration),
        Box::new(m0012_ai_prompts::Migration),
        Box::new(m0013_ai_share_links::Migration),
        Box::new(m0014_ai_attachments::Migration),
    ]
}

/// The AI module's tenant tables (row-level security on PostgreSQL): the first
/// migration's, then those of later ones, in order.
pub const TENANT_TABLES: &[&str] = &[
    "ai_providers",
    "ai_settings",
    "conversations",
    "messages",
    "ai_usage",
    "ai_quota_usage",
    "ai_cache",
    "ai_quota_leases",
    "ai_feedback",
    "ai_prompts",
    "ai_share_links",
    "ai_attachments",
];

/// How many of [`TENANT_TABLES`] the first migration made and secured; each later one
/// secures its own.
const FIRST_MIGRATION_TABLES: usize = 7;
