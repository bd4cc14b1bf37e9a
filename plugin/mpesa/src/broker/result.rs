//! The `ResultMsg` the broker POSTs to the caller's `ResultURL`, the
//! `notifyQueueTimeout` it POSTs to the `QueueTimeoutURL`, and the SOAP
//! answers the caller's server returns (reference §2.5, §2.6). Both are
//! unsigned: the host accepts them only on a per-transfer secret path, checks
//! every value, and confirms a failure with `queryTransaction` before it
//! refunds anything.

use super::messages::{
    Acknowledgement, AcknowledgementBody, AcknowledgementEnvelope, ApiResult, FaultBody,
    FaultEnvelope, InboundEnvelope, OutboundFault, QueueTimeoutReply, QueueTimeoutReplyBody,
    QueueTimeoutReplyEnvelope, QueueTimeoutReplyResult, REQUEST_NAMESPACE, RESPONSE_NAMESPACE,
    RESULT_NAMESPACE, SOAP_ENVELOPE, TIMEOUT_NAMESPACE,
};
use super::{from_xml, is_success, to_xml};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, Failure, FailureKind, PayOutFailure, PayOutReceipt, Reply,
};
use corridor_connector_kit::failure::{failed, unknown};
use corridor_connector_kit::money::{money, parse_minor};

/// ApiResult codes (reference §2.7) that mean the payment definitively did
/// not happen: funds, limits, parties, accounts, the initiator's credential
/// and permissions, an expired or malformed request. Not here, so `unknown`:
/// 15 and 41 (a duplicate says nothing of the first request's fate), 17 and
/// 45 (internal failures), the multi-stage codes, and any code not understood.
const DEFINITIVE_FAILURES: &[&str] = &[
    "1", "2", "3", "4", "5", "6", "7", "8", "11", "12", "13", "14", "18", "19", "20", "21", "22",
    "28", "29", "31", "32", "33", "34", "35", "36", "37", "44", "48", "50", "51",
];

/// The `Result` document inside a `ResultMsg` envelope.
pub fn parse(body: &[u8]) -> Result<ApiResult, String> {
    let text = String::from_utf8_lossy(body);
    let envelope: InboundEnvelope = from_xml(&text)?;
    let document = envelope.body.result_msg.ok_or("no ResultMsg in the body")?;
    from_xml(&document).map_err(|error| format!("the ResultMsg: {error}"))
}

/// Reads a `ResultMsg` into the events Daraja's `Result` gives. `Err` says
/// why it establishes nothing.
pub fn result_events(body: &[u8]) -> Result<Vec<Event>, String> {
    events(&parse(body)?)
}

/// The events of one `Result`.
pub fn events(result: &ApiResult) -> Result<Vec<Event>, String> {
    // The spec types ResultType 0 completed, 1 waiting for further messages;
    // the capture writes `Completed`.
    if result.result_type.trim() == "1" {
        return Err("the result is not final (ResultType 1)".into());
    }
    let reference = result.originator_conversation_id.trim();
    if reference.is_empty() {
        return Err("no OriginatorConversationID".into());
    }
    let code = result.result_code.trim();
    if code.is_empty() {
        return Err("no ResultCode".into());
    }
    if is_success(code) {
        return Ok(vec![Event::PayOutSucceeded(receipt(result)?)]);
    }
    let failure = if DEFINITIVE_FAILURES.contains(&code) {
        failed(code, result.result_desc.clone())
    } else {
        unknown(
            code,
            format!(
                "result {code} is not understood as final: {}",
                result.result_desc
            ),
        )
    };
    Ok(vec![not_paid(result, failure)])
}

/// A pay-out that did not happen (`failed`) or may not have (`unknown`).
fn not_paid(result: &ApiResult, failure: Failure) -> Event {
    let definitive = failure.kind == FailureKind::Failed;
    let failure = PayOutFailure {
        reference: Some(result.originator_conversation_id.trim().to_string()),
        provider_reference: Some(result.conversation_id.trim().to_string())
            .filter(|id| !id.is_empty()),
        failure,
    };
    if definitive {
        Event::PayOutFailed(failure)
    } else {
        Event::PayOutUnknown(failure)
    }
}

/// `"100.00"`, `"Ksh200.00"` (capture) → cents.
fn amount_minor(text: &str) -> Option<i64> {
    let text = text.trim();
    parse_minor(
        text.strip_prefix("Ksh")
            .unwrap_or(text)
            .replace(',', "")
            .trim(),
    )
}

