//! The M-PESA Kenya → MTN MoMo Uganda corridor connector.
//!
//! A Kenyan pays in KES by M-PESA (an STK push, the SOAP Online Checkout, or
//! a Paybill payment, as the policy's `mpesa_pay_in_protocol` says), and an
//! MTN MoMo user in Uganda receives UGX by a MoMo Disbursement transfer. A
//! pay-out that definitively fails is refunded by M-PESA's Transaction
//! Reversal of the pay-in. The rails are library crates; this crate is the
//! glue that joins two of them:
//!
//! | crate or module | what |
//! |---|---|
//! | `corridor-rail-mpesa` | Daraja OAuth, STK push, the SOAP checkout, C2B (RegisterURL, validation, confirmation), Transaction Status, Transaction Reversal |
//! | `corridor-rail-momo` | MoMo's token, transfer, status and callback |
//! | `corridor-connector-kit` | the WIT bindings, failures, settings, money, the shared quoting |
//! | [`quote`] | KES → UGX from the configured rates source |
//! | [`declared`] | the settings and own routes `describe` lists |
//! | [`plan`] | `plan-transfer`: the recipient as a Ugandan MTN number, the payer as a Kenyan M-PESA number, the references |
//! | [`events`] | provider messages read into the host's events (sans-IO) |
//! | `component` | the only module that does I/O: the WIT imports, tokens, storage, the export |

pub mod declared;
pub mod events;
pub mod plan;
pub mod quote;

#[cfg(target_arch = "wasm32")]
mod component;

/// The connector id: crate, policy file, callback path and log target.
pub const CONNECTOR_ID: &str = "mpesa-momo";

/// The callback routes (the segment after `/callbacks/mpesa-momo/`) and what
/// arrives on each in this corridor.
pub mod routes {
    /// The `notify-url`: the STK push's or the checkout's callback.
    pub const PAY_IN: &str = "pay-in";
    /// A pay-in query's `result-url`: Transaction Status on a C2B receipt.
    pub const PAY_IN_STATUS: &str = "pay-in-status";
    /// The transfer's `X-Callback-Url`: MoMo's callback (evidence).
    pub const PAY_OUT: &str = "pay-out";
    /// The pay-out's timeout URL (MoMo sends nothing there).
    pub const PAY_OUT_TIMEOUT: &str = "pay-out-timeout";
    /// A pay-out query's `result-url` (MoMo's status answers at once).
    pub const PAY_OUT_STATUS: &str = "pay-out-status";
    /// The reversal's `ResultURL`.
    pub const REFUND: &str = "refund";
    /// The reversal's `QueueTimeOutURL`.
    pub const REFUND_TIMEOUT: &str = "refund-timeout";
    /// Transaction Status on the reversal.
    pub const REFUND_STATUS: &str = "refund-status";
    /// The connector's own offer route: the Paybill's validation URL.
    pub const C2B_VALIDATION: &str = "c2b-validation";
    /// The connector's own notification route: the Paybill's confirmation URL.
    pub const C2B_CONFIRMATION: &str = "c2b-confirmation";
}
