//! `queryTransaction` (reference §2.6): where a request stands, asked by its
//! `OriginatorConversationID`. Unlike Daraja's Transaction Status it answers
//! synchronously, with the raw HTTP messages the broker exchanged for the
//! request (base64): the request, its answer, the `ResultMsg` it posted and
//! any queue timeout. The result posted is the payment's fate, read exactly
//! as the `ResultMsg` on the `pay-out` route is.

use base64::Engine as _;

use super::messages::{
    ApiResult, InboundEnvelope, QUERY_HEADER_NAMESPACE, QUERY_NAMESPACE, QueryBody, QueryEnvelope,
    QueryTransaction, QueryTransactionResponse, SOAP_ENVELOPE,
};
use super::request::{fault_failure, soap_header, soap_post, unreadable};
use super::{BrokerSettings, QUERY_PATH, from_xml, is_success, response_failure, to_xml};
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, Failure, PayOutQuery, PayOutStatus,
};
use corridor_connector_kit::failure::{failed, read_only};

/// The query for a pay-out, at `now_ms`.
pub fn request(
    settings: &BrokerSettings,
    query: &PayOutQuery,
    now_ms: u64,
) -> Result<Request, Failure> {
    let envelope = QueryEnvelope {
        soapenv: SOAP_ENVELOPE.into(),
        loc: QUERY_NAMESPACE.into(),
        header: soap_header(settings, QUERY_HEADER_NAMESPACE, now_ms)?,
        body: QueryBody {
            query_transaction: QueryTransaction {
                originator_conversation_id: query.reference.clone(),
            },
        },
    };
    Ok(soap_post(
        format!("{}{QUERY_PATH}", settings.url),
        to_xml(&envelope)?,
    ))
}

/// The body of a raw HTTP message (after the blank line ending its head).
fn http_body(message: &str) -> &str {
    message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
        .map_or(message, |(_, body)| body)
}

/// The `Result`s of the `ResultMsg`s in a list, those of this pay-out only:
/// its reference, and its `ConversationID` when the host knows it (a
/// duplicate request under the same reference has its own).
fn results(list: &[String], query: &PayOutQuery) -> Vec<ApiResult> {
    list.iter()
        .filter_map(|item| {
            base64::engine::general_purpose::STANDARD
                .decode(item.trim())
                .ok()
        })
        .filter_map(|bytes| {
            super::result::parse(http_body(&String::from_utf8_lossy(&bytes)).as_bytes()).ok()
        })
        .filter(|result| result.originator_conversation_id.trim() == query.reference)
        .filter(|result| {
            query
                .provider_reference
                .as_deref()
                .is_none_or(|conversation| result.conversation_id.trim() == conversation)
        })
        .collect()
}

/// Reads the answer: `succeeded` or `failed` from the posted result,
/// `pending` while there is none, `not-found` when the broker has no request
/// under the reference, and `failed` for a request that expired in the
/// broker's queue (it was never forwarded to M-PESA: inferred from the spec's
/// "cached requests expired").
pub fn parse(response: &Response, query: &PayOutQuery) -> Result<PayOutStatus, Failure> {
    let text = String::from_utf8_lossy(&response.body);
    let Ok(envelope) = from_xml::<InboundEnvelope>(&text) else {
        return Err(read_only(unreadable(response, "a SOAP envelope")));
    };
    if let Some(fault) = &envelope.body.fault {
        return Err(read_only(fault_failure(fault)));
    }
    let Some(answer) = envelope.body.query_response else {
        return Err(read_only(unreadable(
            response,
            "a queryTransactionResponse",
        )));
    };
    if !is_success(&answer.result.response_code) {
        return Err(read_only(response_failure(
            answer.result.response_code.trim(),
            &answer.result.response_desc,
        )));
    }
    Ok(status(&answer, query))
}

fn status(answer: &QueryTransactionResponse, query: &PayOutQuery) -> PayOutStatus {
    let events: Vec<Event> = results(&answer.submit_api_result_list, query)
        .iter()
        .filter_map(|result| super::result::events(result).ok())
        .flatten()
        .collect();
    let succeeded = events.iter().find_map(|event| match event {
        Event::PayOutSucceeded(receipt) => Some(receipt.clone()),
        _ => None,
    });
    if let Some(receipt) = succeeded {
        return PayOutStatus::Succeeded(receipt);
    }
    let failed_definitively = events.iter().find_map(|event| match event {
        Event::PayOutFailed(failure) => Some(failure.failure.clone()),
        _ => None,
    });
    if let Some(failure) = failed_definitively {
        return PayOutStatus::Failed(failure);
    }
    if !events.is_empty() {
        // A result that is not understood as final: ask again later.
        return PayOutStatus::Pending;
    }
    if !answer.queue_time_out_list.is_empty() {
        return PayOutStatus::Failed(failed(
            "queue-timeout",
            "the request expired in the broker's queue and was never forwarded",
        ));
    }
    if answer.submit_api_request_list.is_empty() {
        PayOutStatus::NotFound
    } else {
        PayOutStatus::Pending
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
