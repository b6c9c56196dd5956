//! SeaORM entities for the AI module's tables (schema in `migrations/`).

pub mod ai_settings;
pub mod attachment;
pub mod cache_entry;
pub mod conversation;
pub mod feedback;
pub mod message;
pub mod prompt;
pub mod provider;
pub mod quota_lease;
pub mod quota_usage;
pub mod share_link;
pub mod usage;
