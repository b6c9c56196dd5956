//! Envelope encryption. Each workspace has data keys (random AES-256 keys); data keys are
//! stored wrapped (encrypted) under the installation's master key. Rotating the master key
//! re-wraps data keys and never touches the secrets themselves.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::Path;

const NONCE_LEN: usize = 12;

/// A 256-bit key that never prints.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(redacted)")
    }
}

impl Key {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    pub fn from_base64(s: &str) -> anyhow::Result<Self> {
        let bytes = B64
            .decode(s.trim())
            .context("the master key is not valid base64")?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow!("the master key must be 32 bytes (base64 of 32 random bytes)"))?;
        Ok(Self(arr))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// A public name for the key: the first 8 bytes of its SHA-256, hex.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.0)[..8])
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }

    /// Encrypt; the associated data binds the ciphertext to where it is stored.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| anyhow!("encryption failed"))?;
        Ok((nonce.to_vec(), ct))
    }

    pub fn open(&self, nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        if nonce.len() != NONCE_LEN {
            bail!("bad nonce length");
        }
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| anyhow!("decryption failed: wrong key or tampered ciphertext"))
    }
}

/// The master key in use plus any older ones still able to unwrap (during a rotation).
#[derive(Clone, Debug)]
pub struct Keyring {
    current: Key,
    older: Vec<Key>,
}

impl Keyring {
    pub fn new(current: Key) -> Self {
        Self {
            current,
            older: Vec::new(),
        }
    }

    /// The master key from `NEXUS_MASTER_KEY`, else from the key file, generating the file
    /// (mode 0600) on first run. A `<file>.new` left by an interrupted rotation is loaded too.
    pub fn load(configured: Option<&SecretString>, file: &Path) -> anyhow::Result<Self> {
        let mut ring = match configured {
            Some(k) => Self::new(Key::from_base64(k.expose_secret())?),
            None => {
                if file.exists() {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    Self::new(Key::from_base64(&text)?)
                } else {
                    let key = Key::generate();
                    write_key_file(file, &key)?;
                    tracing::info!(path = %file.display(), "generated a new master key file; back it up");
                    Self::new(key)
                }
            }
        };
        let pending = pending_path(file);
        if pending.exists() {
            let text = std::fs::read_to_string(&pending)?;
            ring.older.push(Key::from_base64(&text)?);
        }
        Ok(ring)
    }

    pub fn current(&self) -> &Key {
        &self.current
    }

    pub fn by_id(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id() == id)
    }

    /// Wrap a data key under the current master key: returns (master key id, nonce ‖ ct).
    pub fn wrap(&self, data_key: &Key, aad: &[u8]) -> anyhow::Result<(String, Vec<u8>)> {
        let (nonce, ct) = self.current.seal(&data_key.0, aad)?;
        Ok((self.current.id(), [nonce, ct].concat()))
    }

    pub fn unwrap_key(
        &self,
        master_key_id: &str,
        wrapped: &[u8],
        aad: &[u8],
    ) -> anyhow::Result<Key> {
        let master = self
            .by_id(master_key_id)
            .ok_or_else(|| anyhow!("master key {master_key_id} is not loaded"))?;
        if wrapped.len() < NONCE_LEN {
            bail!("wrapped key too short");
        }
        let plain = master.open(&wrapped[..NONCE_LEN], &wrapped[NONCE_LEN..], aad)?;
        let arr: [u8; 32] = plain
            .try_into()
            .map_err(|_| anyhow!("unwrapped key has the wrong length"))?;
        Ok(Key(arr))
    }
}

pub fn pending_path(file: &Path) -> std::path::PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".new");
    p.into()
}

/// Write a key file readable by its owner only, atomically (temp file, then rename).
pub fn write_key_file(path: &Path, key: &Key) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(key.to_base64().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
