//! The callback MoMo sends to `X-Callback-Url` once a transfer is decided:
//! the status resource's body, sent once, with no retry, by PUT or POST
//! (the sources disagree; accept both).
//!
//! It is not signed, and the `X-Reference-Id` is not reliably in it. So it
//! is evidence, never the word: a connector reads it with [`parse`], and
//! before acting asks MoMo with [`crate::status::request`] for the transfer
//! its own URL names, as with Daraja's results. The reply is an empty 200.

use super::messages::TransferResult;
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::failed;

/// What a callback claims: to be confirmed by a status query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The claimed state of the transfer.
    pub claimed: TransferResult,
}

impl Evidence {
    /// Whether the claim names the pay-out with `reference` (our `externalId`).
    /// A callback for another pay-out on this pay-out's URL is forged or
    /// misrouted; either way it is not evidence about this one.
    pub fn names(&self, reference: &str) -> bool {
        self.claimed
            .external_id
            .as_deref()
            .is_none_or(|external_id| external_id == reference)
    }
}

/// Reads a callback body. A body that is not a transfer state is `failed`:
/// nothing in it is worth a query.
pub fn parse(body: &[u8]) -> Result<Evidence, Failure> {
    serde_json::from_slice(body)
        .map(|claimed| Evidence { claimed })
        .map_err(|error| {
            failed(
                "bad-callback",
                format!("the MoMo callback is not a transfer state: {error}"),
            )
        })
}

/// The answer MoMo expects: any 2xx; it never retries either way.
pub const REPLY_STATUS: u16 = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{ReasonCode, TransferStatus};

    #[test]
    fn a_callback_is_the_status_body_and_only_evidence() {
        // The status resource's shape as the sandbox sends it (reference §1.6,
        // §1.7): reason as a bare string, no financialTransactionId on failure.
        let failed = parse(br#"{"financialTransactionId":null,"externalId":"COR-t1-MOMO","amount":"37000","currency":"UGX","payee":{"partyIdType":"MSISDN","partyId":"46733123450"},"payerMessage":"t1","payeeNote":"Rent","status":"FAILED","reason":"INTERNAL_PROCESSING_ERROR"}"#).expect("evidence");
        assert_eq!(failed.claimed.status, TransferStatus::Failed);
        assert_eq!(
            failed.claimed.reason.map(|reason| reason.code),
            Some(ReasonCode::InternalProcessingError)
        );
        let paid = parse(br#"{"financialTransactionId":"868170949","externalId":"COR-t1-MOMO","amount":"37000","currency":"UGX","payee":{"partyIdType":"MSISDN","partyId":"256772123456"},"status":"SUCCESSFUL"}"#).expect("evidence");
        assert!(paid.names("COR-t1-MOMO"));
        assert!(!paid.names("COR-t2-MOMO"));
        assert!(parse(b"success").is_err());
    }
}
