//! The connector kit: what every Corridor connector needs, written once so a
//! new corridor reuses it instead of copying it.
//!
//! | module | what |
//! |---|---|
//! | [`bindings`] | the WIT bindings of `corridor:connector`, generated once; connectors export through [`export!`] |
//! | [`failure`] | `failed` / `retryable` / `unknown` failures, and HTTP errors mapped by whether the provider may have acted |
//! | [`imports`] | the host's imports as a component's glue uses them: settings, one HTTP exchange, text in storage |
//! | [`settings`] | the policy's settings, read through a lookup so rails test natively |
//! | [`money`] | decimal strings on the wire ↔ integer minor units; exact rate conversions |
//! | [`quote`] | the corridors' one way of quoting: rates, fee, expiry |
//! | [`time`] | wall-clock timestamps at the fixed offsets providers use |
//! | [`token`] | a provider's bearer token, stamped with when it lapses |
//!
//! The rails (`corridor-rail-*`) depend on this crate only; a connector
//! component depends on the kit and the rails it joins.

pub mod bindings;
pub mod failure;
pub mod imports;
pub mod money;
pub mod quote;
pub mod settings;
pub mod time;
pub mod token;

// The generated export macro names its types by the path given after
// `with_types_in`; re-exported here so a connector writes
// `corridor_connector_kit::export!(Connector with_types_in corridor_connector_kit::bindings)`.
pub use bindings::export;
