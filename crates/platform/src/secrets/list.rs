use nexus_identity::extract::Member;
use nexus_kernel::pagination::List;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiResult, secrets};

use super::SecretView;

/// Secret names and metadata (never values), by name.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/secrets", tag = "secrets",
    params(("workspace_id" = uuid::Uuid, Path)),
    responses((status = 200, body = List<SecretView>)))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn list_secrets(member: Member) -> ApiResult<axum::Json<List<SecretView>>> {
    member.require(Permission::ReadSecrets)?;
    let rows = secrets::list(member.tx(), member.workspace_id()).await?;
    Ok(axum::Json(List {
        items: rows.into_iter().map(SecretView::from).collect(),
        next_cursor: None,
    }))
}
