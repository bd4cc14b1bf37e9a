//! Support for the component-level tests: where the built components are, and
//! runtimes, policies and loopback servers to run them with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use corridor_host::{Connector, KvStore, Policy, Runtime, RuntimeConfig, SqliteStore, SystemClock};

pub mod fake_rails;
pub mod kenya_uganda;

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
        memory_budget_bytes: 2 << 30,
        epoch_tick: Duration::from_millis(10),
        pool_wait: Duration::from_secs(10),
        cache_dir: Some(root().join("target/corridor-test-cache")),
        perf_map: false,
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

// ---- the corridor end to end: sandboxes, host, the real connector ----

use corridor_host::api::ApiConfig;
use corridor_host::api::view::TransferView;
use corridor_host::client::Client;
use corridor_host::engine::EngineConfig;
use corridor_host::engine::model::TransferState;
use corridor_host::{Clock, ConnectorSource, Host, HostConfig, QuoteRetention};
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};

/// The sandbox buyer who pays.
pub const BUYER: &str = "alipaytest20091@gmail.com";
/// The sandbox merchant.
pub const PARTNER: &str = "2088101122136241";
/// A registered M-PESA customer.
pub const RECIPIENT: &str = "254708374149";
/// How long a test waits for a transfer to get somewhere.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The admin API's `read` token in every test host (named `auditor`).
pub const ADMIN_READ_TOKEN: &str = "read-token-0123456789abcdef";
/// The admin API's `operate` token in every test host (named `alice`).
pub const ADMIN_OPERATE_TOKEN: &str = "operate-token-0123456789abcdef";

/// How to set up a corridor for one test.
pub struct Setup {
    /// The sandboxes.
    pub sandbox: SandboxConfig,
    /// Extra policy settings: `("alipay_sign_type", "RSA")`, …
    pub settings: Vec<(&'static str, String)>,
    /// Engine timers, short for tests.
    pub engine: EngineConfig,
    /// The host's clock.
    pub clock: Arc<dyn Clock>,
    /// The policy's callback source allow-list (empty: any source).
    pub callback_sources: Vec<ipnet::IpNet>,
    /// The client API's limits (the host's defaults).
    pub api: ApiConfig,
    /// How long unused quotes are kept (the host's defaults).
    pub quote_retention: QuoteRetention,
    /// The connectors the host loads, by id: `alipay-mpesa` (the default),
    /// `mpesa-momo`, or both. `settings` go to every one of them.
    pub connectors: Vec<&'static str>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            sandbox: SandboxConfig {
                profile: Profile::Zero,
                time_compression: 100_000,
                ..SandboxConfig::default()
            },
            settings: Vec::new(),
            engine: EngineConfig {
                result_wait: Duration::from_millis(500),
                query_backoff: Duration::from_millis(200),
                query_backoff_max: Duration::from_millis(500),
                not_found_grace: Duration::from_millis(500),
                retry_backoff: Duration::from_millis(50),
                retry_backoff_max: Duration::from_millis(200),
                tick: Duration::from_millis(20),
                ..EngineConfig::default()
            },
            clock: Arc::new(SystemClock),
            callback_sources: Vec::new(),
            api: ApiConfig::default(),
            quote_retention: QuoteRetention::default(),
            connectors: vec!["alipay-mpesa"],
        }
    }
}

