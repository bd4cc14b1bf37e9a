//! The stores' one error type, apart from both stores and the database file
//! they share, so each of them depends on it and none on the other.

/// The environment variable that holds the store key, as 64 hex digits.
pub const KEY_ENV: &str = "CORRIDOR_STORE_KEY";
/// The key file's name in the data directory, used when `CORRIDOR_STORE_KEY`
/// is not set.
pub const KEY_FILE: &str = "store.key";

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The namespace holds its quota of keys already.
    #[error("namespace {namespace:?} holds its quota of {max_keys} keys")]
    QuotaExceeded {
        /// The namespace.
        namespace: String,
        /// Its quota.
        max_keys: u64,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// A stored value did not decrypt: the store key is not the one it was
    /// written with, or the value was altered or moved from another key.
    #[error(
        "the value of {namespace:?}/{key:?} cannot be decrypted: the store key is not the one it was written with ({KEY_ENV} or {KEY_FILE}), or the value was altered or moved"
    )]
    Unsealable {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// A value could not be encrypted (it is larger than the cipher allows).
    #[error("the value of {namespace:?}/{key:?} cannot be encrypted")]
    Seal {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// The store key is malformed.
    #[error("the store key from {origin} is unusable: {problem}")]
    KeyFormat {
        /// `CORRIDOR_STORE_KEY` or the key file's path.
        origin: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The key file could not be read or created.
    #[error("cannot read or create the store key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file's schema could not be brought to the newest version: a
    /// migration failed, or a newer host made the file.
    #[error("database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The database could not be opened.
    #[error("cannot open the database at {path}: {source}")]
    Open {
        /// Where.
        path: String,
        /// Why.
        source: rusqlite::Error,
    },
}
