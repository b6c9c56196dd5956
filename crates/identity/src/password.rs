//! argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane), run on the blocking
//! pool so a burst of logins never stalls the async executor.
//!
//! Hashes are standard PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`); the
//! working memory is ours, so that it can be reused (see [`Arena`]).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{LazyLock, Mutex};
use tokio::sync::Semaphore;

fn owasp_params() -> Params {
    // The parameters are constants that are valid; `Params::DEFAULT` is the fallback
    // only to avoid a panic path.
    Params::new(19 * 1024, 2, 1, None).unwrap_or(Params::DEFAULT)
}

/// The 19 MiB an argon2 hash works in, kept between hashes. Allocating it afresh for
/// each hash costs little on one thread, but two hashes at once fight over the kernel's
/// page faults: measured on the 2-core machine, two threads did 96 hashes/s with fresh
/// memory and 115/s reusing it.
type Arena = Vec<Block>;

/// Idle arenas: at most one per hashing slot (see [`HASHING`]) is ever made.
static ARENAS: Mutex<Vec<Arena>> = Mutex::new(Vec::new());

fn take_arena() -> Arena {
    ARENAS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default()
}

fn return_arena(arena: Arena) {
    ARENAS.lock().unwrap_or_else(|e| e.into_inner()).push(arena);
}

/// Run argon2 into `out` with `arena` as its memory, growing it to fit our parameters.
/// A stored hash with larger parameters (not one we made) gets memory of its own, so a
/// stray row cannot make every arena grow.
fn hash_into(
    argon: &Argon2<'_>,
    params: &Params,
    arena: &mut Arena,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let blocks = params.block_count();
    if blocks > owasp_params().block_count() {
        return argon.hash_password_into(password, salt, out);
    }
    if arena.len() < blocks {
        arena.resize(blocks, Block::default());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut arena[..blocks])
}

fn hash_blocking(arena: &mut Arena, password: &str) -> anyhow::Result<String> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("hashing failed: {e}");
    let params = owasp_params();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(
        &argon,
        &params,
        arena,
        password.as_bytes(),
        salt_bytes,
        &mut out,
    )
    .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

fn verify_blocking(arena: &mut Arena, password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = Output::init_with(expected.len(), |out| {
        hash_into(&argon, &params, arena, password.as_bytes(), salt_bytes, out)
            .map_err(|_| argon2::password_hash::Error::Password)
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|c| c == expected)
}

/// A hash of a random password, verified against when the email is unknown so that
/// a wrong email takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut arena = Arena::new();
    hash_blocking(&mut arena, "not-a-real-password-7f3a").unwrap_or_default()
});

/// At most one hash per core at a time. Each hash works through 19 MiB; dozens at once
/// spend the machine on memory traffic instead of hashing (the benchmark showed login
/// throughput falling by half at 64 concurrent logins), so extra logins queue here.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
    )
});

/// Run `work` on the blocking pool with a hashing slot and an arena.
async fn with_arena<T: Send + 'static>(
    work: impl FnOnce(&mut Arena) -> T + Send + 'static,
) -> anyhow::Result<T> {
    let _permit = HASHING.acquire().await?;
    let result = tokio::task::spawn_blocking(move || {
        let mut arena = take_arena();
        let result = work(&mut arena);
        return_arena(arena);
        result
    })
    .await?;
    Ok(result)
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    with_arena(move |arena| hash_blocking(arena, &password)).await?
}

/// Verify against `hash`, or against a dummy hash when there is none.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    with_arena(move |arena| match hash {
        Some(h) => verify_blocking(arena, &password, &h),
        None => {
            verify_blocking(arena, &password, &DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn our_hashes_are_standard_phc_strings() {
        let mut arena = Arena::new();
        let ours = hash_blocking(&mut arena, "correct horse").expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The reference implementation accepts ours…
        let parsed = PasswordHash::new(&ours).expect("parse");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // …and we accept its hashes, made before the arenas existed.
        let salt = SaltString::generate(&mut OsRng);
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
            .hash_password(b"battery staple", &salt)
            .expect("reference hash")
            .to_string();
        assert!(verify_blocking(&mut arena, "battery staple", &reference));
        assert!(!verify_blocking(&mut arena, "battery stapler", &reference));
    }

    #[test]
    fn a_reused_arena_gives_the_same_answers() {
        let mut arena = Arena::new();
        let first = hash_blocking(&mut arena, "one").expect("hash");
        let second = hash_blocking(&mut arena, "two").expect("hash");
        // Used three times now, with the other password's blocks still in it.
        assert!(verify_blocking(&mut arena, "one", &first));
        assert!(verify_blocking(&mut arena, "two", &second));
        assert!(!verify_blocking(&mut arena, "two", &first));
        assert_eq!(arena.len(), owasp_params().block_count());
    }

    #[test]
    fn malformed_hashes_never_verify() {
        let mut arena = Arena::new();
        for bad in [
            "",
            "plain text",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=99$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
            "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(!verify_blocking(&mut arena, "pw", bad), "{bad:?}");
        }
    }
}
