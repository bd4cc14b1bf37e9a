//! The host's runtime layer: what it takes to run an untrusted connector.
//!
//! [`Runtime`] loads a component under a [`Policy`] into a [`Connector`];
//! [`Connector::call`] calls an export with typed values (and
//! [`Connector::invoke`] with the dynamic [`Call`], for the CLI). Every call runs
//! in a fresh, limited instance that reaches the world only through the
//! capabilities its policy grants (HTTP, storage, clock, config, log).
//! [`SqliteStore`] is the connectors' sealed key-value store, in the host's
//! one [`Database`] file.
//!
//! This crate knows no transfer and no provider: the engine (`corridor-engine`)
//! drives connectors through it, and the API (`corridor-api`) serves both.

mod capabilities;
pub mod clock;
pub mod database;
mod group_commit;
pub mod policy;
pub mod redact;
pub mod routes;
pub mod runtime;
pub mod store;
mod store_error;

pub use clock::{Clock, ManualClock, SystemClock};
pub use database::Database;
pub use policy::{Policy, PolicyError, StoredPolicy};
pub use runtime::bindings::corridor::connector::types as wit;
pub use runtime::{
    Call, CallOutput, Connector, Export, InvokeError, InvokeErrorKind, LoadError, MemoryLimitScope,
    MemoryUsage, Runtime, RuntimeConfig, RuntimeConfigError, WIT_VERSION, exports,
};
pub use store::{KvStore, Sealer, SqliteStore, StoreError, StoreKey};

/// Installs the process-wide TLS crypto provider (ring) for outbound HTTPS.
/// Idempotent; call before building any HTTP client.
pub fn init_tls() {
    // An error means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
