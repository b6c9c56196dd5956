//! Platform routes built on the kernel: the audit log, secrets, module switches, the plan,
//! and what platform operators (`system_admin`) do.

pub mod admin;
pub mod audit_events;
pub mod modules;
pub mod secrets;

use nexus_kernel::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every platform route, relative to `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(audit_events::router())
        .merge(secrets::router())
        .merge(modules::router())
        .merge(admin::router())
}