/// A running corridor: the sandboxes, a host with the Alipay → M-PESA
/// connector, a client of its API and a payer's wallet.
pub struct Corridor {
    /// The provider simulators.
    pub sandbox: Sandbox,
    /// The host (`None` while "killed").
    pub host: Option<Host>,
    /// A client of the host's API.
    pub client: Client,
    /// The host's base URL (stable across restarts).
    pub url: String,
    data: tempfile::TempDir,
    address: std::net::SocketAddr,
    settings: Vec<(&'static str, String)>,
    engine: EngineConfig,
    clock: Arc<dyn Clock>,
    callback_sources: Vec<ipnet::IpNet>,
    api: ApiConfig,
    quote_retention: QuoteRetention,
    connectors: Vec<&'static str>,
    payer: reqwest::Client,
}

impl Corridor {
    /// Starts everything.
    pub async fn start(setup: Setup) -> Corridor {
        let sandbox = Sandbox::start(setup.sandbox)
            .await
            .expect("the sandbox starts");
        let data = tempfile::tempdir().expect("temp dir");
        let mut corridor = Corridor {
            sandbox,
            host: None,
            client: Client::new("http://127.0.0.1:1"),
            url: String::new(),
            data,
            address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: setup.settings,
            engine: setup.engine,
            clock: setup.clock,
            callback_sources: setup.callback_sources,
            api: setup.api,
            quote_retention: setup.quote_retention,
            connectors: setup.connectors,
            payer: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        };
        corridor.start_host().await;
        corridor
    }

    /// The Alipay → M-PESA connector's policy, pointed at this corridor's sandboxes.
    pub fn policy(&self) -> Policy {
        let policy = Policy::load(&root().join("policies/alipay-mpesa.toml"))
            .expect("the shipped policy is valid")
            .with_setting(
                "alipay_gateway_url",
                &format!("{}/gateway.do", self.sandbox.alipay_url),
            )
            .with_setting("mpesa_base_url", &self.sandbox.mpesa_url)
            .with_setting("mpesa_broker_url", &self.sandbox.mpesa_url)
            .with_setting("fx_rates_url", &format!("{}/v1/rates", self.sandbox.fx_url));
        self.with_test_settings(policy)
    }

    /// The connector `id`'s component and policy, pointed at the sandboxes.
    pub fn source(&self, id: &str) -> ConnectorSource {
        match id {
            "alipay-mpesa" => ConnectorSource {
                component: plugin_wasm(),
                policy: self.policy(),
            },
            "mpesa-momo" => ConnectorSource {
                component: kenya_uganda::wasm(),
                policy: self.with_test_settings(kenya_uganda::policy(&self.sandbox)),
            },
            other => panic!("no test corridor {other:?}"),
        }
    }

    /// The test's settings and callback allow-list on a policy.
    fn with_test_settings(&self, mut policy: Policy) -> Policy {
        for (key, value) in &self.settings {
            policy = policy.with_setting(key, value);
        }
        policy.callbacks.allow_from = self.callback_sources.clone();
        policy
    }

    /// The host's data directory (`corridor.db`, `store.key`, …).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// Starts the host (again) on the same port and data directory.
    pub async fn start_host(&mut self) {
        let mut config = HostConfig::new(self.data.path(), &self.sandbox.ledger_url);
        config.bind = self.address;
        config.engine = self.engine.clone();
        config.api = self.api.clone();
        config.quote_retention = self.quote_retention;
        config.admin_bind = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        config.admin_tokens = corridor_host::api::admin::auth::AdminTokens::parse(
            &format!("read auditor {ADMIN_READ_TOKEN}\noperate alice {ADMIN_OPERATE_TOKEN}\n"),
            None,
        )
        .expect("the test tokens parse");
        config.runtime = RuntimeConfig {
            cache_dir: Some(root().join("target/corridor-test-cache")),
            ..runtime_config()
        };
        let sources = self.connectors.iter().map(|id| self.source(id)).collect();
        let host = Host::start_with_clock(config, sources, self.clock.clone())
            .await
            .expect("the host starts");
        self.address = host.address;
        self.url = host.url.clone();
        self.client = Client::new(&host.url);
        self.host = Some(host);
    }

    /// The admin API's base URL.
    pub fn admin_url(&self) -> String {
        let host = self.host.as_ref().expect("a running host");
        host.admin_url
            .clone()
            .expect("the test host serves the admin API")
    }

    /// Stops the host at once, mid-step if it is in one, as `kill -9` would.
    pub async fn kill_host(&mut self) {
        if let Some(host) = self.host.take() {
            host.kill().await;
        }
    }

