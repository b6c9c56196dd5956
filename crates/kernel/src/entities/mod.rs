//! SeaORM entities for the kernel's own tables. Identity's tables live in `nexus-identity`.

pub mod audit_event;
pub mod audit_head;
pub mod data_key;
pub mod secret;
pub mod workspace;
pub mod workspace_module;
