//! Identity: users, sessions, workspaces, members, invitations and API keys, and the
//! extractors ([`extract::CurrentUser`], [`extract::Member`]) that turn a request into a
//! caller the kernel's tenancy context can hold.

pub mod api_keys;
pub mod auth;
pub mod domain;
pub mod entities;
pub mod extract;
pub mod invitations;
pub mod members;
pub mod password;
pub mod session;
pub mod views;
pub mod workspaces;

use nexus_kernel::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every identity route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(workspaces::router())
        .merge(members::router())
        .merge(invitations::router())
        .merge(api_keys::router())
}
