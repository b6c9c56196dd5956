//! Auth and tenancy as extractors. A handler that takes [`CurrentUser`] has a signed-in
//! person; one that takes [`Member`] has a caller (person or API key) resolved inside the
//! workspace named by the path, with a tenant transaction already bound to it.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, header};
use chrono::{Duration, Utc};
use nexus_kernel::db::{Db, Scope, Tx};
use nexus_kernel::entities::workspace;
use nexus_kernel::modules::Plan;
use nexus_kernel::request::RequestMeta;
use nexus_kernel::roles::{Permission, Role};
use nexus_kernel::tenancy::{Actor, TenantCtx};
use nexus_kernel::{ApiError, AppState, token};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use uuid::Uuid;

use crate::entities::{api_key, member, session, user};

pub const API_KEY_PREFIX: &str = "nxk_";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Memberships in the [`nexus_kernel::hot_cache`], by `workspace:user`.
const MEMBER_CACHE: &str = "member";
/// API keys in the [`nexus_kernel::hot_cache`], by token digest.
const API_KEY_CACHE: &str = "api_key";

/// A signed-in person (browser session). API keys are refused: they act in one workspace.
pub struct CurrentUser {
    pub user: user::Model,
    pub session: session::Model,
    pub meta: RequestMeta,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id,
            email: self.user.email.clone(),
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn session_user(
    parts: &Parts,
    state: &AppState,
) -> Result<(user::Model, session::Model), ApiError> {
    let token =
        crate::session::token_from_headers(&parts.headers).ok_or(ApiError::Unauthenticated {
            message: "Sign in first.",
        })?;
    let (user, session) =
        crate::session::resolve(state, &token)
            .await?
            .ok_or(ApiError::Unauthenticated {
                message: "Your session has ended; sign in again.",
            })?;
    if is_unsafe(&parts.method) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !token::constant_time_eq(sent, &session.csrf_token) {
            return Err(ApiError::forbidden(
                "csrf_failed",
                "Missing or wrong X-CSRF-Token header (it is in the login and /me responses).",
            ));
        }
    }
    Ok((user, session))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if bearer(parts).is_some() {
            return Err(ApiError::Unauthenticated {
                message: "API keys work on the routes of their own workspace only; this route needs a signed-in user.",
            });
        }
        let (user, session) = session_user(parts, state).await?;
        Ok(Self {
            user,
            session,
            meta: RequestMeta::from_parts(parts),
        })
    }
}

/// A caller inside one workspace, with a read transaction bound to it.
pub struct Member {
    pub ctx: TenantCtx,
    pub workspace: workspace::Model,
    tx: Tx,
}

impl Member {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        self.ctx.require(permission)
    }

    pub fn workspace_id(&self) -> Uuid {
        self.ctx.workspace_id
    }

    /// The read transaction opened for this request.
    pub fn tx(&self) -> &Tx {
        &self.tx
    }

    /// End the read transaction and keep only the context: for work that must not hold a
    /// connection while it waits (other transactions, the network).
    pub fn into_ctx(self) -> TenantCtx {
        self.ctx
    }

    /// Trade the read transaction for a write transaction bound to the same workspace.
    /// Writes re-check whatever they depend on inside it.
    pub async fn write(self, state: &AppState) -> Result<(TenantCtx, Tx), ApiError> {
        let Self { ctx, tx, .. } = self;
        tx.rollback().await?;
        let write = state.db.tenant(ctx.scope(), true).await?;
        Ok((ctx, write))
    }
}

async fn path_workspace_id(parts: &mut Parts, state: &AppState) -> Result<Uuid, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound)?;
    let raw = params
        .iter()
        .find(|(k, _)| *k == "workspace_id")
        .map(|(_, v)| v)
        .ok_or(ApiError::NotFound)?;
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

fn check_workspace(ws: Option<workspace::Model>) -> Result<workspace::Model, ApiError> {
    let ws = ws
        .filter(|w| w.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    if ws.suspended_at.is_some() {
        return Err(ApiError::forbidden(
            "workspace_suspended",
            "This workspace is suspended. Contact your Nexus administrator.",
        ));
    }
    Ok(ws)
}

async fn rate_limit(state: &AppState, key: String, plan: Plan) -> Result<(), ApiError> {
    let limit = state.settings.plan(plan).api_requests_per_minute;
    state
        .limiter
        .hit(&key, limit, std::time::Duration::from_secs(60))
        .await
        .map_err(|secs| ApiError::RateLimited {
            retry_after_secs: secs,
            code: "rate_limited",
        })
}

impl FromRequestParts<AppState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let workspace_id = path_workspace_id(parts, state).await?;
        let meta = RequestMeta::from_parts(parts);
        if let Some(key) = bearer(parts) {
            return api_key_member(state, key.to_owned(), workspace_id, meta).await;
        }
        let (user, _session) = session_user(parts, state).await?;
        Member::for_user(state, user, workspace_id, meta).await
    }
}

