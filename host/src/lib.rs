//! The `corridor` binary's library: the command line, the demo, the benchmark
//! and the client commands, over the host's layers, which it re-exports under
//! one name for the binary and the tests:
//!
//! | crate | layer |
//! |---|---|
//! | `corridor-runtime` | wasmtime, the connectors' capabilities and policies, their store, the database file |
//! | `corridor-engine` | the transfer record, its decisions and steps, the scheduler |
//! | `corridor-api` | the HTTP API, the [`Host`] that serves it, its client |
//! | `corridor-serve` | the deadline-keeping HTTP/1 serving loop |
//!
//! Dependencies point one way, down this table. Only this crate links the
//! provider sandbox (`corridor-sandbox`), for `corridor sandbox` and the demo.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod logging;

pub use corridor_api::{self as api, client, server};
pub use corridor_api::{ConnectorSource, Host, HostConfig, QuoteRetention};
pub use corridor_engine as engine;
pub use corridor_runtime::*;
pub use corridor_serve::ServeLimits;
