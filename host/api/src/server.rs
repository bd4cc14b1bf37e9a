//! A running host: the store, the wasmtime runtime with its connectors, the
//! transfer engine and its scheduler, and the HTTP API on one loopback port.
//!
//! Dropping a [`Host`] (or [`Host::kill`]) stops its scheduler, every step in
//! flight, its listener and every connection it accepted at once, and refuses
//! any request still arriving on a connection not yet closed, as a killed
//! process would. Nothing is flushed, because
//! nothing needs to be: every step's intent is on disk before it acts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use corridor_serve::ServeLimits;

use crate::ApiConfig;
use crate::admin::auth::AdminTokens;
use crate::database::Database;
use crate::engine::store::TransferStore;
use crate::engine::versions::Versions;
use crate::engine::{Engine, EngineConfig};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::StoreKey;
use corridor_runtime::{Clock, Policy, SqliteStore, SystemClock};

/// How to run a host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Holds `corridor.db` and the compiled-component cache.
    pub data_dir: PathBuf,
    /// Where the API listens. Loopback only.
    pub bind: SocketAddr,
    /// The URL providers reach this host at (for callback URLs). Default: `http://<bind>`.
    pub public_url: Option<String>,
    /// The Centiglobe ledger's base URL.
    pub ledger_url: String,
    /// Engine timers and budgets.
    pub engine: EngineConfig,
    /// The wasmtime pool.
    pub runtime: RuntimeConfig,
    /// Deadlines and the connection cap of the API's listener (see
    /// [`ServeLimits`] for each default): without them a slow or idle client
    /// holds a connection for ever, and enough of them starve `/health`.
    pub listener: ServeLimits,
    /// The client API's body sizes and rate limits.
    pub api: ApiConfig,
    /// How long unused quotes are kept.
    pub quote_retention: QuoteRetention,
    /// Where the operators' API listens (loopback only), or `None` for no
    /// admin listener. It needs at least one token in `admin_tokens`.
    pub admin_bind: Option<SocketAddr>,
    /// The tokens the admin API accepts.
    pub admin_tokens: AdminTokens,
}

impl HostConfig {
    /// Defaults around a data directory and a ledger.
    pub fn new(data_dir: &Path, ledger_url: &str) -> HostConfig {
        HostConfig {
            data_dir: data_dir.to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            ledger_url: ledger_url.to_string(),
            engine: EngineConfig::default(),
            runtime: RuntimeConfig {
                cache_dir: Some(data_dir.join("cache")),
                ..RuntimeConfig::default()
            },
            listener: ServeLimits::default(),
            api: ApiConfig::default(),
            quote_retention: QuoteRetention::default(),
            admin_bind: None,
            admin_tokens: AdminTokens::none(),
        }
    }
}

/// A connector to load: its component and its policy.
pub struct ConnectorSource {
    /// The component (.wasm).
    pub component: PathBuf,
    /// Its policy.
    pub policy: Policy,
}

