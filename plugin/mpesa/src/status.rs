//! Transaction Status: the reconciliation query for a transaction whose result
//! never came (or whose fate is unknown): a B2C by its originator id, a C2B
//! payment by its receipt ([`crate::c2b::status`]), a reversal by its
//! originator id ([`crate::reversal`]). Asynchronous: the answer is a `Result`
//! callback on the query's own `ResultURL` (the host's `pay-out-status` route).

use super::messages::TransactionStatusQuery;
use super::{MpesaSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{PayOutQuery, PayOutStatus};
use corridor_connector_kit::failure::read_only;

/// Which transaction a query names: Daraja takes either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The `OriginatorConversationID` of the request that made it (a B2C's,
    /// a reversal's): what a sender always has, even when no result came.
    Originator(&'a str),
    /// The M-PESA receipt (`TransactionID`): what a C2B payment is known by.
    Receipt(&'a str),
}

/// Where the answer goes and what the query is for.
pub struct Query<'a> {
    /// The transaction.
    pub target: Target<'a>,
    /// The shortcode that owns it (`PartyA`, `IdentifierType` 4).
    pub party_a: &'a str,
    /// Where Daraja posts the answer.
    pub result_url: &'a str,
    /// Where Daraja reports a query that sat too long in its queue.
    pub timeout_url: &'a str,
    /// Echoed back; the transfer's id, so a stray answer names its transfer.
    pub occasion: &'a str,
}

/// A Transaction Status query for any transaction: the B2C, C2B and reversal
/// queries differ only in what they name.
pub fn query_request(
    settings: &MpesaSettings,
    token: &str,
    credential: &str,
    query: &Query<'_>,
) -> Request {
    let (original_conversation_id, transaction_id) = match query.target {
        Target::Originator(id) => (id.to_string(), None),
        Target::Receipt(receipt) => (String::new(), Some(receipt.to_string())),
    };
    let body = TransactionStatusQuery {
        command_id: "TransactionStatusQuery".into(),
        identifier_type: "4".into(),
        initiator: settings.initiator_name.clone(),
        occasion: query.occasion.chars().take(100).collect(),
        original_conversation_id,
        party_a: query.party_a.to_string(),
        queue_time_out_url: query.timeout_url.to_string(),
        remarks: "Corridor reconciliation".into(),
        result_url: query.result_url.to_string(),
        security_credential: credential.to_string(),
        transaction_id,
    };
    Request {
        method: Method::Post,
        url: format!("{}/mpesa/transactionstatus/v1/query", settings.base_url),
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body: serde_json::to_vec(&body).expect("a struct of strings always serializes"),
        timeout_ms: None,
    }
}

/// The query, by the B2C's `OriginatorConversationID`.
pub fn request(
    settings: &MpesaSettings,
    token: &str,
    credential: &str,
    query: &PayOutQuery,
    originator_conversation_id: &str,
) -> Request {
    let query = Query {
        target: Target::Originator(originator_conversation_id),
        party_a: &settings.shortcode,
        result_url: &query.result_url,
        timeout_url: &query.timeout_url,
        occasion: &query.transfer_id,
    };
    query_request(settings, token, credential, &query)
}

/// What the synchronous answer to a query says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledged {
    /// Accepted: the answer comes by callback.
    Pending,
    /// Daraja has no such transaction (`404.003.01`).
    NotFound,
}

/// Reads the acknowledgement of any query. A query changes nothing, so a
/// lost or garbled answer is `retryable`, never `unknown`.
pub fn acknowledged(response: &Response) -> Result<Acknowledged, Rejection> {
    if response.status == 200 {
        return Ok(Acknowledged::Pending);
    }
    match rejection(response) {
        Rejection::Failed(failure) if failure.code == "404.003.01" => Ok(Acknowledged::NotFound),
        Rejection::Failed(failure) => Err(Rejection::Failed(read_only(failure))),
        Rejection::TokenRejected => Err(Rejection::TokenRejected),
    }
}

/// Reads the acknowledgement: `pending` (the answer comes by callback), or
/// `not-found` when Daraja has no such payment.
pub fn parse(response: &Response) -> Result<PayOutStatus, Rejection> {
    Ok(match acknowledged(response)? {
        Acknowledged::Pending => PayOutStatus::Pending,
        Acknowledged::NotFound => PayOutStatus::NotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::response;

    #[test]
    fn an_unknown_payment_is_not_found_and_an_acknowledgement_is_pending() {
        let missing = response(
            404,
            r#"{"requestId":"1","errorCode":"404.003.01","errorMessage":"Resource not found"}"#,
        );
        assert!(matches!(parse(&missing), Ok(PayOutStatus::NotFound)));
        let accepted = response(
            200,
            r#"{"ConversationID":"AG_1","OriginatorConversationID":"1-2-2","ResponseCode":"0"}"#,
        );
        assert!(matches!(parse(&accepted), Ok(PayOutStatus::Pending)));
    }
}
