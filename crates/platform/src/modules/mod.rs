//! Module switches and the workspace's plan.

use axum::extract::{Path, State};
use nexus_identity::extract::Member;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::config::PlanLimits;
use nexus_kernel::json::ApiJson;
use nexus_kernel::modules::{Module, Plan, module_states, set_module};
use nexus_kernel::pagination::List;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_modules))
        .routes(routes!(update_module))
        .routes(routes!(get_plan))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleView {
    pub module: Module,
    pub enabled: bool,
}

/// Every module and whether it is on here.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/modules", tag = "modules",
    params(("workspace_id" = Uuid, Path)),
    responses((status = 200, body = List<ModuleView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_modules(member: Member) -> ApiResult<axum::Json<List<ModuleView>>> {
    member.require(Permission::ReadWorkspace)?;
    let states = module_states(member.tx(), member.workspace_id()).await?;
    Ok(axum::Json(List {
        items: states
            .into_iter()
            .map(|(module, enabled)| ModuleView { module, enabled })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModuleRequest {
    pub enabled: bool,
}

/// Switch a module on or off.
#[utoipa::path(put, path = "/workspaces/{workspace_id}/modules/{module}", tag = "modules",
    params(("workspace_id" = Uuid, Path), ("module" = Module, Path)), request_body = UpdateModuleRequest,
    responses((status = 200, body = ModuleView), (status = 404, description = "No such module", body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn update_module(
    State(state): State<AppState>,
    member: Member,
    Path(path): Path<(Uuid, String)>,
    ApiJson(body): ApiJson<UpdateModuleRequest>,
) -> ApiResult<axum::Json<ModuleView>> {
    let (_, name) = path;
    member.require(Permission::ManageModules)?;
    let module = Module::parse(&name).ok_or(ApiError::NotFound)?;
    let (ctx, tx) = member.write(&state).await?;
    let was = module_states(&tx, ctx.workspace_id)
        .await?
        .into_iter()
        .any(|(m, on)| m == module && on);
    set_module(&tx, ctx.workspace_id, module, body.enabled).await?;
    if was != body.enabled {
        let action = if body.enabled {
            "module.enabled"
        } else {
            "module.disabled"
        };
        audit::record(&tx, &ctx, Event::new(action, "module", module.as_str())).await?;
    }
    tx.commit().await?;
    Ok(axum::Json(ModuleView {
        module,
        enabled: body.enabled,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub plan: Plan,
    pub limits: PlanLimits,
    /// Members plus pending invitations.
    pub seats_used: u64,
}

/// The workspace's plan, its limits and what is used.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/plan", tag = "modules",
    params(("workspace_id" = Uuid, Path)),
    responses((status = 200, body = PlanView)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn get_plan(
    State(state): State<AppState>,
    member: Member,
) -> ApiResult<axum::Json<PlanView>> {
    member.require(Permission::ReadWorkspace)?;
    let seats_used =
        nexus_identity::invitations::seats_used(member.tx(), member.workspace_id(), true).await?;
    Ok(axum::Json(PlanView {
        plan: member.ctx.plan,
        limits: state.settings.plan(member.ctx.plan),
        seats_used,
    }))
}
