//! Turn settings into a running state: open the database, migrate, load the master key.

use crate::migrator::Migrator;
use nexus_kernel::AppState;
use nexus_kernel::config::Settings;
use nexus_kernel::crypto::Keyring;
use nexus_kernel::db::Db;
use nexus_kernel::migrations::{grant_app_role, role_bypasses_rls};
use nexus_kernel::rate_limit::RateLimiter;
use nexus_kernel::replicas::Redis;
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;

/// Run pending migrations over the migration connection (a schema owner), then grant the
/// runtime role its privileges if one is configured.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    ensure_data_dir(settings)?;
    let url = settings
        .migration_database_url
        .clone()
        .unwrap_or_else(|| settings.database_url());
    let db = Db::connect(&url, 2, 1).await?;
    Migrator::up(db.conn(), None).await?;
    if let Some(role) = &settings.database_app_role {
        grant_app_role(db.conn(), role).await?;
    }
    db.conn().clone().close().await?;
    Ok(())
}

fn ensure_data_dir(settings: &Settings) -> anyhow::Result<()> {
    if settings.database_url.is_none() || settings.master_key.is_none() {
        std::fs::create_dir_all(&settings.data_dir)?;
    }
    Ok(())
}

pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    ensure_data_dir(&settings)?;
    nexus_kernel::db::engine_of(&settings.database_url())?;
    if settings.migrate_on_start {
        migrate(&settings).await?;
    }
    let db = Db::connect(
        &settings.database_url(),
        settings.database_max_connections,
        settings.database_min_connections,
    )
    .await?
    .with_cache_ttl(std::time::Duration::from_secs(settings.cache_seconds));
    if role_bypasses_rls(db.conn()).await? {
        tracing::warn!(
            "the database role bypasses row-level security (superuser or BYPASSRLS); run the server as a role without it (see docs/operations.md)"
        );
    }
    let keyring = Keyring::load(settings.master_key.as_ref(), &settings.master_key_file())?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let redis = match &settings.redis_url {
        Some(url) => {
            let redis = Redis::connect(url, &settings.redis_prefix).await?;
            redis.share_forgets(&db, &shutdown);
            Some(redis)
        }
        None => None,
    };
    let limiter = match &redis {
        Some(redis) => RateLimiter::shared(redis.clone()),
        None => RateLimiter::default(),
    };
    Ok(AppState {
        db,
        settings: Arc::new(settings),
        keyring: Arc::new(keyring),
        limiter: Arc::new(limiter),
        redis,
        shutdown,
        tasks: tokio_util::task::TaskTracker::new(),
    })
}
