//! The component glue: the WIT bindings and the export implementation.

// The generated bindings are the only unsafe code in the connector: the
// canonical-ABI glue that wit-bindgen writes.
#![allow(unsafe_code)]

use crate::CONNECTOR_ID;

wit_bindgen::generate!({
    path: "../wit",
    world: "connector",
});

use corridor::connector::types::{
    AmountLimit, CallbackOutcome, Descriptor, Failure, FailureKind, FxQuote, InboundRequest, Money,
    PayInInstruction, PayInQuery, PayInRequest, PayInStatus, PayOutQuery, PayOutRequest,
    PayOutStarted, PayOutStatus, QuoteRequest, RefundReceipt, RefundRequest,
};
use exports::connector::Guest;

struct AlipayMpesa;

/// The refusal for flows this version does not carry yet. `failed` rather than
/// `unknown`: nothing was sent anywhere.
fn not_supported(operation: &str) -> Failure {
    Failure {
        kind: FailureKind::Failed,
        code: "not-supported".to_string(),
        message: format!(
            "{CONNECTOR_ID} {}: {operation} is not implemented yet",
            env!("CARGO_PKG_VERSION")
        ),
    }
}

fn usd(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "USD".to_string(),
    }
}

impl Guest for AlipayMpesa {
    fn describe() -> Descriptor {
        Descriptor {
            id: CONNECTOR_ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            rails: vec!["alipay".to_string(), "mpesa".to_string()],
            send_currencies: vec!["USD".to_string()],
            pay_in_currencies: vec!["CNY".to_string()],
            pay_out_currencies: vec!["KES".to_string()],
            limits: vec![AmountLimit {
                min: usd(100),
                max: usd(100_000),
            }],
        }
    }

    fn quote(_request: QuoteRequest) -> Result<FxQuote, Failure> {
        Err(not_supported("quote"))
    }

    fn begin_pay_in(_request: PayInRequest) -> Result<PayInInstruction, Failure> {
        Err(not_supported("begin-pay-in"))
    }

    fn handle_callback(_request: InboundRequest) -> Result<CallbackOutcome, Failure> {
        Err(not_supported("handle-callback"))
    }

    fn begin_pay_out(_request: PayOutRequest) -> Result<PayOutStarted, Failure> {
        Err(not_supported("begin-pay-out"))
    }

    fn query_pay_out(_request: PayOutQuery) -> Result<PayOutStatus, Failure> {
        Err(not_supported("query-pay-out"))
    }

    fn query_pay_in(_request: PayInQuery) -> Result<PayInStatus, Failure> {
        Err(not_supported("query-pay-in"))
    }

    fn refund_pay_in(_request: RefundRequest) -> Result<RefundReceipt, Failure> {
        Err(not_supported("refund-pay-in"))
    }
}

export!(AlipayMpesa);
