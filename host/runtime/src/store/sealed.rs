//! The connectors' values sealed at rest: XChaCha20-Poly1305, a fresh random
//! 192-bit nonce for every write, and the namespace and key as associated
//! data, so a value copied under another key or connector does not open.
//!
//! A sealed value is `version (1 byte) ‖ nonce (24) ‖ ciphertext and tag`.
//! The key comes from `CORRIDOR_STORE_KEY` (64 hex digits) if set, else from
//! `store.key` beside the database, created once with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::StoreError;

pub use crate::store_error::{KEY_ENV, KEY_FILE};

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
/// The first byte of every sealed value, so a later format can be told apart.
const FORMAT_VERSION: u8 = 1;

/// The 256-bit key that seals the connectors' values. Never printed.
#[derive(Clone)]
pub struct StoreKey([u8; KEY_BYTES]);

impl StoreKey {
    /// A fresh random key.
    pub fn generate() -> StoreKey {
        StoreKey(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// A key from 64 hex digits; `origin` names where they came from, for the error.
    pub fn from_hex(text: &str, origin: &str) -> Result<StoreKey, StoreError> {
        let problem = |problem: &'static str| StoreError::KeyFormat {
            origin: origin.to_string(),
            problem,
        };
        let bytes = hex::decode(text.trim()).map_err(|_| problem("it is not hex"))?;
        let key: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| problem("it is not 64 hex digits (32 bytes)"))?;
        Ok(StoreKey(key))
    }

    /// `CORRIDOR_STORE_KEY` if set, else `<data_dir>/store.key`, created with a
    /// fresh key (mode 0600) the first time.
    pub fn resolve(data_dir: &Path) -> Result<StoreKey, StoreError> {
        match std::env::var(KEY_ENV) {
            Ok(text) => StoreKey::from_hex(&text, KEY_ENV),
            Err(_) => StoreKey::load_or_create(&data_dir.join(KEY_FILE)),
        }
    }

    /// Reads the key file, or creates it. Creation writes a temporary file and
    /// links it into place, so two hosts starting at once agree on one key and
    /// neither reads a half-written file.
    pub fn load_or_create(path: &Path) -> Result<StoreKey, StoreError> {
        let io_error = |source| StoreError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return StoreKey::from_hex(&text, &path.display().to_string()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error(error)),
        }
        let key = StoreKey::generate();
        let temporary = temporary_path(path);
        write_private(&temporary, &hex::encode(key.0)).map_err(io_error)?;
        let linked = std::fs::hard_link(&temporary, path);
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created the store key");
                Ok(key)
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(io_error)?;
                StoreKey::from_hex(&text, &path.display().to_string())
            }
            Err(error) => Err(io_error(error)),
        }
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("StoreKey([redacted])")
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let suffix: u64 = rand::random();
    path.with_extension(format!("key.{suffix:016x}.tmp"))
}

/// Writes `text` to a new file only its owner can read, and syncs it.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Seals and opens values with one key: the connectors' store's values, and
/// anything else the host keeps at rest that must not be read from the file
/// (a connector version's secrets). The namespace and key are bound to the
/// ciphertext, so a sealed value cannot be moved to another row.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer with `key`.
    pub fn new(key: &StoreKey) -> Sealer {
        Sealer {
            cipher: XChaCha20Poly1305::new(&key.0.into()),
        }
    }

    /// `value` sealed under `namespace` and `key`.
    pub fn seal(&self, namespace: &str, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(namespace, key);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: value,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Seal {
                namespace: namespace.to_string(),
                key: key.to_string(),
            })?;
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// The value sealed under `namespace` and `key`, if it opens.
    pub fn open(&self, namespace: &str, key: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let unsealable = || StoreError::Unsealable {
            namespace: namespace.to_string(),
            key: key.to_string(),
        };
        let (version, rest) = sealed.split_first().ok_or_else(unsealable)?;
        if *version != FORMAT_VERSION || rest.len() < NONCE_BYTES {
            return Err(unsealable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let aad = associated_data(namespace, key);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| unsealable())
    }
}

/// The namespace's length, the namespace, then the key: unambiguous, so
/// `("ab", "c")` and `("a", "bc")` bind differently.
fn associated_data(namespace: &str, key: &str) -> Vec<u8> {
    let length = u32::try_from(namespace.len()).unwrap_or(u32::MAX);
    let mut aad = Vec::with_capacity(4 + namespace.len() + key.len());
    aad.extend_from_slice(&length.to_be_bytes());
    aad.extend_from_slice(namespace.as_bytes());
    aad.extend_from_slice(key.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_own_namespace_key_and_store_key() {
        let sealer = Sealer::new(&StoreKey::generate());
        let sealed = sealer.seal("n", "k", b"token").expect("seal");
        assert!(!sealed.windows(5).any(|window| window == b"token"));
        assert_eq!(sealer.open("n", "k", &sealed).expect("open"), b"token");
        assert_ne!(sealer.seal("n", "k", b"token").expect("seal"), sealed);
        for (namespace, key) in [("n", "j"), ("m", "k"), ("", "nk")] {
            assert!(matches!(
                sealer.open(namespace, key, &sealed),
                Err(StoreError::Unsealable { .. })
            ));
        }
        let other = Sealer::new(&StoreKey::generate());
        assert!(matches!(
            other.open("n", "k", &sealed),
            Err(StoreError::Unsealable { .. })
        ));
        assert!(matches!(
            sealer.open("n", "k", b"plain"),
            Err(StoreError::Unsealable { .. })
        ));
    }

    #[test]
    fn the_key_file_is_created_once_private_and_then_reused() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join(KEY_FILE);
        let first = StoreKey::load_or_create(&path).expect("created");
        let again = StoreKey::load_or_create(&path).expect("read");
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(folder.path()).expect("list").count(), 1);
        std::fs::write(&path, "not hex").expect("write");
        assert!(matches!(
            StoreKey::load_or_create(&path),
            Err(StoreError::KeyFormat { .. })
        ));
    }
}
