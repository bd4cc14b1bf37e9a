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

use anyhow::Context;
use corridor_serve::ServeLimits;

use crate::engine::store::TransferStore;
use crate::engine::{Engine, EngineConfig};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::{Clock, Policy, SqliteStore, SystemClock};

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
    runtime: Runtime,
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
        let database = config.data_dir.join("corridor.db");
        let kv = SqliteStore::open(&database)?;
        let transfers = Arc::new(TransferStore::open(&database)?);
        let runtime = Runtime::new(config.runtime.clone(), Arc::new(kv), clock.clone())
            .map_err(|error| anyhow::anyhow!("{error:#}"))?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let url = format!("http://{address}");
        let public_url = config.public_url.clone().unwrap_or_else(|| url.clone());
        let engine = Engine::new(
            transfers,
            &config.ledger_url,
            &public_url,
            config.engine.clone(),
            clock,
        );
        for source in connectors {
            let connector = runtime.load(&source.component, source.policy).await?;
            engine.add_connector(connector);
        }
        let router = crate::api::router(engine.clone());
        let server = tokio::spawn(corridor_serve::serve(listener, router, config.listener)?);
        let scheduler = tokio::spawn(engine.clone().run());
        tracing::info!(%url, connectors = ?engine.connector_ids(), "host started");
        Ok(Host {
            url,
            address,
            engine,
            runtime,
            tasks: vec![server, scheduler],
        })
    }

    /// The wasmtime runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
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
