use axum::extract::State;
use nexus_kernel::pagination::{List, PageParams};
use nexus_kernel::query::ApiQuery;
use nexus_kernel::{ApiResult, AppState};

use crate::auth::my_workspaces;
use crate::extract::CurrentUser;
use crate::views::WorkspaceSummary;

/// The workspaces the signed-in user belongs to.
#[utoipa::path(get, path = "/workspaces", tag = "workspaces", params(PageParams),
    responses((status = 200, body = List<WorkspaceSummary>)))]
#[tracing::instrument(skip_all)]
pub async fn list_workspaces(
    State(state): State<AppState>,
    me: CurrentUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<axum::Json<List<WorkspaceSummary>>> {
    let page = params.parse()?;
    let rows = my_workspaces(&state, me.user.id, page.after, page.limit + 1).await?;
    Ok(axum::Json(List::from_rows(rows, page.limit, |w| w.id)))
}
