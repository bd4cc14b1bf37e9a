//! The Alipay → M-PESA corridor connector.
//!
//! Built for `wasm32-wasip2` into a component that the Corridor host loads under
//! `policies/alipay-mpesa.toml`. This first version only describes itself; the
//! Alipay and M-PESA rails arrive as modules of their own.

#[cfg(target_arch = "wasm32")]
mod component;

/// The connector id: crate, policy file, callback path and log target.
pub const CONNECTOR_ID: &str = "alipay-mpesa";
