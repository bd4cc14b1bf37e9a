//! The calls a host makes into a connector, and what they return, as values:
//! the CLI's `invoke` reads and prints them as JSON.

use serde::{Deserialize, Serialize};

use super::bindings::corridor::connector::types::{
    CallbackOutcome, Descriptor, Failure, FxQuote, InboundRequest, PayInInstruction, PayInQuery,
    PayInRequest, PayInStatus, PayOutQuery, PayOutRequest, PayOutStarted, PayOutStatus,
    QuoteRequest, RefundReceipt, RefundRequest,
};

/// One call of a connector export, with its input. Serialises as
/// `{"quote": {...}}`, or `"describe"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// `describe`.
    Describe,
    /// `quote`.
    Quote(QuoteRequest),
    /// `begin-pay-in`.
    BeginPayIn(PayInRequest),
    /// `handle-callback`.
    HandleCallback(InboundRequest),
    /// `begin-pay-out`.
    BeginPayOut(PayOutRequest),
    /// `query-pay-out`.
    QueryPayOut(PayOutQuery),
    /// `query-pay-in`.
    QueryPayIn(PayInQuery),
    /// `refund-pay-in`.
    RefundPayIn(RefundRequest),
}

impl Call {
    /// The export's WIT name.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Describe => "describe",
            Call::Quote(_) => "quote",
            Call::BeginPayIn(_) => "begin-pay-in",
            Call::HandleCallback(_) => "handle-callback",
            Call::BeginPayOut(_) => "begin-pay-out",
            Call::QueryPayOut(_) => "query-pay-out",
            Call::QueryPayIn(_) => "query-pay-in",
            Call::RefundPayIn(_) => "refund-pay-in",
        }
    }
}

/// What an export returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallOutput {
    /// From `describe`.
    Describe(Descriptor),
    /// From `quote`.
    Quote(Result<FxQuote, Failure>),
    /// From `begin-pay-in`.
    BeginPayIn(Result<PayInInstruction, Failure>),
    /// From `handle-callback`.
    HandleCallback(Result<CallbackOutcome, Failure>),
    /// From `begin-pay-out`.
    BeginPayOut(Result<PayOutStarted, Failure>),
    /// From `query-pay-out`.
    QueryPayOut(Result<PayOutStatus, Failure>),
    /// From `query-pay-in`.
    QueryPayIn(Result<PayInStatus, Failure>),
    /// From `refund-pay-in`.
    RefundPayIn(Result<RefundReceipt, Failure>),
}
