//! The fake AI provider (OpenAI-compatible and Anthropic) as a process, for the web app's
//! browser tests: `nexus-fake-ai [ADDR]` (default 127.0.0.1:5099). Echo answers stream one
//! word every `FAKE_AI_DELAY_MS` milliseconds (default 40), so a test can watch an answer
//! arrive and stop it. Lists the models fake-small and fake-large; no API key required.

use nexus_testkit::fake_ai::FakeAi;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5099".into());
    let delay = std::env::var("FAKE_AI_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let fake = FakeAi::start_on(&addr, None).await;
    fake.set_echo_delay(Duration::from_millis(delay));
    println!("{}", fake.base_url());
    let _ = tokio::signal::ctrl_c().await;
}