impl Member {
    /// The membership of a signed-in user in a workspace (also used by the WebSocket,
    /// where one connection acts in many workspaces).
    pub async fn for_user(
        state: &AppState,
        user: user::Model,
        workspace_id: Uuid,
        meta: RequestMeta,
    ) -> Result<Self, ApiError> {
        let tx = state
            .db
            .tenant(
                Scope {
                    workspace_id,
                    user_id: Some(user.id),
                },
                false,
            )
            .await?;
        let cached = state
            .db
            .cache()
            .get_or_load_ahead(
                MEMBER_CACHE,
                format!("{workspace_id}:{}", user.id),
                vec![workspace_id, user.id],
                || read_membership(&tx, workspace_id, user.id),
                || {
                    let reader = tx.reader();
                    async move {
                        read_membership(&reader.begin().await.ok()?, workspace_id, user.id)
                            .await
                            .ok()
                    }
                },
            )
            .await?;
        let (ws, role) = (*cached).clone();
        let ws = check_workspace(Some(ws))?;
        let plan = Plan::from_db(&ws.plan);
        rate_limit(state, format!("user:{}:{workspace_id}", user.id), plan).await?;
        Ok(Self {
            ctx: TenantCtx {
                workspace_id,
                actor: Actor::User {
                    id: user.id,
                    email: user.email,
                },
                role,
                plan,
                meta,
            },
            workspace: ws,
            tx,
        })
    }
}

/// The workspace and the user's role in it, or 404 if either is gone.
async fn read_membership(
    tx: &Tx,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<(workspace::Model, Role), ApiError> {
    let ws = workspace::Entity::find_by_id(workspace_id)
        .one(tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let membership = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::UserId.eq(user_id))
        .one(tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((ws, Role::from_db(&membership.role)))
}

fn invalid_key() -> ApiError {
    ApiError::Unauthenticated {
        message: "The API key is invalid, revoked or expired.",
    }
}

/// The key with this digest and its workspace, with a read transaction bound to the
/// workspace; 404 if the key belongs to another one.
async fn read_api_key(
    db: &Db,
    digest: &str,
    workspace_id: Uuid,
) -> Result<(Tx, api_key::Model, workspace::Model), ApiError> {
    let tx = db.begin_token_lookup(digest, false).await?;
    let row = api_key::Entity::find()
        .filter(api_key::Column::TokenDigest.eq(digest))
        .one(&tx)
        .await?
        .ok_or_else(invalid_key)?;
    if row.workspace_id != workspace_id {
        return Err(ApiError::NotFound);
    }
    tx.bind_scope(Scope {
        workspace_id,
        user_id: None,
    })
    .await?;
    let ws = workspace::Entity::find_by_id(workspace_id)
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((tx, row, ws))
}

async fn api_key_member(
    state: &AppState,
    key: String,
    workspace_id: Uuid,
    meta: RequestMeta,
) -> Result<Member, ApiError> {
    if !key.starts_with(API_KEY_PREFIX) {
        return Err(invalid_key());
    }
    let digest = token::digest(&key);
    let cache = state.db.cache();
    let read_at = cache.generation();
    let cached = cache.get_ahead::<(api_key::Model, workspace::Model)>(API_KEY_CACHE, &digest);
    let was_cached = cached.is_some();
    let (tx, mut row, ws) = match cached {
        Some((hit, refresh)) if hit.0.workspace_id == workspace_id => {
            if let Some(refresh) = refresh {
                let (db, digest) = (state.db.clone(), digest.clone());
                cache.refresh(refresh, vec![workspace_id, hit.0.id], async move {
                    let (_, row, ws) = read_api_key(&db, &digest, workspace_id).await.ok()?;
                    Some((row, ws))
                });
            }
            let (row, ws) = (*hit).clone();
            let scope = Scope {
                workspace_id,
                user_id: None,
            };
            (state.db.tenant(scope, false).await?, row, ws)
        }
        Some(_) => return Err(ApiError::NotFound),
        None => read_api_key(&state.db, &digest, workspace_id).await?,
    };
    let now = Utc::now();
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid_key());
    }
    let ws = check_workspace(Some(ws))?;
    let plan = Plan::from_db(&ws.plan);
    rate_limit(state, format!("key:{}", row.id), plan).await?;
    let touch = row
        .last_used_at
        .is_none_or(|t| now - t > Duration::seconds(60));
    if touch {
        touch_api_key(state.clone(), workspace_id, row.id);
        // The cached copy carries the new time so the next requests don't touch again.
        row.last_used_at = Some(now);
    }
    if touch || !was_cached {
        cache.put(
            read_at,
            API_KEY_CACHE,
            digest,
            vec![workspace_id, row.id],
            Arc::new((row.clone(), ws.clone())),
        );
    }
    Ok(Member {
        ctx: TenantCtx {
            workspace_id,
            actor: Actor::ApiKey {
                id: row.id,
                name: row.name,
            },
            role: Role::from_db(&row.role),
            plan,
            meta,
        },
        workspace: ws,
        tx,
    })
}

/// Record when a key was last used, off the request path (at most once a minute).
fn touch_api_key(state: AppState, workspace_id: Uuid, key_id: Uuid) {
    tokio::spawn(async move {
        let Ok(tx) = state
            .db
            .tenant(
                Scope {
                    workspace_id,
                    user_id: None,
                },
                true,
            )
            .await
        else {
            return;
        };
        let updated = api_key::Entity::update_many()
            .col_expr(
                api_key::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(api_key::Column::WorkspaceId.eq(workspace_id))
            .filter(api_key::Column::Id.eq(key_id))
            .exec(&tx)
            .await;
        if updated.is_ok() {
            let _ = tx.commit().await;
        }
    });
}

/// A platform operator: administers the installation, not the content of workspaces.
pub struct SystemAdmin(pub CurrentUser);

impl FromRequestParts<AppState> for SystemAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.user.is_system_admin || state.settings.is_admin_email(&user.user.email) {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                "Only platform operators may do this.",
            ))
        }
    }
}
