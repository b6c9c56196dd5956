//! One typed settings struct: defaults, then an optional `nexus.toml`, then `NEXUS_*`
//! environment variables (nested keys with `__`, e.g. `NEXUS_PLANS__FREE__SEATS=10`).
//! The defaults make `nexus serve` work with no configuration at all.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: String,
    /// Where the embedded database and the generated master key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Connection used to run migrations (a schema owner); default: `database_url`.
    pub migration_database_url: Option<String>,
    /// PostgreSQL role the server runs as; when set, migrations grant it exactly the
    /// privileges it needs (and no UPDATE/DELETE on the audit log).
    pub database_app_role: Option<String>,
    pub database_max_connections: u32,
    /// PostgreSQL connections kept open while idle, so that a burst does not wait for
    /// new backends (capped at the maximum).
    pub database_min_connections: u32,
    /// Run pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Base64 of 32 bytes. Default: a key file in `data_dir`, generated on first run.
    pub master_key: Option<SecretString>,
    pub master_key_file: Option<PathBuf>,
    /// Comma-separated emails that are platform operators (`system_admin`).
    pub admin_emails: String,
    /// Set `Secure` on cookies (do this behind https).
    pub secure_cookies: bool,
    /// Believe `X-Forwarded-For` (only behind a proxy you run).
    pub trust_proxy: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// How long a replica may keep who a session or API key is, a member's role and a
    /// workspace's AI providers in memory. Changes apply at once on this replica, and
    /// with Redis on every replica; otherwise other replicas see them within this many
    /// seconds. 0 turns caching off.
    pub cache_seconds: u64,
    /// Redis shared by the replicas of one deployment (`redis://host:6379`): cache
    /// invalidation and rate-limit counters. Unset: each replica keeps its own.
    pub redis_url: Option<String>,
    /// Prefix of this deployment's Redis keys and channel, so deployments can share one
    /// Redis.
    pub redis_prefix: String,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    /// Requests per minute per IP on `/auth/*`.
    pub auth_rate_per_minute: u32,
    /// Failed logins in a row before an account is throttled.
    pub login_failures_before_lockout: i32,
    /// `pretty` or `json`.
    pub log_format: String,
    pub plans: Plans,
    /// The platform's default AI provider, offered to every workspace after its own
    /// providers: any OpenAI-compatible endpoint, or Anthropic's (`ai_api`).
    pub ai_base_url: Option<String>,
    /// The wire protocol `ai_base_url` speaks.
    pub ai_api: AiProviderApi,
    pub ai_api_key: Option<SecretString>,
    /// Anthropic only: mark the prompt's stable parts for Anthropic's prompt cache (see
    /// the providers' `prompt_caching`).
    pub ai_prompt_caching: bool,
    /// Comma-separated models of the default provider; the first is the default model.
    pub ai_models: String,
    /// The model used for titles and small tasks (default: the first of `ai_models`).
    pub ai_small_model: Option<String>,
    pub ai_first_token_timeout_secs: u64,
    pub ai_stream_timeout_secs: u64,
    /// When a client disconnects mid-answer: false cancels the upstream request, true
    /// finishes the answer in the background and saves it.
    pub ai_finish_in_background: bool,
    pub ai_cache_ttl_secs: u64,
    /// Completion budget per call (also the quota reservation for the answer).
    pub ai_max_completion_tokens: u32,
    /// How long a provider's circuit stays open after 5 consecutive failures.
    pub ai_breaker_open_secs: u64,
    /// First retry delay (exponential with full jitter, capped at 5 s).
    pub ai_retry_base_ms: u64,
}

/// The wire protocol an AI provider speaks.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AiProviderApi {
    /// OpenAI's Chat Completions (`POST {base_url}/chat/completions`), which OpenAI, Azure
    /// OpenAI, Ollama, vLLM, llama.cpp, LiteLLM and OpenRouter all speak.
    #[default]
    Openai,
    /// Anthropic's Messages API (`POST {base_url}/messages`).
    Anthropic,
}

