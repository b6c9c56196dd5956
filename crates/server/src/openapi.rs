//! The OpenAPI 3.1 document: every route registers itself through `utoipa_axum`, so the
//! document cannot drift from the router.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus API",
        description = "Multi-tenant business platform with AI built in. Errors are `{\"error\": {code, message, details, request_id}}`; lists are `{items, next_cursor}`.",
    ),
    modifiers(&Security),
    components(schemas(nexus_kernel::error::ErrorEnvelope)),
    tags(
        (name = "auth", description = "Sign up, sessions, the current user"),
        (name = "workspaces", description = "Workspaces (tenants)"),
        (name = "members", description = "Members and roles"),
        (name = "invitations", description = "Invitations by email"),
        (name = "api_keys", description = "API keys for programs"),
        (name = "audit", description = "The append-only audit log"),
        (name = "secrets", description = "Encrypted secrets"),
        (name = "modules", description = "Module switches and plan"),
        (name = "admin", description = "Platform operators"),
        (name = "ai", description = "AI providers, models, settings and usage"),
        (name = "assistant", description = "Conversations with AI models, streamed answers"),
    ),
    security(("session" = []), ("api_key" = []))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "nexus_session",
                "Browser session; unsafe requests also need the X-CSRF-Token header.",
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("nxk_…")
                    .build(),
            ),
        );
    }
}
