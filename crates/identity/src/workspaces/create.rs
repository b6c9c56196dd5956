use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use nexus_kernel::audit::{self, Event};
use nexus_kernel::db::Scope;
use nexus_kernel::entities::workspace;
use nexus_kernel::json::ApiJson;
use nexus_kernel::roles::Role;
use nexus_kernel::{ApiResult, AppState, token};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::WorkspaceView;
use crate::domain::{parse_name, slugify};
use crate::entities::member;
use crate::extract::CurrentUser;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspaceRequest {
    /// 1 to 100 characters.
    pub name: String,
}

/// Create a workspace; the caller becomes its owner.
#[utoipa::path(post, path = "/workspaces", tag = "workspaces", request_body = CreateWorkspaceRequest,
    responses((status = 201, body = WorkspaceView), (status = 422, body = nexus_kernel::error::ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(user_id = %me.user.id))]
pub async fn create_workspace(
    State(state): State<AppState>,
    me: CurrentUser,
    ApiJson(body): ApiJson<CreateWorkspaceRequest>,
) -> ApiResult<(StatusCode, axum::Json<WorkspaceView>)> {
    let name = parse_name("name", &body.name, 100)?;
    let id = Uuid::now_v7();
    let tx = state
        .db
        .tenant(
            Scope {
                workspace_id: id,
                user_id: Some(me.user.id),
            },
            true,
        )
        .await?;
    let mut slug = slugify(&name);
    if workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(&slug))
        .count(&tx)
        .await?
        > 0
    {
        // Slugs are public names; a short random suffix keeps them unique without a retry loop.
        slug = format!(
            "{slug}-{}",
            &token::random_token()[..6]
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
    }
    let now = Utc::now();
    let model = workspace::Model {
        id,
        name,
        slug,
        plan: "free".into(),
        suspended_at: None,
        deleted_at: None,
        created_by: me.user.id,
        created_at: now,
        updated_at: now,
    };
    workspace::Entity::insert(workspace::ActiveModel {
        id: Set(model.id),
        name: Set(model.name.clone()),
        slug: Set(model.slug.clone()),
        plan: Set(model.plan.clone()),
        suspended_at: Set(None),
        deleted_at: Set(None),
        created_by: Set(me.user.id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    member::Entity::insert(member::ActiveModel {
        workspace_id: Set(id),
        user_id: Set(me.user.id),
        role: Set(Role::Owner.as_str().into()),
        created_at: Set(now),
    })
    .exec_without_returning(&tx)
    .await?;
    // A new workspace in the user's list (see `auth::me::my_workspaces`).
    tx.mark_stale(me.user.id);
    audit::record_as(
        &tx,
        id,
        &me.actor(),
        &me.meta,
        Event::new("workspace.created", "workspace", id)
            .summary(json!({ "name": model.name, "slug": model.slug })),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(WorkspaceView::new(&model, Role::Owner)),
    ))
}