impl AiProviderApi {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    /// The stored form; `None` for anything we never write.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai" => Some(Self::Openai),
            "anthropic" => Some(Self::Anthropic),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Plans {
    pub free: PlanLimits,
    pub pro: PlanLimits,
    pub enterprise: PlanLimits,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Members plus pending invitations.
    pub seats: u32,
    pub monthly_ai_tokens: u64,
    /// Per API key or user, per workspace.
    pub api_requests_per_minute: u32,
}

impl Default for Plans {
    fn default() -> Self {
        Self {
            free: PlanLimits {
                seats: 5,
                monthly_ai_tokens: 200_000,
                api_requests_per_minute: 600,
            },
            pro: PlanLimits {
                seats: 50,
                monthly_ai_tokens: 5_000_000,
                api_requests_per_minute: 3_000,
            },
            enterprise: PlanLimits {
                seats: 10_000,
                monthly_ai_tokens: 100_000_000,
                api_requests_per_minute: 20_000,
            },
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5000".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            migration_database_url: None,
            database_app_role: None,
            database_max_connections: 16,
            database_min_connections: 16,
            migrate_on_start: true,
            master_key: None,
            master_key_file: None,
            admin_emails: String::new(),
            secure_cookies: false,
            trust_proxy: false,
            session_idle_minutes: 7 * 24 * 60,
            session_absolute_hours: 30 * 24,
            cache_seconds: 5,
            redis_url: None,
            redis_prefix: "nexus".into(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 20,
            auth_rate_per_minute: 60,
            login_failures_before_lockout: 5,
            log_format: "pretty".into(),
            plans: Plans::default(),
            ai_base_url: None,
            ai_api: AiProviderApi::default(),
            ai_prompt_caching: true,
            ai_api_key: None,
            ai_models: String::new(),
            ai_small_model: None,
            ai_first_token_timeout_secs: 30,
            ai_stream_timeout_secs: 300,
            ai_finish_in_background: false,
            ai_cache_ttl_secs: 24 * 3600,
            ai_max_completion_tokens: 2048,
            ai_breaker_open_secs: 30,
            ai_retry_base_ms: 200,
        }
    }
}

/// `NEXUS_*` variables that are not settings: read elsewhere (`NEXUS_LOG`,
/// `NEXUS_CONFIG`, `NEXUS_ADMIN_PASSWORD`) or by the test kit (`NEXUS_TEST_*`). Every
/// other `NEXUS_*` variable must be a setting, so a typo fails loudly at start.
fn is_setting(key: &figment::value::UncasedStr) -> bool {
    let key = key.as_str().to_ascii_lowercase();
    !matches!(key.as_str(), "log" | "config" | "admin_password") && !key.starts_with("test_")
}

impl Settings {
    /// Defaults < `nexus.toml` (or the file named by `NEXUS_CONFIG`) < `NEXUS_*` env.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var("NEXUS_CONFIG").unwrap_or_else(|_| "nexus.toml".into());
        // The default plans are a layer of their own, so that overriding one limit
        // (`NEXUS_PLANS__FREE__SEATS`) keeps the others.
        let settings: Self = Figment::new()
            .merge(Serialized::default("plans", Plans::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("NEXUS_").filter(is_setting).split("__"))
            .extract()?;
        Ok(settings)
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("nexus.db").display()
            )
        })
    }

    pub fn master_key_file(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    pub fn is_admin_email(&self, email: &str) -> bool {
        self.admin_emails
            .split(',')
            .map(str::trim)
            .any(|a| !a.is_empty() && a.eq_ignore_ascii_case(email))
    }

    pub fn plan(&self, plan: crate::modules::Plan) -> PlanLimits {
        use crate::modules::Plan;
        match plan {
            Plan::Free => self.plans.free,
            Plan::Pro => self.plans.pro,
            Plan::Enterprise => self.plans.enterprise,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn env_overrides_one_plan_limit_and_keeps_the_rest() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("NEXUS_PLANS__FREE__SEATS", "9");
            jail.set_env("NEXUS_LISTEN", "0.0.0.0:8080");
            jail.set_env("NEXUS_LOG", "debug");
            jail.set_env("NEXUS_TEST_POSTGRES", "require");
            let s = Settings::load().map_err(|e| e.to_string())?;
            assert_eq!(s.plans.free.seats, 9);
            assert_eq!(
                s.plans.free.api_requests_per_minute,
                Plans::default().free.api_requests_per_minute
            );
            assert_eq!(s.listen, "0.0.0.0:8080");
            assert_eq!(s.ai_api, AiProviderApi::Openai, "the default protocol");
            assert!(s.ai_prompt_caching, "prompt caching is on by default");
            jail.set_env("NEXUS_AI_PROMPT_CACHING", "false");
            assert!(
                !Settings::load()
                    .map_err(|e| e.to_string())?
                    .ai_prompt_caching
            );
            jail.set_env("NEXUS_AI_API", "anthropic");
            assert_eq!(
                Settings::load().map_err(|e| e.to_string())?.ai_api,
                AiProviderApi::Anthropic
            );
            jail.set_env("NEXUS_AI_API", "gemini");
            assert!(Settings::load().is_err(), "an unknown protocol is an error");
            jail.set_env("NEXUS_AI_API", "openai");
            jail.set_env("NEXUS_LISTN", "typo");
            assert!(
                Settings::load().is_err(),
                "an unknown NEXUS_ variable is an error"
            );
            Ok(())
        });
    }
}