    /// Quotes `amount` USD and sends it to `recipient`.
    pub async fn send(&self, amount: &str, recipient: &str) -> TransferView {
        let quote = self
            .client
            .quote(amount, "USD", "KES")
            .await
            .expect("a quote");
        self.client
            .transfer(&quote.id, recipient, &format!("test-{}", quote.id))
            .await
            .expect("a transfer")
    }

    /// The payer opens the signed order and pays in the wallet; returns the
    /// wallet's `resultStatus`.
    pub async fn pay(&self, transfer: &TransferView) -> String {
        let url = transfer.pay_in.payment_url.clone().expect("a payment URL");
        let page = self
            .payer
            .get(&url)
            .send()
            .await
            .expect("the cashier answers")
            .text()
            .await
            .expect("text");
        assert!(
            page.contains("Alipay cashier"),
            "the gateway refused the order: {page}"
        );
        let form = serde_urlencoded::to_string([
            ("partner", PARTNER),
            ("out_trade_no", transfer.pay_in.reference.as_str()),
            ("login", BUYER),
            ("pay_password", "111111"),
        ])
        .expect("form");
        let wallet: serde_json::Value = self
            .payer
            .post(format!("{}/sandbox/pay", self.sandbox.alipay_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("the wallet answers")
            .json()
            .await
            .expect("json");
        wallet["resultStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the transfer satisfies `done`; panics with its state if it does not within `PATIENCE`.
    pub async fn wait_for(
        &self,
        id: &str,
        what: &str,
        done: impl Fn(&TransferView) -> bool,
    ) -> TransferView {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let transfer = self.client.get(id).await.expect("the transfer");
            if done(&transfer) {
                return transfer;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "transfer {id} never reached {what}: {transfer:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `state`.
    pub async fn wait_for_state(&self, id: &str, state: TransferState) -> TransferView {
        self.wait_for(id, state.name(), |transfer| transfer.state == state)
            .await
    }

    /// B2C requests the sandbox received.
    pub fn b2c_requests(&self) -> usize {
        self.sandbox
            .journal(Some("mpesa"))
            .iter()
            .filter(|entry| entry.target.contains("/paymentrequest"))
            .count()
    }

    /// The buyer's CNY balance, fen.
    pub fn buyer_balance(&self) -> i64 {
        self.sandbox
            .alipay_buyer_balances()
            .get(BUYER)
            .copied()
            .unwrap_or_default()
    }

    /// The callback URL the host gave Alipay for this transfer (from the signed order).
    pub fn notify_url(transfer: &TransferView) -> String {
        let url = transfer.pay_in.payment_url.clone().expect("a payment URL");
        let (_, query) = url.split_once('?').expect("a query");
        let params: std::collections::BTreeMap<String, String> =
            serde_urlencoded::from_str(query).expect("form");
        params["notify_url"].clone()
    }

    /// The URL the host gave the provider for `route` of a transfer, with
    /// its secret: what only that provider knows.
    pub async fn callback_url(&self, id: &str, route: &str) -> String {
        let host = self.host.as_ref().expect("a running host");
        host.engine
            .callback_url_for(id, route)
            .await
            .expect("the transfer")
    }

    /// Refund requests Alipay received.
    pub fn refund_requests(&self) -> usize {
        self.sandbox
            .journal(Some("alipay"))
            .iter()
            .filter(|entry| {
                entry.target.contains("forex_refund") || entry.body.contains("forex_refund")
            })
            .count()
    }

    /// The engine's record of the callbacks a transfer received: `(route, outcome)`.
    pub async fn callbacks(&self, id: &str) -> Vec<(String, String)> {
        let host = self.host.as_ref().expect("a running host");
        host.engine
            .callbacks(id)
            .await
            .expect("callbacks")
            .into_iter()
            .map(|(route, _, outcome)| (route, outcome))
            .collect()
    }
}

/// A log sink a test can read back: a `tracing` writer into memory.
#[derive(Clone, Default)]
pub struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogSink {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
