//! Start the real Nexus router on a random port over a fresh database: a temp SQLite file,
//! or a new PostgreSQL database that the server reaches as `nexus_app`, a role that cannot
//! bypass row-level security (migrations run as the superuser, as in production they run
//! as the schema owner).
//!
//! PostgreSQL comes from `NEXUS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). When it does not answer, PostgreSQL tests
//! are skipped with a notice, unless `NEXUS_TEST_POSTGRES=require` (as in CI), which makes
//! them fail.

mod client;
pub mod fake_ai;

pub use client::{Client, Resp, member_with_role};

use nexus_kernel::AppState;
use nexus_kernel::config::Settings;
use sea_orm::{ConnectionTrait, Database};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

pub const APP_ROLE: &str = "nexus_app";
pub const ADMIN_EMAIL: &str = "operator@nexus.test";
pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub engine: Engine,
    pg_database: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server's task: it ends when `serve` has drained and closed the database.
    served: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// Warnings and errors from the server go to the test's output (shown when it fails), so
/// a 500's cause is visible. `NEXUS_LOG` changes the level.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("NEXUS_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

fn admin_url() -> String {
    std::env::var("NEXUS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn postgres_required() -> bool {
    std::env::var("NEXUS_TEST_POSTGRES").is_ok_and(|v| v == "require")
}

/// The Redis tests share replicas through (`NEXUS_TEST_REDIS_URL`, else the local one), or
/// `None` when it does not answer: the caller skips, with a notice, unless
/// `NEXUS_TEST_REDIS=require` (CI), which fails instead.
pub async fn test_redis_url() -> Option<String> {
    let url =
        std::env::var("NEXUS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let reachable = async {
        let client = redis::Client::open(url.as_str())?;
        let mut con = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut con).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), reachable).await {
        Ok(Ok(_)) => Some(url),
        outcome => {
            let why = match outcome {
                Ok(Err(err)) => err.to_string(),
                Err(_) => "no answer in 3 s".into(),
                Ok(Ok(_)) => unreachable!(),
            };
            if std::env::var("NEXUS_TEST_REDIS").is_ok_and(|v| v == "require") {
                panic!(
                    "Redis is required (NEXUS_TEST_REDIS=require) but not usable at {url}: {why}"
                );
            }
            static NOTICE: AtomicBool = AtomicBool::new(false);
            if !NOTICE.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "NOTICE: Redis not reachable at {url} ({why}); skipping the Redis tests. Set NEXUS_TEST_REDIS=require to fail instead."
                );
            }
            None
        }
    }
}

/// Settings for tests: generous auth limits (tests sign up many users from one address),
/// a known operator email.
pub fn test_settings(dir: &std::path::Path) -> Settings {
    Settings {
        data_dir: dir.to_path_buf(),
        admin_emails: ADMIN_EMAIL.into(),
        auth_rate_per_minute: 100_000,
        database_max_connections: 8,
        // Every test has its own database: open connections as the test needs them.
        database_min_connections: 1,
        ..Settings::default()
    }
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Option<Self> {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Start with settings adjusted by `tweak`. `None` means "PostgreSQL unavailable and
    /// not required": the caller skips.
    pub async fn spawn_with(engine: Engine, tweak: impl FnOnce(&mut Settings)) -> Option<Self> {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = test_settings(dir.path());
        let mut pg_database = None;
        if engine == Engine::Postgres {
            let (name, admin) = match create_pg_database().await {
                Ok(v) => v,
                Err(err) if !postgres_required() => {
                    static NOTICE: AtomicBool = AtomicBool::new(false);
                    if !NOTICE.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "NOTICE: PostgreSQL not reachable ({err}); skipping PostgreSQL tests. Set NEXUS_TEST_POSTGRES=require to fail instead."
                        );
                    }
                    return None;
                }
                Err(err) => panic!(
                    "PostgreSQL is required (NEXUS_TEST_POSTGRES=require) but not usable: {err:#}"
                ),
            };
            let mut owner = reqwest::Url::parse(&admin).expect("admin url");
            owner.set_path(&format!("/{name}"));
            let mut app = owner.clone();
            app.set_username(APP_ROLE).expect("username");
            app.set_password(None).expect("password");
            settings.migration_database_url = Some(owner.to_string());
            settings.database_url = Some(app.to_string());
            settings.database_app_role = Some(APP_ROLE.into());
            pg_database = Some((name, admin));
        }
        tweak(&mut settings);
        Some(Self::start(settings, engine, pg_database, dir).await)
    }

    /// Another replica of this server: same settings and database, adjusted by `tweak`
    /// (what a second instance behind the load balancer would be). The database stays
    /// with the first.
    pub async fn replica(&self, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = (*self.state.settings).clone();
        tweak(&mut settings);
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start(settings, self.engine, None, dir).await
    }

    async fn start(
        settings: Settings,
        engine: Engine,
        pg_database: Option<(String, String)>,
        dir: tempfile::TempDir,
    ) -> Self {
        let state = nexus_server::build_state(settings)
            .await
            .expect("build state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        let served = tokio::spawn(async move {
            let _ = nexus_server::serve::serve(serve_state, listener, async {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            base: format!("http://{addr}"),
            addr,
            state,
            engine,
            pg_database,
            shutdown: Some(tx),
            served: Some(served),
            _dir: dir,
        }
    }

    /// Ask the server to shut down gracefully (as SIGTERM does), keeping the database.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Whether the server, once asked to shut down, finished draining (requests, answers
    /// and WebSocket sessions) and closed its database within `within`.
    pub async fn stopped_within(&mut self, within: std::time::Duration) -> bool {
        match self.served.take() {
            Some(served) => tokio::time::timeout(within, served).await.is_ok(),
            None => true,
        }
    }

    /// A client with its own cookie jar (a separate browser).
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A connection to the same database as the superuser/owner (PostgreSQL) or the file
    /// (SQLite), for tests that inspect or tamper with rows directly.
    pub async fn owner_db(&self) -> sea_orm::DatabaseConnection {
        let url = self
            .state
            .settings
            .migration_database_url
            .clone()
            .unwrap_or_else(|| self.state.settings.database_url());
        Database::connect(url).await.expect("owner connection")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((name, admin)) = self.pg_database.take() {
            // Drop the per-test database on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(db) = Database::connect(admin).await {
                        let _ = db
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn create_pg_database() -> anyhow::Result<(String, String)> {
    let admin = admin_url();
    let mut opts = sea_orm::ConnectOptions::new(admin.clone());
    opts.connect_timeout(std::time::Duration::from_secs(3))
        .sqlx_logging(false)
        .max_connections(1);
    let db = Database::connect(opts).await?;
    // Roles are cluster-wide and tests run in parallel processes: tolerate the race.
    let _ = db
        .execute_unprepared(&format!(
            "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .await;
    let name = format!("nexus_t_{}", uuid::Uuid::new_v4().simple());
    db.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    db.close().await?;
    Ok((name, admin))
}

/// Run one async test body on SQLite and on PostgreSQL:
/// `both_engines!(my_test);` with `async fn my_test(app: TestApp)`.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::TestApp::spawn($crate::Engine::Sqlite).await {
                    super::$name(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::TestApp::spawn($crate::Engine::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}
