//! Transaction Status: the reconciliation query for a B2C whose result never
//! came (or whose fate is unknown). Asynchronous: the answer is a `Result`
//! callback on the query's own `ResultURL` (the host's `pay-out-status` route).

use super::messages::TransactionStatusQuery;
use super::{MpesaSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{PayOutQuery, PayOutStatus};
use corridor_connector_kit::failure::read_only;

/// The query, by the B2C's `OriginatorConversationID`.
pub fn request(
    settings: &MpesaSettings,
    token: &str,
    credential: &str,
    query: &PayOutQuery,
    originator_conversation_id: &str,
) -> Request {
    let body = TransactionStatusQuery {
        command_id: "TransactionStatusQuery".into(),
        identifier_type: "4".into(),
        initiator: settings.initiator_name.clone(),
        occasion: query.transfer_id.chars().take(100).collect(),
        original_conversation_id: originator_conversation_id.to_string(),
        party_a: settings.shortcode.clone(),
        queue_time_out_url: query.timeout_url.clone(),
        remarks: "Corridor reconciliation".into(),
        result_url: query.result_url.clone(),
        security_credential: credential.to_string(),
        transaction_id: None,
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

/// Reads the acknowledgement: `pending` (the answer comes by callback), or
/// `not-found` when Daraja has no such payment.
pub fn parse(response: &Response) -> Result<PayOutStatus, Rejection> {
    if response.status == 200 {
        return Ok(PayOutStatus::Pending);
    }
    match rejection(response) {
        Rejection::Failed(failure) if failure.code == "404.003.01" => Ok(PayOutStatus::NotFound),
        Rejection::Failed(failure) => Err(Rejection::Failed(read_only(failure))),
        Rejection::TokenRejected => Err(Rejection::TokenRejected),
    }
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
