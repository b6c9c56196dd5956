//! argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane), run on the blocking
//! pool so a burst of logins never stalls the async executor.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

fn argon() -> Argon2<'static> {
    // The parameters are constants that are valid; `Params::DEFAULT` is the fallback
    // only to avoid a panic path.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the email is unknown so that
/// a wrong email takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("not-a-real-password-7f3a").unwrap_or_default());

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// At most one hash per core at a time. Each hash touches a fresh 19 MiB; dozens at once
/// spend the machine on page faults instead of hashing (the benchmark showed login
/// throughput falling by half at 64 concurrent logins), so extra logins queue here.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
    )
});

pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Verify against `hash`, or against a dummy hash when there is none.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_blocking(&password, &h),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}
