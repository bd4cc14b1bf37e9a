//! The rail's neutral pay-in outcome. Every M-PESA pay-in protocol (M-PESA
//! Express, the SOAP Online Checkout, C2B Paybill) reads its provider's words
//! into this one type, so a connector maps one type onto the host's pay-in
//! events whatever protocol the policy chose.
//!
//! How final a failure is follows the host's three kinds:
//! - `failed`: the payer cancelled, did not answer in time, entered a wrong
//!   PIN or lacks funds, or M-PESA refused the request: no money moved, and
//!   none will for this request;
//! - `retryable`: M-PESA certainly did not act (a 5xx answer, throttling);
//! - `unknown`: M-PESA may have acted (a code this rail does not know, a lost
//!   reply). A code not understood is never read as `failed`: that would let
//!   the host abandon a transfer the payer may have paid for.

use std::fmt;

use corridor_connector_kit::bindings::corridor::connector::types::Failure;

pub use crate::pay_in_settings::{
    CallbackMethod, CheckoutSettings, DarajaApp, ExpressSettings, MpesaPayInSettings,
    TransactionType, settings,
};

/// What M-PESA says of a pay-in.
#[derive(Debug, Clone)]
pub enum PayInOutcome {
    /// The payer paid.
    Paid(PaidIn),
    /// The payer has not acted yet, or M-PESA is still processing: ask later.
    Pending,
    /// Not paid; the failure's kind says how final that is.
    Failed(Failure),
}

/// A paid pay-in, with the facts M-PESA reported. The host checks each one
/// against the transfer before it believes any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidIn {
    /// The M-PESA receipt number (`MpesaReceiptNumber`, `M-PESA_TRX_ID`,
    /// `TransID`). `None` when M-PESA sent none: seed 004's own successful
    /// checkout callback carries `null`, and an STK query names no receipt.
    pub receipt: Option<String>,
    /// What the payer paid, KES cents.
    pub amount_cents: i64,
    /// The payer's number, when M-PESA names it.
    pub msisdn: Option<String>,
    /// Our reference as M-PESA echoes it (`MERCHANT_TRANSACTION_ID`,
    /// `BillRefNumber`); `None` where the protocol echoes nothing (an STK
    /// callback does not echo `AccountReference`).
    pub account_reference: Option<String>,
    /// M-PESA's id of the request (`CheckoutRequestID`, `TRX_ID`).
    pub provider_reference: String,
}

/// Why a callback or answer establishes nothing. The host answers the
/// provider and learns the outcome by querying instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not the message expected at all (not JSON, not the SOAP envelope).
    Malformed(String),
    /// A field the outcome depends on is missing or empty.
    Missing(&'static str),
    /// A field's value cannot be read (an amount that is not a decimal).
    Invalid {
        /// The field.
        field: &'static str,
        /// What it held.
        value: String,
    },
    /// The message contradicts itself (a success code with a failed status).
    Contradictory(String),
}

impl fmt::Display for Unreadable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::Malformed(reason) => {
                write!(formatter, "not the expected message: {reason}")
            }
            Unreadable::Missing(field) => write!(formatter, "no {field}"),
            Unreadable::Invalid { field, value } => {
                write!(formatter, "{field} = {value:?} cannot be read")
            }
            Unreadable::Contradictory(reason) => write!(formatter, "contradictory: {reason}"),
        }
    }
}

impl std::error::Error for Unreadable {}

/// `YYYYMMDDHHmmss` in Nairobi time (UTC+3, no daylight saving), the
/// `Timestamp` of Daraja's STK password and the `TIMESTAMP` of the checkout's
/// header. Implementations generate it in EAT (payment-apis.md §1.8).
pub fn timestamp(now_ms: u64) -> String {
    corridor_connector_kit::time::format_local(now_ms, 3)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// KES cents of a positive whole-shilling amount, or why not: M-PESA pays
/// whole shillings only (STK `Amount` "whole numbers only", the checkout's
/// sample `54`), so cents are refused before anything is sent.
pub(crate) fn whole_shillings(
    amount: &corridor_connector_kit::bindings::corridor::connector::types::Money,
) -> Result<i64, Failure> {
    if amount.currency != "KES" {
        return Err(corridor_connector_kit::failure::failed(
            "unsupported-currency",
            format!("M-PESA collects KES, not {}", amount.currency),
        ));
    }
    if amount.amount_minor <= 0 || amount.amount_minor % 100 != 0 {
        return Err(corridor_connector_kit::failure::failed(
            "invalid-amount",
            format!(
                "M-PESA collects whole shillings, not {} cents",
                amount.amount_minor
            ),
        ));
    }
    Ok(amount.amount_minor)
}

/// An amount M-PESA reported ("1", "1.0", "54.00") as cents. A negative, an
/// exponent or a third decimal is not read: money is never rounded.
pub(crate) fn reported_cents(field: &'static str, text: &str) -> Result<i64, Unreadable> {
    corridor_connector_kit::money::parse_minor(text).ok_or_else(|| Unreadable::Invalid {
        field,
        value: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timestamp_is_nairobi_time_as_fourteen_digits() {
        // 2021-06-28 06:24:08 UTC: the Daraja sample's 20210628092408 in EAT.
        assert_eq!(timestamp(1_624_861_448_000), "20210628092408");
    }

    #[test]
    fn only_positive_whole_shillings_are_collected() {
        use corridor_connector_kit::money::money;
        assert_eq!(whole_shillings(&money(5_400, "KES")).ok(), Some(5_400));
        for refused in [money(5_450, "KES"), money(0, "KES"), money(5_400, "USD")] {
            assert!(whole_shillings(&refused).is_err(), "{refused:?}");
        }
        assert_eq!(reported_cents("AMOUNT", "54.0"), Ok(5_400));
        assert!(reported_cents("AMOUNT", "5.4E1").is_err());
    }
}
