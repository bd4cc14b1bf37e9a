//! The host's durable store.
//!
//! [`KvStore`] is what the connectors' `storage` capability needs: a key-value
//! namespace per connector with compare-and-swap. [`SqliteStore`] is the embedded
//! default: tables in the host's one [`Database`] file, which it shares with
//! the transfer engine (WAL mode, `synchronous=FULL`: a write is on disk when
//! the call returns). A PostgreSQL backend implements the same
//! trait when several hosts share one database.
//!
//! Every value is sealed at rest (see [`sealed`]): a connector's OAuth token
//! or signed order in the database file, a backup or a copied WAL is
//! ciphertext. The trait deals in plaintext; each backend seals.
//!
//! Calls block (SQLite does file I/O); async callers run them on the blocking pool.

mod sealed;

use std::path::Path;
use std::sync::{Arc, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

pub use self::sealed::{KEY_ENV, KEY_FILE, Sealer, StoreKey};
use crate::database::Database;
pub use crate::store_error::StoreError;

/// A durable key-value store, one namespace per connector.
pub trait KvStore: Send + Sync + 'static {
    /// The value under `key`, or `None`.
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores `value` under `key`. Adding a key beyond `max_keys` fails.
    fn set(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        max_keys: u64,
    ) -> Result<(), StoreError>;

    /// Removes `key`, if present.
    fn delete(&self, namespace: &str, key: &str) -> Result<(), StoreError>;

    /// Atomically replaces the value under `key` with `new` (`None` deletes) if
    /// the current value equals `expected` (`None`: absent). Returns whether it did.
    fn compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        max_keys: u64,
    ) -> Result<bool, StoreError>;
}

/// The embedded SQLite store: the `connector_kv` tables of the host's
/// [`Database`], whose migrations create them.
pub struct SqliteStore {
    database: Arc<Database>,
    sealer: Arc<Sealer>,
}

impl SqliteStore {
    /// The store in `database`, sealing with `key`.
    pub fn new(database: Arc<Database>, key: &StoreKey) -> SqliteStore {
        SqliteStore {
            database,
            sealer: Arc::new(Sealer::new(key)),
        }
    }

    /// Opens (creating if needed) the database file at `path`, with the key
    /// from `CORRIDOR_STORE_KEY` or the `store.key` file beside the database
    /// (created the first time).
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let data_dir = path.parent().unwrap_or_else(|| Path::new("."));
        SqliteStore::open_with_key(path, &StoreKey::resolve(data_dir)?)
    }

    /// Opens (creating if needed) the database file at `path` with `key`.
    pub fn open_with_key(path: &Path, key: &StoreKey) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore::new(Arc::new(Database::open(path)?), key))
    }

    /// An in-memory database under a fresh key, for tests and benchmarks that
    /// need no durability.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore::new(
            Arc::new(Database::in_memory()?),
            &StoreKey::generate(),
        ))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.database.lock()
    }
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn current(
    transaction: &Connection,
    namespace: &str,
    key: &str,
) -> rusqlite::Result<Option<Vec<u8>>> {
    transaction
        .query_row(
            "SELECT value FROM connector_kv WHERE namespace = ?1 AND key = ?2",
            params![namespace, key],
            |row| row.get(0),
        )
        .optional()
}

/// Writes `new` over whatever is at `key` (known to be `existing`), keeping the
/// per-namespace key count exact. Runs inside the caller's transaction.
fn write(
    transaction: &Connection,
    namespace: &str,
    key: &str,
    existing: bool,
    new: Option<&[u8]>,
    max_keys: u64,
) -> Result<(), StoreError> {
    match (existing, new) {
        (_, Some(value)) => {
            if !existing {
                let keys: i64 = transaction
                    .query_row(
                        "SELECT keys FROM connector_kv_count WHERE namespace = ?1",
                        params![namespace],
                        |row| row.get(0),
                    )
                    .optional()?
                    .unwrap_or(0);
                if u64::try_from(keys).unwrap_or(u64::MAX) >= max_keys {
                    return Err(StoreError::QuotaExceeded {
                        namespace: namespace.to_string(),
                        max_keys,
                    });
                }
                transaction.execute(
                    "INSERT INTO connector_kv_count (namespace, keys) VALUES (?1, 1)
                     ON CONFLICT (namespace) DO UPDATE SET keys = keys + 1",
                    params![namespace],
                )?;
            }
            transaction.execute(
                "INSERT INTO connector_kv (namespace, key, value, updated_at_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
                params![namespace, key, value, now_ms()],
            )?;
        }
        (true, None) => {
            transaction.execute(
                "DELETE FROM connector_kv WHERE namespace = ?1 AND key = ?2",
                params![namespace, key],
            )?;
            transaction.execute(
                "UPDATE connector_kv_count SET keys = keys - 1 WHERE namespace = ?1",
                params![namespace],
            )?;
        }
        (false, None) => {}
    }
    Ok(())
}

