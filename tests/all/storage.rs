//! The storage import: durable across restarts, atomic compare-and-swap.

use std::sync::Arc;

use corridor_host::SqliteStore;
use corridor_tests::{runtime_config, runtime_with, testbed};

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
