//! Compiled components are cached by content hash and verified before use.

use corridor_tests::{runtime_config, runtime_with, testbed_policy, testbed_wasm};

#[tokio::test]
async fn a_second_load_comes_from_the_cache_and_a_corrupt_entry_is_recompiled() {
    let folder = tempfile::tempdir().expect("temp dir");
    let config = corridor_host::RuntimeConfig {
        cache_dir: Some(folder.path().to_path_buf()),
        ..runtime_config()
    };
    let store = std::sync::Arc::new(corridor_host::SqliteStore::in_memory().expect("store"));
    let runtime = runtime_with(config, store);

    let first = runtime
        .load(&testbed_wasm(), testbed_policy("echo", ""))
        .await
        .expect("loads");
    assert!(!first.compiled_from_cache());
    let second = runtime
        .load(&testbed_wasm(), testbed_policy("echo", ""))
        .await
        .expect("loads");
    assert!(second.compiled_from_cache());

    let entry = std::fs::read_dir(folder.path())
        .expect("cache dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.extension()
                .is_some_and(|extension| extension == "cwasm")
        })
        .expect("a cache entry");
    let mut bytes = std::fs::read(&entry).expect("read entry");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, bytes).expect("corrupt entry");

    let third = runtime
        .load(&testbed_wasm(), testbed_policy("echo", ""))
        .await
        .expect("recompiles");
    assert!(!third.compiled_from_cache());
    assert_eq!(third.describe().await.expect("runs").id, "testbed");
}
