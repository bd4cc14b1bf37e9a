//! Hostile guests end with typed errors, and the host keeps serving.

use std::time::Duration;

use corridor_host::{InvokeErrorKind, RuntimeConfig};
use corridor_tests::{runtime, runtime_config, runtime_with, testbed};

use crate::{assert_host_still_serves, quote_value};

#[tokio::test]
async fn an_infinite_loop_ends_with_a_timeout_within_the_deadline_plus_one_tick() {
    let runtime = runtime();
    let connector = testbed(&runtime, "loop", "[limits]\ndeadline_ms = 200\n").await;
    let error = quote_value(&connector)
        .await
        .expect_err("the loop cannot return");
    assert_eq!(error.connector, "testbed");
    assert_eq!(error.call, "quote");
    match error.kind {
        InvokeErrorKind::Timeout {
            deadline_ms,
            elapsed_ms,
        } => {
            assert_eq!(deadline_ms, 200);
            assert!(elapsed_ms >= 200, "stopped early, at {elapsed_ms} ms");
            // The bound is the deadline plus one 10 ms epoch tick; the rest is
            // allowance for a loaded CI machine. `corridor bench` measures the
            // real overrun.
            assert!(
                elapsed_ms <= 200 + 10 + 250,
                "stopped late, at {elapsed_ms} ms"
            );
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_host_still_serves(&runtime, &connector).await;
}

#[tokio::test]
async fn an_allocation_bomb_ends_with_a_memory_limit_error() {
    let runtime = runtime();
    let connector = testbed(&runtime, "alloc", "[limits]\nmemory_bytes = 16777216\n").await;
    let error = quote_value(&connector)
        .await
        .expect_err("the bomb cannot return");
    assert!(
        matches!(
            error.kind,
            InvokeErrorKind::MemoryLimit {
                limit_bytes: 16_777_216
            }
        ),
        "expected the memory limit, got {error}"
    );
    assert_host_still_serves(&runtime, &connector).await;
}

#[tokio::test]
async fn unbounded_recursion_ends_with_a_trap() {
    let runtime = runtime();
    let connector = testbed(&runtime, "recurse", "").await;
    let error = quote_value(&connector)
        .await
        .expect_err("the recursion cannot return");
    match &error.kind {
        // Either stack can run out first: the engine's (wasm call frames) or the
        // guest's shadow stack in linear memory. Rust puts the shadow stack at
        // the bottom of memory, so overflowing it runs below address 0 and traps
        // as an out-of-bounds access instead of overwriting data.
        InvokeErrorKind::Trap { code, .. } => assert!(
            code.contains("call stack exhausted") || code.contains("out of bounds memory access"),
            "{error}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_host_still_serves(&runtime, &connector).await;
}

#[tokio::test]
async fn a_panic_is_a_trap() {
    let runtime = runtime();
    let connector = testbed(&runtime, "panic", "").await;
    let error = quote_value(&connector)
        .await
        .expect_err("the panic cannot return");
    assert!(
        matches!(error.kind, InvokeErrorKind::Trap { .. }),
        "expected a trap, got {error}"
    );
    assert_host_still_serves(&runtime, &connector).await;
}

// Two workers: the waiting call's timer fires on one while the spinning guest
// holds the other, however loaded the machine is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_finds_no_free_slot_fails_with_pool_exhausted() {
    let config = RuntimeConfig {
        max_instances: 2,
        pool_wait: Duration::from_millis(100),
        ..runtime_config()
    };
    let runtime = runtime_with(
        config,
        std::sync::Arc::new(corridor_host::SqliteStore::in_memory().expect("store")),
    );
    // max_concurrent = 1: the looping call holds the connector's only slot.
    let connector = std::sync::Arc::new(
        testbed(
            &runtime,
            "loop",
            "[limits]\ndeadline_ms = 1500\nmax_concurrent = 1\n",
        )
        .await,
    );
    let busy = connector.clone();
    let looping = tokio::spawn(async move { quote_value(&busy).await });
    // Wait until the looping call holds the slot (bounded: it must, long
    // before its own deadline).
    for _ in 0..1_000 {
        if connector.calls_in_flight() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        connector.calls_in_flight(),
        1,
        "the looping call holds the slot"
    );
    let error = quote_value(&connector).await.expect_err("no slot is free");
    assert!(
        matches!(error.kind, InvokeErrorKind::PoolExhausted { .. }),
        "got {error}"
    );
    let looped = looping.await.expect("join");
    assert!(matches!(looped, Err(ref e) if matches!(e.kind, InvokeErrorKind::Timeout { .. })));
    assert_host_still_serves(&runtime, &connector).await;
}

#[tokio::test]
async fn a_flood_of_guest_output_is_capped_and_does_not_fail_the_call() {
    let runtime = runtime();
    let connector = testbed(&runtime, "flood", "[limits]\noutput_bytes = 1024\n").await;
    assert_eq!(
        quote_value(&connector)
            .await
            .expect("flooding is not an error"),
        Ok(0)
    );
}
