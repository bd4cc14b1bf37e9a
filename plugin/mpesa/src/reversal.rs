//! Transaction Reversal (`POST /mpesa/reversal/v1/request`): gives a C2B or
//! Lipa na M-PESA payment back to the customer. Never a B2C: M-PESA refuses
//! those (`R000002`, the original transaction is invalid).
//!
//! An acknowledgement now ([`parse`]), the `Result` later on `ResultURL`
//! ([`result`]). When the result never comes, [`status_request`] asks
//! Transaction Status for the reversal by its `OriginatorConversationID`
//! (payment-API notes §1.4: a query names either a receipt or the request
//! that made the transaction; the reversal's receipt is only in the lost
//! result, so the request's id is what we have). Its answer is read by
//! [`crate::c2b::status::result`]: `Completed` is the reversal done,
//! `NotFound` at acknowledgement is no reversal made.
//!
//! Exactly once: a reversal is sent at most once per receipt; a lost
//! acknowledgement is `unknown` and resolved by querying, never by resending.
//! `R000001` ("already reversed") is [`ReversalOutcome::AlreadyReversed`],
//! neither success nor failure: the result does not say whose reversal it
//! was. Only the connector knows whether it sent an earlier one (it keeps the
//! accepted `OriginatorConversationID`); if it did, that reversal is the
//! refund, confirmed by [`status_request`] on it; if it did not, someone else
//! (the organisation's portal) reversed the payment, the customer has the
//! money, and our refund is not ours to record: it needs a person.

use serde::Serialize;

use crate::c2b::C2bError;
use crate::c2b::C2bSettings;
use crate::c2b::status::Callbacks;
use crate::messages::{B2cAcknowledgement, ResultCallback};
use crate::status::{Query, Target, query_request};
use crate::{MpesaSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, unknown};
use corridor_connector_kit::money::{format_whole, parse_minor};

/// Reversal result codes that mean nothing was reversed and never will be by
/// this request (payment-API notes §1.6). Others stay `unknown`.
const DEFINITIVE_FAILURES: &[&str] = &["R000002", "1", "11", "21", "2001", "2006", "2028", "8006"];

/// The body, as Daraja names it (`RecieverIdentifierType`, sic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReversalRequestBody {
    /// Whole shillings: the original amount.
    pub amount: String,
    /// Always `TransactionReversal`.
    #[serde(rename = "CommandID")]
    pub command_id: String,
    /// The operator with the "Org Reversals Initiator" role.
    pub initiator: String,
    /// Echoed back.
    pub occasion: String,
    /// Where Daraja reports a request that sat too long in its queue.
    #[serde(rename = "QueueTimeOutURL")]
    pub queue_time_out_url: String,
    /// The Paybill shortcode that received the payment.
    pub receiver_party: String,
    /// `11`, as Daraja's sample sends it.
    pub reciever_identifier_type: String,
    /// 2–100 characters.
    pub remarks: String,
    /// Where the `Result` arrives.
    #[serde(rename = "ResultURL")]
    pub result_url: String,
    /// The initiator password encrypted with Daraja's certificate.
    pub security_credential: String,
    /// The receipt of the payment to reverse.
    #[serde(rename = "TransactionID")]
    pub transaction_id: String,
}

/// What to reverse.
pub struct Reversal<'a> {
    /// The C2B or Lipa na M-PESA receipt.
    pub receipt: &'a str,
    /// Its amount, KES cents: whole shillings, as M-PESA moves them.
    pub amount_cents: i64,
    /// Where the answers go; `occasion` is the transfer's id.
    pub callbacks: Callbacks<'a>,
    /// Why, for the statement.
    pub remarks: &'a str,
}

/// The request. Refuses (`failed`, nothing sent) what Daraja would.
pub fn request(
    mpesa: &MpesaSettings,
    c2b: &C2bSettings,
    token: &str,
    credential: &str,
    reversal: &Reversal<'_>,
) -> Result<Request, Failure> {
    if reversal.amount_cents <= 0 || reversal.amount_cents % 100 != 0 {
        return Err(failed(
            "400.002.02",
            "Bad Request - Invalid Amount: M-PESA reverses whole shillings",
        ));
    }
    if reversal.receipt.trim().is_empty() {
        return Err(failed("400.002.02", "Bad Request - Invalid TransactionID"));
    }
    let mut remarks: String = reversal.remarks.chars().take(100).collect();
    if remarks.chars().count() < 2 {
        remarks = "Payment reversal".into();
    }
    let body = ReversalRequestBody {
        amount: format_whole(reversal.amount_cents),
        command_id: "TransactionReversal".into(),
        initiator: mpesa.initiator_name.clone(),
        occasion: reversal.callbacks.occasion.chars().take(100).collect(),
        queue_time_out_url: reversal.callbacks.timeout_url.to_string(),
        receiver_party: c2b.shortcode.clone(),
        reciever_identifier_type: "11".into(),
        remarks,
        result_url: reversal.callbacks.result_url.to_string(),
        security_credential: credential.to_string(),
        transaction_id: reversal.receipt.to_string(),
    };
    Ok(Request {
        method: Method::Post,
        url: format!("{}/mpesa/reversal/v1/request", mpesa.base_url),
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body: serde_json::to_vec(&body).expect("a struct of strings always serializes"),
        timeout_ms: None,
    })
}

