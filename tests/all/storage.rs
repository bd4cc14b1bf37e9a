//! The storage import: durable across restarts, atomic compare-and-swap.

use std::sync::Arc;

use corridor_host::engine::model::TransferState;
use corridor_host::store::StoreKey;
use corridor_host::{KvStore, SqliteStore, StoreError};
use corridor_tests::{Corridor, RECIPIENT, Setup, runtime_config, runtime_with, testbed};

use crate::quote_value;

#[tokio::test]
async fn storage_survives_a_host_restart() {
    let folder = tempfile::tempdir().expect("temp dir");
    let database = folder.path().join("corridor.db");
    for expected in 1..=2 {
        // A new store and runtime each round: a restarted host.
        let store = Arc::new(SqliteStore::open(&database).expect("open"));
        let runtime = runtime_with(runtime_config(), store);
        let connector = testbed(&runtime, "increment", "").await;
        assert_eq!(quote_value(&connector).await.expect("runs"), Ok(expected));
    }
}

#[tokio::test]
async fn compare_and_swap_is_atomic_under_concurrent_invocations() {
    let folder = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(&folder.path().join("corridor.db")).expect("open"));
    let runtime = runtime_with(runtime_config(), store);
    let connector = Arc::new(testbed(&runtime, "increment", "").await);
    let racers = 24;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..racers {
        let connector = connector.clone();
        tasks.spawn(async move { quote_value(&connector).await });
    }
    let mut seen = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        seen.push(joined.expect("join").expect("runs").expect("increments"));
    }
    seen.sort_unstable();
    // Every increment won exactly once: the values are 1..=racers, no repeats.
    assert_eq!(seen, (1..=racers).collect::<Vec<i64>>());
    assert_eq!(quote_value(&connector).await.expect("runs"), Ok(racers + 1));
}

/// The database file and its WAL and shared-memory files, as bytes: whatever
/// a copy of the data directory would hold.
fn raw_database(database: &std::path::Path) -> Vec<u8> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::read(format!("{}{suffix}", database.display())).ok())
        .flatten()
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The testbed that stores its secret under `token`.
async fn remember_secret(store: Arc<SqliteStore>) {
    let runtime = runtime_with(runtime_config(), store);
    let connector = runtime
        .load(
            &corridor_tests::testbed_wasm(),
            corridor_tests::policy("testbed", "[config]\nbehaviour = \"remember\"\n[secrets]\nsecret = { env = \"TESTBED_SECRET\" }\n"),
        )
        .await
        .expect("loads");
    let stored_bytes = "hunter2-secret".len() as i64;
    assert_eq!(
        quote_value(&connector).await.expect("runs"),
        Ok(stored_bytes)
    );
}

#[tokio::test]
async fn a_value_a_connector_stores_is_ciphertext_in_the_database_file() {
    let folder = tempfile::tempdir().expect("temp dir");
    let database = folder.path().join("corridor.db");
    let store = Arc::new(SqliteStore::open(&database).expect("open"));
    remember_secret(store.clone()).await;
    assert_eq!(
        store
            .get("testbed", "token")
            .expect("the host reads it back"),
        Some(b"hunter2-secret".to_vec())
    );
    let raw = raw_database(&database);
    assert!(contains(&raw, b"token"), "keys stay readable for operators");
    assert!(
        !contains(&raw, b"hunter2-secret"),
        "the stored value is in plain text on disk"
    );
    assert!(
        folder.path().join("store.key").exists(),
        "the key was created beside the database"
    );
}

#[tokio::test]
async fn a_wrong_store_key_fails_reads_with_a_typed_error() {
    let folder = tempfile::tempdir().expect("temp dir");
    let database = folder.path().join("corridor.db");
    let store = SqliteStore::open_with_key(&database, &StoreKey::generate()).expect("open");
    remember_secret(Arc::new(store)).await;
    let other = SqliteStore::open_with_key(&database, &StoreKey::generate()).expect("open");
    match other.get("testbed", "token") {
        Err(StoreError::Unsealable { namespace, key }) => {
            assert_eq!((namespace.as_str(), key.as_str()), ("testbed", "token"));
        }
        other => panic!("expected a value that cannot be decrypted, got {other:?}"),
    }
}

#[tokio::test]
async fn after_a_full_transfer_the_daraja_token_is_not_in_plain_text_on_disk() {
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    assert_eq!(corridor.pay(&transfer).await, "9000");
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    // A second reader of the same database, with the key beside it: what the
    // connector cached, in plain text.
    let database = corridor.data_dir().join("corridor.db");
    let reader = SqliteStore::open(&database).expect("open with the host's key");
    let cached = reader
        .get("alipay-mpesa", "mpesa/token")
        .expect("the host's key opens it")
        .expect("the connector cached a Daraja token");
    let token: serde_json::Value = serde_json::from_slice(&cached).expect("the cached token");
    let access_token = token["access_token"].as_str().expect("an access token");
    assert!(access_token.len() >= 16, "a real token: {access_token}");
    let raw = raw_database(&corridor.data_dir().join("corridor.db"));
    assert!(
        !contains(&raw, access_token.as_bytes()) && !contains(&raw, &cached),
        "the OAuth token is in plain text on disk"
    );
}
