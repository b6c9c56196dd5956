//! Browser sessions: a random opaque token in an HttpOnly cookie; the database keeps its
//! SHA-256. Sessions end at an absolute expiry or after an idle period.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{Duration, Utc};
use nexus_kernel::request::RequestMeta;
use nexus_kernel::{AppState, token};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::sync::Arc;
use uuid::Uuid;

use crate::entities::{session, user};

pub const SESSION_COOKIE: &str = "nexus_session";

/// Don't write `last_seen_at` more often than this: reads stay reads.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Sessions in the [`nexus_kernel::hot_cache`], by token digest, tagged with the user.
pub const CACHE_KIND: &str = "session";

pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
}

pub async fn create(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: Uuid,
    meta: &RequestMeta,
) -> Result<NewSession, sea_orm::DbErr> {
    let token = token::random_token();
    let csrf_token = token::random_token();
    let now = Utc::now();
    session::Entity::insert(session::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_digest: Set(token::digest(&token)),
        user_id: Set(user_id),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + Duration::hours(state.settings.session_absolute_hours)),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.clone()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(NewSession { token, csrf_token })
}

/// The session and its user for a cookie token, if the session is still alive.
pub async fn resolve(
    state: &AppState,
    token: &str,
) -> Result<Option<(user::Model, session::Model)>, sea_orm::DbErr> {
    let digest = token::digest(token);
    let cache = state.db.cache();
    // Before the lookup: a logout between the two must keep a touched copy out.
    let read_at = cache.generation();
    let cached = cache.get_ahead::<(user::Model, session::Model)>(CACHE_KIND, &digest);
    let was_cached = cached.is_some();
    let (u, mut s) = match cached {
        Some((hit, refresh)) => {
            if let Some(refresh) = refresh {
                let (db, digest) = (state.db.clone(), digest.clone());
                cache.refresh(refresh, vec![hit.0.id], async move {
                    read(db.conn(), &digest).await.ok().flatten()
                });
            }
            (*hit).clone()
        }
        None => match read(state.db.conn(), &digest).await? {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let now = Utc::now();
    let idle_deadline = s.last_seen_at + Duration::minutes(state.settings.session_idle_minutes);
    if now >= s.expires_at || now >= idle_deadline {
        session::Entity::delete_by_id(s.id)
            .exec(state.db.conn())
            .await?;
        cache.forget(CACHE_KIND, &digest);
        return Ok(None);
    }
    let touch = now - s.last_seen_at > TOUCH_EVERY;
    if touch {
        // The cached copy carries the new time so the next requests don't touch again.
        s.last_seen_at = now;
    }
    if touch || !was_cached {
        cache.put(
            read_at,
            CACHE_KIND,
            digest,
            vec![u.id],
            Arc::new((u.clone(), s.clone())),
        );
    }
    if touch {
        let db = state.db.clone();
        let id = s.id;
        // Best effort and off the request path: a missed touch only shortens idle expiry.
        tokio::spawn(async move {
            let _ = session::Entity::update_many()
                .col_expr(
                    session::Column::LastSeenAt,
                    sea_orm::sea_query::Expr::value(Utc::now()),
                )
                .filter(session::Column::Id.eq(id))
                .exec(db.conn())
                .await;
        });
    }
    Ok(Some((u, s)))
}

/// The session with this token digest and its user, whether alive or not.
async fn read(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<(user::Model, session::Model)>, sea_orm::DbErr> {
    let found = session::Entity::find()
        .find_also_related(user::Entity)
        .filter(session::Column::TokenDigest.eq(digest))
        .one(db)
        .await?;
    Ok(found.and_then(|(s, u)| Some((u?, s))))
}

/// The session token from the request's cookies.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

pub fn set_cookie(state: &AppState, token: &str) -> HeaderValue {
    let max_age = state.settings.session_absolute_hours * 3600;
    cookie(state, token, max_age)
}

pub fn clear_cookie(state: &AppState) -> HeaderValue {
    cookie(state, "", 0)
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("nexus_session=; Path=/; Max-Age=0"))
}
