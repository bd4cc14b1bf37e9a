//! Hostile guests end with typed errors, and the host keeps serving.

use std::time::Duration;

use std::sync::Arc;

use corridor_host::{
    InvokeErrorKind, LoadError, MemoryLimitScope, Policy, RuntimeConfig, RuntimeConfigError,
    SqliteStore,
};
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
                limit_bytes: 16_777_216,
                scope: MemoryLimitScope::Instance,
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

// Two workers: on one thread the spinning guest would yield only to the run
// queue, and the timers this test waits on would fire late (tokio polls its
// timer driver every 61 task polls, about every 610 ms at one yield a tick).
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

/// A runtime whose instances may hold 64 MiB together.
fn runtime_with_a_64_mib_budget() -> corridor_host::Runtime {
    let config = RuntimeConfig {
        memory_budget_bytes: 64 << 20,
        ..runtime_config()
    };
    runtime_with(config, Arc::new(SqliteStore::in_memory().expect("store")))
}

#[tokio::test]
async fn hostile_connectors_growing_at_once_never_push_the_host_past_its_memory_budget() {
    let runtime = runtime_with_a_64_mib_budget();
    // Each policy fits the budget alone (32 MiB × 2); four of them do not,
    // and every call grows by 20 MiB and holds it.
    let limits = "[limits]\nmemory_bytes = 33554432\nmax_concurrent = 2\ndeadline_ms = 5000\n";
    let mut connectors = Vec::new();
    for _ in 0..4 {
        connectors.push(Arc::new(testbed(&runtime, "grow", limits).await));
    }
    let mut calls = tokio::task::JoinSet::new();
    for connector in connectors.iter().chain(connectors.iter()) {
        let connector = connector.clone();
        calls.spawn(async move { quote_value(&connector).await });
    }
    let (mut grown, mut refused) = (0, 0);
    while let Some(joined) = calls.join_next().await {
        match joined.expect("join") {
            Ok(value) => {
                assert_eq!(value, Ok(20), "a call that fits grows all it asks");
                grown += 1;
            }
            Err(error) => {
                assert!(
                    matches!(
                        error.kind,
                        InvokeErrorKind::MemoryLimit {
                            limit_bytes: 67_108_864,
                            scope: MemoryLimitScope::HostBudget,
                        }
                    ),
                    "expected the host's budget, got {error}"
                );
                refused += 1;
            }
        }
    }
    assert_eq!(grown + refused, 8);
    assert!(
        refused > 0,
        "eight calls of 20 MiB cannot all fit in 64 MiB"
    );
    let memory = runtime.memory();
    assert_eq!(memory.budget_bytes, 64 << 20);
    assert!(
        memory.peak_bytes <= memory.budget_bytes,
        "the instances held {} bytes together",
        memory.peak_bytes
    );
    assert_eq!(memory.in_use_bytes, 0, "every store gave its memory back");
    assert_host_still_serves(&runtime, &connectors[0]).await;
}

#[tokio::test]
async fn a_pool_slot_larger_than_the_memory_budget_is_refused_at_start() {
    corridor_host::init_tls();
    let config = RuntimeConfig {
        max_memory_bytes: 64 << 20,
        memory_budget_bytes: 32 << 20,
        ..runtime_config()
    };
    let store = Arc::new(SqliteStore::in_memory().expect("store"));
    let error =
        match corridor_host::Runtime::new(config, store, Arc::new(corridor_host::SystemClock)) {
            Ok(_) => panic!("a budget smaller than one slot must be refused"),
            Err(error) => error,
        };
    assert!(
        matches!(
            error.downcast_ref::<RuntimeConfigError>(),
            Some(RuntimeConfigError::MemoryBudgetBelowSlot {
                budget_bytes: 33_554_432,
                max_memory_bytes: 67_108_864,
            })
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_policy_whose_instances_cannot_fit_the_memory_budget_does_not_load() {
    let runtime = runtime_with_a_64_mib_budget();
    let policy = corridor_tests::testbed_policy(
        "echo",
        "[limits]\nmemory_bytes = 33554432\nmax_concurrent = 4\n",
    );
    let error = match runtime.load(&corridor_tests::testbed_wasm(), policy).await {
        Ok(_) => panic!("4 × 32 MiB does not fit in 64 MiB"),
        Err(error) => error,
    };
    assert!(
        matches!(
            error,
            LoadError::MemoryBudget {
                memory_bytes: 33_554_432,
                max_concurrent: 4,
                budget_bytes: 67_108_864,
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("134217728") && message.contains("limits.max_concurrent to 2"),
        "the error names the numbers and the fix: {message}"
    );
}

#[tokio::test]
async fn the_shipped_policy_fits_the_default_memory_budget() {
    corridor_host::init_tls();
    let config = RuntimeConfig {
        cache_dir: runtime_config().cache_dir,
        ..RuntimeConfig::default()
    };
    let runtime = runtime_with(config, Arc::new(SqliteStore::in_memory().expect("store")));
    let policy = Policy::load(&corridor_tests::root().join("policies/alipay-mpesa.toml"))
        .expect("the shipped policy is valid");
    let connector = runtime
        .load(&corridor_tests::plugin_wasm(), policy)
        .await
        .expect("the shipped policy loads under the default budget");
    assert_eq!(connector.id(), "alipay-mpesa");
}