impl KvStore for SqliteStore {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed = current(&self.lock(), namespace, key)?;
        sealed
            .map(|sealed| self.sealer.open(namespace, key, &sealed))
            .transpose()
    }

    fn set(
        &self,
        namespace: &str,
        key: &str,
        value: &[u8],
        max_keys: u64,
    ) -> Result<(), StoreError> {
        let sealed = self.sealer.seal(namespace, key, value)?;
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.database.write(move |connection| {
            let existing = current(connection, &namespace, &key)?.is_some();
            write(
                connection,
                &namespace,
                &key,
                existing,
                Some(&sealed),
                max_keys,
            )
        })
    }

    fn delete(&self, namespace: &str, key: &str) -> Result<(), StoreError> {
        let (namespace, key) = (namespace.to_string(), key.to_string());
        self.database.write(move |connection| {
            let existing = current(connection, &namespace, &key)?.is_some();
            write(connection, &namespace, &key, existing, None, u64::MAX)
        })
    }

    fn compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        max_keys: u64,
    ) -> Result<bool, StoreError> {
        // Seal before the write: a nonce is random, so sealing needs no
        // knowledge of what is stored, and the writer's job stays short.
        let new = new
            .map(|value| self.sealer.seal(namespace, key, value))
            .transpose()?;
        let (namespace, key) = (namespace.to_string(), key.to_string());
        let expected = expected.map(<[u8]>::to_vec);
        let sealer = self.sealer.clone();
        // The writer runs one job at a time inside a transaction begun
        // IMMEDIATE, so the read and the write below are one atomic step,
        // even against other processes sharing the file.
        self.database.write(move |connection| {
            let found = current(connection, &namespace, &key)?;
            // Sealed values differ on every write, so compare what they hold.
            let plaintext = found
                .as_deref()
                .map(|sealed| sealer.open(&namespace, &key, sealed))
                .transpose()?;
            if plaintext != expected {
                return Ok(false);
            }
            write(
                connection,
                &namespace,
                &key,
                found.is_some(),
                new.as_deref(),
                max_keys,
            )?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_swap_succeeds_only_on_the_expected_value() {
        let store = SqliteStore::in_memory().expect("open");
        assert!(
            store
                .compare_and_swap("n", "k", None, Some(b"1"), 10)
                .expect("cas")
        );
        assert!(
            !store
                .compare_and_swap("n", "k", None, Some(b"2"), 10)
                .expect("cas")
        );
        assert!(
            !store
                .compare_and_swap("n", "k", Some(b"0"), Some(b"2"), 10)
                .expect("cas")
        );
        assert!(
            store
                .compare_and_swap("n", "k", Some(b"1"), Some(b"2"), 10)
                .expect("cas")
        );
        assert_eq!(
            store.get("n", "k").expect("get").as_deref(),
            Some(&b"2"[..])
        );
        assert!(
            store
                .compare_and_swap("n", "k", Some(b"2"), None, 10)
                .expect("cas")
        );
        assert_eq!(store.get("n", "k").expect("get"), None);
    }

    #[test]
    fn namespaces_are_separate_and_quotas_count_keys_not_writes() {
        let store = SqliteStore::in_memory().expect("open");
        store.set("a", "k", b"1", 1).expect("first key fits");
        store
            .set("a", "k", b"2", 1)
            .expect("overwriting is not a new key");
        assert!(matches!(
            store.set("a", "j", b"1", 1),
            Err(StoreError::QuotaExceeded { .. })
        ));
        store
            .set("b", "k", b"x", 1)
            .expect("another namespace has its own quota");
        store.delete("a", "k").expect("delete");
        store.delete("a", "k").expect("deleting twice is fine");
        store
            .set("a", "j", b"1", 1)
            .expect("room again after the delete");
        assert_eq!(
            store.get("b", "k").expect("get").as_deref(),
            Some(&b"x"[..])
        );
    }

    #[test]
    fn values_are_sealed_at_rest_and_a_wrong_key_fails_reads_with_a_typed_error() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("kv.db");
        let key = StoreKey::generate();
        let store = SqliteStore::open_with_key(&path, &key).expect("open");
        store
            .set("n", "token", b"plain-token-value", 10)
            .expect("set");
        let raw: Vec<u8> = store
            .lock()
            .query_row("SELECT value FROM connector_kv", [], |row| row.get(0))
            .expect("raw value");
        assert!(!raw.windows(17).any(|window| window == b"plain-token-value"));
        drop(store);
        let wrong = SqliteStore::open_with_key(&path, &StoreKey::generate()).expect("open");
        assert!(matches!(
            wrong.get("n", "token"),
            Err(StoreError::Unsealable { .. })
        ));
        assert!(matches!(
            wrong.compare_and_swap("n", "token", None, Some(b"x"), 10),
            Err(StoreError::Unsealable { .. })
        ));
        let right = SqliteStore::open_with_key(&path, &key).expect("open");
        assert_eq!(
            right.get("n", "token").expect("get").as_deref(),
            Some(&b"plain-token-value"[..])
        );
    }
}