/// An absolute http(s) URL, or a one-line reason naming the setting.
fn check_url(setting: &str, text: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(text)
        .map_err(|error| anyhow::anyhow!("{setting}: {text:?} is not a URL: {error}"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
        "{setting}: {text:?} is not an http(s) URL with a host"
    );
    Ok(())
}

/// A running host.
pub struct Host {
    /// The API's base URL.
    pub url: String,
    /// Where it listens.
    pub address: SocketAddr,
    /// The engine.
    pub engine: Arc<Engine>,
    /// The admin API's base URL, when it listens.
    pub admin_url: Option<String>,
    runtime: Arc<Runtime>,
    versions: Versions,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Host {
    /// Opens the store, loads the connectors, binds the API and starts the
    /// scheduler, which resumes every unfinished transfer.
    pub async fn start(
        config: HostConfig,
        connectors: Vec<ConnectorSource>,
    ) -> anyhow::Result<Host> {
        Host::start_with_clock(config, connectors, Arc::new(SystemClock)).await
    }

    /// [`Host::start`] with a clock of the caller's choosing.
    pub async fn start_with_clock(
        config: HostConfig,
        connectors: Vec<ConnectorSource>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Host> {
        crate::init_tls();
        crate::prometheus::recorder();
        anyhow::ensure!(
            config.bind.ip().is_loopback(),
            "bind: the host serves loopback only, not {}",
            config.bind
        );
        config
            .listener
            .check()
            .context("listener: a limit cannot work")?;
        check_url("ledger_url", &config.ledger_url)?;
        if let Some(public_url) = &config.public_url {
            check_url("public_url", public_url)?;
        }
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        let database = Arc::new(Database::open(&config.data_dir.join("corridor.db"))?);
        let key = StoreKey::resolve(&config.data_dir)?;
        let kv = SqliteStore::new(database.clone(), &key);
        let transfers = Arc::new(TransferStore::new(database));
        let runtime = Runtime::new(config.runtime.clone(), Arc::new(kv), clock.clone())
            .map_err(|error| anyhow::anyhow!("{error:#}"))?;
        let runtime = Arc::new(runtime);
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let url = format!("http://{address}");
        let public_url = config.public_url.clone().unwrap_or_else(|| url.clone());
        let engine = Engine::new(
            transfers.clone(),
            &config.ledger_url,
            &public_url,
            config.engine.clone(),
            clock.clone(),
        );
        let versions = Versions::new(engine.clone(), runtime.clone(), &config.data_dir, &key);
        versions.restore().await?;
        for source in connectors {
            let component = std::fs::read(&source.component)
                .with_context(|| format!("cannot read {}", source.component.display()))?;
            versions.install_at_start(component, source.policy).await?;
        }
        let router = crate::router(engine.clone(), &config.api);
        let server = tokio::spawn(corridor_serve::serve(listener, router, config.listener)?);
        let admin = start_admin(&config, &engine, &versions).await?;
        let scheduler = tokio::spawn(engine.clone().run());
        let sweeper = tokio::spawn(sweep_unused_quotes(
            transfers,
            clock,
            config.quote_retention,
        ));
        tracing::info!(%url, connectors = ?engine.connector_ids(), "host started");
        let mut tasks = vec![server, scheduler, sweeper];
        let admin_url = admin.map(|(admin_url, task)| {
            tasks.push(task);
            admin_url
        });
        Ok(Host {
            url,
            address,
            engine,
            admin_url,
            runtime,
            versions,
            tasks,
        })
    }

    /// The wasmtime runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The connectors' versions: install, activate, canary, roll back,
    /// migrate, retire.
    pub fn versions(&self) -> Versions {
        self.versions.clone()
    }

    /// Stops at once, mid-step if it is in one, as `kill -9` would, and
    /// returns when the listener is closed (so the port can be bound again).
    pub async fn kill(mut self) {
        self.engine.shut_down();
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            // Cancelled (or already finished): either way it holds nothing now.
            let _ = task.await;
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.engine.shut_down();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Binds and serves the admin API, when `config` asks for it: its URL and task.
async fn start_admin(
    config: &HostConfig,
    engine: &Arc<Engine>,
    versions: &Versions,
) -> anyhow::Result<Option<(String, tokio::task::JoinHandle<()>)>> {
    let Some(bind) = config.admin_bind else {
        return Ok(None);
    };
    anyhow::ensure!(
        bind.ip().is_loopback(),
        "admin_bind: the admin API serves loopback only, not {bind}"
    );
    anyhow::ensure!(
        !config.admin_tokens.is_empty(),
        "admin_bind: the admin API needs at least one token (--admin-tokens or CORRIDOR_ADMIN_TOKEN)"
    );
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} for the admin API"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let router = crate::admin::router(
        engine.clone(),
        versions.clone(),
        config.admin_tokens.clone(),
    );
    let task = tokio::spawn(corridor_serve::serve(listener, router, config.listener)?);
    tracing::info!(%url, "admin API listening");
    Ok(Some((url, task)))
}

/// How long a quote that made no transfer is kept after it lapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteRetention {
    /// How often the sweep runs. Default one minute: quotes are small, and a
    /// sweep is one indexed `DELETE`.
    pub sweep_every: Duration,
    /// How long after lapsing an unused quote is still kept. Default one
    /// hour, so a client that comes back late hears `quote-expired`, not
    /// `quote-not-found`.
    pub grace: Duration,
}

impl Default for QuoteRetention {
    fn default() -> Self {
        QuoteRetention {
            sweep_every: Duration::from_secs(60),
            grace: Duration::from_secs(3600),
        }
    }
}

/// Deletes unused quotes past their grace, every `retention.sweep_every`, so
/// a client asking for quotes it never uses cannot grow the database for ever.
async fn sweep_unused_quotes(
    transfers: Arc<TransferStore>,
    clock: Arc<dyn Clock>,
    retention: QuoteRetention,
) {
    let grace_ms = u64::try_from(retention.grace.as_millis()).unwrap_or(u64::MAX);
    let mut ticks = tokio::time::interval(retention.sweep_every.max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now_ms = clock.now_ms();
        let store = transfers.clone();
        match tokio::task::spawn_blocking(move || store.purge_expired_quotes(now_ms, grace_ms))
            .await
        {
            Ok(Ok(0)) => {}
            Ok(Ok(purged)) => tracing::debug!(purged, "unused quotes purged"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "purging unused quotes failed; retrying at the next sweep")
            }
            Err(error) => tracing::warn!(%error, "the quote sweep stopped early"),
        }
    }
}
