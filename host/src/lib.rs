//! The trusted Corridor host.
//!
//! It loads corridor connectors (untrusted WebAssembly components speaking the
//! `corridor:connector` WIT world) under per-connector policies, grants them
//! HTTP, storage, clock, config and log, and runs every export call in a fresh,
//! limited instance.
//!
//! The front: [`Runtime`] loads a component under a [`Policy`] into a
//! [`Connector`]; [`Connector::invoke`] calls an export. [`SqliteStore`] is the
//! connectors' durable store, in the host's one [`Database`] file. [`Host`]
//! runs everything: the connectors, the transfer [`engine`], and the HTTP
//! [`api`].

pub mod api;
pub mod bench;
mod capabilities;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod database;
pub mod demo;
pub mod engine;
pub mod logging;
pub mod policy;
pub mod redact;
pub mod runtime;
pub mod server;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use corridor_serve::ServeLimits;
pub use database::Database;
pub use policy::{Policy, PolicyError};
pub use runtime::bindings::corridor::connector::types as wit;
pub use runtime::{
    Call, CallOutput, Connector, Export, InvokeError, InvokeErrorKind, LoadError, MemoryLimitScope,
    MemoryUsage, Runtime, RuntimeConfig, RuntimeConfigError,
};
pub use server::{ConnectorSource, Host, HostConfig, QuoteRetention};
pub use store::{KvStore, SqliteStore, StoreError};

/// Installs the process-wide TLS crypto provider (ring) for outbound HTTPS.
/// Idempotent; call before building any HTTP client.
pub fn init_tls() {
    // An error means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
