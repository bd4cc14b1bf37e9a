//! The Alipay → M-PESA corridor connector.
//!
//! Built for `wasm32-wasip2` into a component that the Corridor host loads under
//! `policies/alipay-mpesa.toml`. The rails are library crates, so the next
//! corridor reuses them; this crate is the glue that joins two of them:
//!
//! | crate or module | what |
//! |---|---|
//! | `corridor-rail-alipay` | mapi signing (MD5, RSA, RSA2), the `create_forex_trade_wap` order, notifications, `single_trade_query`, `forex_refund` |
//! | `corridor-rail-mpesa` | Daraja OAuth, `SecurityCredential`, B2C v3/v1, the `Result` and queue-timeout callbacks, Transaction Status; B2C on the G2 SOAP broker |
//! | `corridor-connector-kit` | the WIT bindings, failures, settings, money, dates |
//! | [`quote`] | USD → KES (and CNY for the payer) from the configured rates source |
//! | [`declared`] | the settings `describe` lists |
//! | [`plan`] | `plan-transfer`: the recipient as an M-PESA number, the references from the transfer id |
//! | `component` | the only module that does I/O: the WIT imports, token caching, the export |
//!
//! Everything but `component` is sans-IO: functions that build requests and
//! parse responses, unit-tested natively.

pub mod declared;
pub mod plan;
pub mod quote;

#[cfg(target_arch = "wasm32")]
mod component;

/// The connector id: crate, policy file, callback path and log target.
pub const CONNECTOR_ID: &str = "alipay-mpesa";

/// The host's callback routes (the segment after `/callbacks/alipay-mpesa/`)
/// and what arrives on each in this corridor.
pub mod routes {
    /// The `notify-url`: Alipay's asynchronous trade notification.
    pub const ALIPAY_NOTIFY: &str = "pay-in";
    /// The B2C's `result-url`: Daraja's `Result` (or the broker's `ResultMsg`) for the payment.
    pub const MPESA_RESULT: &str = "pay-out";
    /// The `timeout-url`: Daraja's `QueueTimeOutURL` call.
    pub const MPESA_TIMEOUT: &str = "pay-out-timeout";
    /// A status query's `result-url`: Daraja's `Result` for Transaction Status.
    pub const MPESA_STATUS: &str = "pay-out-status";
}
