use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{StreamExt, stream};
use nexus_identity::extract::Member;
use nexus_kernel::db::Scope;
use nexus_kernel::entities::audit_event;
use nexus_kernel::query::ApiQuery;
use nexus_kernel::roles::Permission;
use nexus_kernel::{ApiError, ApiResult, AppState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{AuditEventView, AuditFilter};

const CHUNK: u64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` or `jsonl`.
    pub format: String,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    Jsonl,
}

/// Export the (filtered) audit log, oldest first, as CSV or JSON Lines. The body streams
/// in chunks, so a log of any size exports in constant memory.
#[utoipa::path(get, path = "/workspaces/{workspace_id}/audit-events/export", tag = "audit",
    params(("workspace_id" = uuid::Uuid, Path), ExportParams, AuditFilter),
    responses((status = 200, description = "text/csv or application/x-ndjson", content_type = "text/csv")))]
#[tracing::instrument(skip_all, fields(workspace_id = %member.workspace_id()))]
pub async fn export_audit_events(
    State(state): State<AppState>,
    member: Member,
    ApiQuery(params): ApiQuery<ExportParams>,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> ApiResult<Response> {
    member.require(Permission::ReadAuditLog)?;
    let format = match params.format.as_str() {
        "csv" => Format::Csv,
        "jsonl" => Format::Jsonl,
        _ => return Err(ApiError::field("format", "must be csv or jsonl")),
    };
    filter.apply(audit_event::Entity::find())?; // reject bad filters before streaming
    let scope = member.ctx.scope();
    drop(member);

    let header_line = match format {
        Format::Csv => Some(Bytes::from_static(
            b"id,seq,created_at,actor_type,actor_id,actor_label,action,target_type,target_id,summary,ip,user_agent,request_id,prev_hash,hash\n",
        )),
        Format::Jsonl => None,
    };
    // Each step reads the next chunk in its own short transaction, so a slow reader holds
    // no transaction open.
    let chunks = stream::try_unfold(Some(None::<Uuid>), move |cursor| {
        let state = state.clone();
        let filter = clone_filter(&filter);
        async move {
            let Some(after) = cursor else {
                return Ok::<_, ApiError>(None);
            };
            let rows = read_chunk(&state, scope, &filter, after).await?;
            let next = if rows.len() as u64 == CHUNK {
                rows.last().map(|r| Some(r.id))
            } else {
                None
            };
            if rows.is_empty() {
                return Ok(None);
            }
            let mut out = Vec::new();
            for row in rows {
                match format {
                    Format::Csv => write_csv_row(&mut out, &row),
                    Format::Jsonl => {
                        serde_json::to_writer(&mut out, &AuditEventView::from(row))
                            .map_err(anyhow::Error::from)?;
                        out.push(b'\n');
                    }
                }
            }
            Ok(Some((Bytes::from(out), next)))
        }
    });
    let body = stream::iter(header_line.map(Ok)).chain(chunks);
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let body = body.map(|r| r.map_err(|e| std::io::Error::other(e.to_string())));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-events.{ext}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn clone_filter(f: &AuditFilter) -> AuditFilter {
    AuditFilter {
        actor_id: f.actor_id,
        action: f.action.clone(),
        target_type: f.target_type.clone(),
        target_id: f.target_id.clone(),
        from: f.from,
        to: f.to,
    }
}

async fn read_chunk(
    state: &AppState,
    scope: Scope,
    filter: &AuditFilter,
    after: Option<Uuid>,
) -> Result<Vec<audit_event::Model>, ApiError> {
    let tx = state.db.tenant(scope, false).await?;
    let mut q = filter.apply(
        audit_event::Entity::find().filter(audit_event::Column::WorkspaceId.eq(scope.workspace_id)),
    )?;
    if let Some(after) = after {
        q = q.filter(audit_event::Column::Id.gt(after));
    }
    let rows = q
        .order_by_asc(audit_event::Column::Id)
        .limit(CHUNK)
        .all(&tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// One RFC 4180 row. Fields that a spreadsheet would run as a formula are prefixed with
/// `'` (CSV injection).
fn write_csv_row(out: &mut Vec<u8>, e: &audit_event::Model) {
    let fields = [
        e.id.to_string(),
        e.seq.to_string(),
        e.created_at.to_rfc3339(),
        e.actor_type.clone(),
        e.actor_id.map(|u| u.to_string()).unwrap_or_default(),
        e.actor_label.clone(),
        e.action.clone(),
        e.target_type.clone(),
        e.target_id.clone().unwrap_or_default(),
        e.summary.to_string(),
        e.ip.clone().unwrap_or_default(),
        e.user_agent.clone().unwrap_or_default(),
        e.request_id.clone(),
        e.prev_hash.clone(),
        e.hash.clone(),
    ];
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.extend_from_slice(line.join(",").as_bytes());
    out.push(b'\n');
}

fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