/// An accepted reversal: keep `originator_conversation_id`, it is how the
/// result and a later status query name this reversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Daraja's id of the request.
    pub conversation_id: String,
    /// The request's id: Daraja assigns it on this API.
    pub originator_conversation_id: String,
}

/// Reads the acknowledgement. Refusals are `failed` (validation),
/// `retryable` (spike arrest) or `unknown` (a server error that may hide an
/// accepted request): see [`crate::Rejection`].
pub fn parse(response: &Response) -> Result<Accepted, Rejection> {
    if response.status != 200 {
        return Err(rejection(response));
    }
    let acknowledgement: B2cAcknowledgement =
        serde_json::from_slice(&response.body).map_err(|error| {
            Rejection::Failed(unknown(
                "bad-response",
                format!("the reversal acknowledgement is not understood: {error}"),
            ))
        })?;
    if acknowledgement.response_code != "0" {
        return Err(Rejection::Failed(failed(
            &acknowledgement.response_code,
            acknowledgement.response_description,
        )));
    }
    Ok(Accepted {
        conversation_id: acknowledgement.conversation_id,
        originator_conversation_id: acknowledgement.originator_conversation_id,
    })
}

/// What became of a reversal.
#[derive(Debug, Clone)]
pub enum ReversalOutcome {
    /// Reversed: the money is back with the customer.
    Reversed {
        /// The reversal's own receipt (`TransactionID`).
        reversal_receipt: String,
        /// The payment reversed (`OriginalTransactionID`), when stated.
        original_receipt: Option<String>,
        /// The amount reversed, KES cents.
        amount_cents: i64,
    },
    /// `R000001`: reversed before, by a request the result does not name.
    AlreadyReversed,
    /// Not reversed: `failed` (definitive) or `unknown` (a code not understood).
    Failed(Failure),
}

/// A reversal's `Result`, with the ids that name the request.
#[derive(Debug, Clone)]
pub struct ReversalResult {
    /// Names the accepted request ([`Accepted::originator_conversation_id`]).
    pub originator_conversation_id: String,
    /// Daraja's id of the request.
    pub conversation_id: Option<String>,
    /// What happened.
    pub outcome: ReversalOutcome,
}

/// Reads a reversal's `Result` callback.
pub fn result(body: &[u8]) -> Result<ReversalResult, C2bError> {
    let callback: ResultCallback =
        serde_json::from_slice(body).map_err(|error| C2bError::Malformed(error.to_string()))?;
    let result = callback.result.ok_or(C2bError::Missing("Result"))?;
    let code = result
        .result_code
        .clone()
        .ok_or(C2bError::Missing("ResultCode"))?;
    let description = result.result_desc.clone().unwrap_or_default();
    let outcome = match code.as_str() {
        "0" => {
            let amount = result
                .parameter("Amount")
                .ok_or(C2bError::Missing("Amount"))?;
            ReversalOutcome::Reversed {
                reversal_receipt: result
                    .transaction_id
                    .clone()
                    .filter(|id| !id.trim().is_empty())
                    .ok_or(C2bError::Missing("TransactionID"))?,
                original_receipt: result.parameter("OriginalTransactionID"),
                amount_cents: parse_minor(&amount).ok_or(C2bError::BadAmount(amount))?,
            }
        }
        "R000001" => ReversalOutcome::AlreadyReversed,
        code if DEFINITIVE_FAILURES.contains(&code) => {
            ReversalOutcome::Failed(failed(code, description))
        }
        code => ReversalOutcome::Failed(unknown(
            code,
            format!("result {code} is not understood as final: {description}"),
        )),
    };
    Ok(ReversalResult {
        originator_conversation_id: result
            .originator_conversation_id
            .clone()
            .ok_or(C2bError::Missing("OriginatorConversationID"))?,
        conversation_id: result.conversation_id.clone(),
        outcome,
    })
}

/// Transaction Status for a reversal whose result never came, by the
/// accepted request's `OriginatorConversationID`.
pub fn status_request(
    mpesa: &MpesaSettings,
    c2b: &C2bSettings,
    token: &str,
    credential: &str,
    accepted: &Accepted,
    callbacks: &Callbacks<'_>,
) -> Request {
    let query = Query {
        target: Target::Originator(&accepted.originator_conversation_id),
        party_a: &c2b.shortcode,
        result_url: callbacks.result_url,
        timeout_url: callbacks.timeout_url,
        occasion: callbacks.occasion,
    };
    query_request(mpesa, token, credential, &query)
}

#[cfg(test)]
#[path = "reversal_tests.rs"]
mod tests;
