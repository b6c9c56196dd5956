//! SeaORM entities for identity's tables (the schema is in the kernel's migrations).

pub mod api_key;
pub mod invitation;
pub mod member;
pub mod session;
pub mod user;