/// `"254778866553-Kip Keino"` (spec) or `"254708374149 - John Doe"` → the MSISDN.
fn msisdn_of(public_name: &str) -> String {
    public_name
        .split('-')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The receipt of a paid B2C; every fact must be there. The April 2015 names
/// first (spec), then the capture's.
fn receipt(result: &ApiResult) -> Result<PayOutReceipt, String> {
    let amount = result
        .parameter("TransactionAmount")
        .or_else(|| result.parameter("Amount"))
        .and_then(amount_minor)
        .ok_or("no TransactionAmount")?;
    let party = result
        .parameter("ReceiverPartyPublicName")
        .ok_or("no ReceiverPartyPublicName")?;
    let recipient = msisdn_of(party);
    let transaction_id = result
        .parameter("TransactionReceipt")
        .map(str::to_string)
        .or_else(|| Some(result.transaction_id.trim().to_string()))
        .filter(|id| !id.is_empty())
        .ok_or("no TransactionReceipt")?;
    let details = [
        (
            "originator_conversation_id",
            result.originator_conversation_id.trim(),
        ),
        ("conversation_id", result.conversation_id.trim()),
        ("transaction_id", transaction_id.as_str()),
        ("msisdn", recipient.as_str()),
        ("receiver_party", party),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    Ok(PayOutReceipt {
        reference: result.originator_conversation_id.trim().to_string(),
        provider_transaction_id: transaction_id,
        recipient,
        amount: money(amount, "KES"),
        fee: None,
        details,
    })
}

/// A SOAP reply of status 200.
fn soap_reply(envelope: String) -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/xml;charset=UTF-8".into())],
        body: envelope.into_bytes(),
    }
}

/// The acknowledgement the caller's server returns for a `ResultMsg`, success
/// (spec "The 3rd party return response to the Broker"). Returned for every
/// result, acted on or not: a refusal only makes the broker repeat it, and
/// what it does with one is undocumented.
pub fn acknowledgement() -> Reply {
    let document = Acknowledgement {
        xmlns: RESPONSE_NAMESPACE.into(),
        response_code: "00000000".into(),
        response_desc: "success".into(),
    };
    let inner = to_xml(&document).expect("a struct of strings always serializes");
    let envelope = AcknowledgementEnvelope {
        soapenv: SOAP_ENVELOPE.into(),
        req: REQUEST_NAMESPACE.into(),
        header: (),
        body: AcknowledgementBody {
            response_msg: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{inner}"),
        },
    };
    soap_reply(to_xml(&envelope).expect("a struct of strings always serializes"))
}

/// The answer to a body that is not a SOAP envelope at all: a SOAP `Client`
/// fault, HTTP 500 (SOAP 1.1 §6.2), as any SOAP server gives. A readable
/// envelope is acknowledged, acted on or not ([`acknowledgement`]).
pub fn reply_to(body: &[u8]) -> Option<Reply> {
    if from_xml::<InboundEnvelope>(&String::from_utf8_lossy(body)).is_ok() {
        return None;
    }
    let envelope = FaultEnvelope {
        soapenv: SOAP_ENVELOPE.into(),
        body: FaultBody {
            fault: OutboundFault {
                fault_code: "soapenv:Client".into(),
                fault_string: "The message is not a SOAP envelope".into(),
            },
        },
    };
    let mut reply = soap_reply(to_xml(&envelope).expect("a struct of strings always serializes"));
    reply.status = 500;
    Some(reply)
}

/// Reads a `notifyQueueTimeout`: the broker's cache expired the request. The
/// outcome is unknown until queried (the query says whether it was forwarded).
pub fn queue_timeout_events(body: &[u8]) -> Result<Vec<Event>, String> {
    let text = String::from_utf8_lossy(body);
    let envelope: InboundEnvelope = from_xml(&text)?;
    let timeout = envelope
        .body
        .queue_timeout
        .ok_or("no notifyQueueTimeout in the body")?;
    let reference = timeout.originator_conversation_id.trim();
    if reference.is_empty() {
        return Err("no originatorConversationID".into());
    }
    Ok(vec![Event::PayOutUnknown(PayOutFailure {
        reference: Some(reference.to_string()),
        provider_reference: None,
        failure: unknown("queue-timeout", "the request expired in the broker's queue"),
    })])
}

/// `notifyQueueTimeoutResponse`, success (spec §4.3).
pub fn queue_timeout_reply() -> Reply {
    let envelope = QueueTimeoutReplyEnvelope {
        soapenv: SOAP_ENVELOPE.into(),
        loc: TIMEOUT_NAMESPACE.into(),
        res: RESULT_NAMESPACE.into(),
        body: QueueTimeoutReplyBody {
            response: QueueTimeoutReply {
                result: QueueTimeoutReplyResult {
                    result_code: "00000000".into(),
                    result_desc: "success".into(),
                },
            },
        },
    };
    soap_reply(to_xml(&envelope).expect("a struct of strings always serializes"))
}

#[cfg(test)]
#[path = "result_tests.rs"]
pub(crate) mod tests;
