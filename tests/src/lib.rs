//! Support for the component-level tests: where the built components are, and
//! runtimes, policies and loopback servers to run them with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corridor_host::{Connector, KvStore, Policy, Runtime, RuntimeConfig, SqliteStore, SystemClock};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CORRIDOR_ROOT"))
}

/// A built component, by file name (`alipay_mpesa.wasm`, `corridor_testbed.wasm`).
pub fn wasm(name: &str) -> PathBuf {
    Path::new(env!("CORRIDOR_WASM_DIR")).join(name)
}

/// The Alipay → M-PESA connector.
pub fn plugin_wasm() -> PathBuf {
    wasm("alipay_mpesa.wasm")
}

/// The test connector (tests/guests/testbed).
pub fn testbed_wasm() -> PathBuf {
    wasm("corridor_testbed.wasm")
}

/// A small runtime for one test: a few pool slots, a 10 ms tick, the shared
/// compiled-component cache (content-addressed, so tests can share it).
pub fn runtime_config() -> RuntimeConfig {
    RuntimeConfig {
        max_instances: 16,
        max_memory_bytes: 64 << 20,
        epoch_tick: Duration::from_millis(10),
        pool_wait: Duration::from_secs(10),
        cache_dir: Some(root().join("target/corridor-test-cache")),
    }
}

/// A runtime over `store`.
pub fn runtime_with(config: RuntimeConfig, store: Arc<dyn KvStore>) -> Runtime {
    corridor_host::init_tls();
    Runtime::new(config, store, Arc::new(SystemClock)).expect("the runtime starts")
}

/// A runtime over a fresh in-memory store.
pub fn runtime() -> Runtime {
    runtime_with(
        runtime_config(),
        Arc::new(SqliteStore::in_memory().expect("in-memory store")),
    )
}

/// A testbed policy: `behaviour` plus any further TOML (tables after `[config]`
/// must be given in full, as `extra` is appended at the end).
pub fn testbed_policy(behaviour: &str, extra: &str) -> Policy {
    policy(
        "testbed",
        &format!("[config]\nbehaviour = \"{behaviour}\"\n{extra}"),
    )
}

/// A policy for connector `id` from TOML text (without the `id` line).
pub fn policy(id: &str, text: &str) -> Policy {
    Policy::parse(
        Path::new(&format!("{id}.toml")),
        &format!("id = \"{id}\"\n{text}"),
        &|name| (name == "TESTBED_SECRET").then(|| "hunter2-secret".to_string()),
    )
    .expect("the test policy is valid")
}

/// Loads the testbed with `behaviour` into `runtime`.
pub async fn testbed(runtime: &Runtime, behaviour: &str, extra: &str) -> Connector {
    runtime
        .load(&testbed_wasm(), testbed_policy(behaviour, extra))
        .await
        .expect("the testbed loads")
}

/// Serves `GET /` → `ok` on a loopback port; returns the base URL.
pub async fn ok_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// A callback received by a [`CallbackSink`].
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// The raw body.
    pub body: String,
}

/// A loopback server standing in for a merchant's callback endpoint: records
/// every POST and answers `reply`.
pub struct CallbackSink {
    /// Its base URL.
    pub url: String,
    receiver: tokio::sync::mpsc::UnboundedReceiver<Received>,
}

impl CallbackSink {
    /// Starts a sink that answers every callback with `reply`.
    pub async fn start(reply: &'static str) -> CallbackSink {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
            let sender = sender.clone();
            async move {
                let _ = sender.send(Received {
                    path: uri.path().to_string(),
                    body,
                });
                reply
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        CallbackSink { url, receiver }
    }

    /// The next callback, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.receiver.recv())
            .await
            .ok()
            .flatten()
    }
}
