//! Daraja's callbacks: the `Result` of a B2C or of a Transaction Status query,
//! and the `QueueTimeOutURL` call. They are unsigned: the host only accepts
//! them on a per-transfer secret path and checks every value they carry.
//!
//! Value types are mixed on the wire (`ResultCode` a number or a string,
//! parameters without a `Value`, `ResultParameter` an object or a list);
//! [`crate::messages`] reads them all as text.

use crate::messages::{B2cResult, QueueTimeout, ResultCallback, TransactionStatus};

use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, Failure, FailureKind, Money, PayOutFailure, PayOutReceipt, Reply,
};
use corridor_connector_kit::failure::{failed, unknown};
use corridor_connector_kit::money::{money, parse_minor};

/// B2C result codes that mean the payment definitively did not happen. Any
/// other non-zero code is not understood and stays unresolved (`unknown`):
/// a code we do not know must never trigger a refund.
const DEFINITIVE_FAILURES: &[&str] = &[
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "11",
    "12",
    "13",
    "14",
    "21",
    "2001",
    "2006",
    "2028",
    "2040",
    "8006",
    "SFC_IC0003",
];

/// The reply Daraja expects.
pub fn reply() -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"ResultCode":0,"ResultDesc":"Accepted"}"#.to_vec(),
    }
}

/// `"254708374149 - John Doe"` → `"254708374149"`.
fn msisdn_of(public_name: &str) -> String {
    public_name
        .split(" - ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Whole shillings ("1000", 1000, "1000.00") → cents.
fn shillings(text: &str) -> Option<i64> {
    parse_minor(text)
}

/// Which request a `Result` answers: the host gives each its own route, so
/// the route, not anything in the unsigned body, decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// A B2C payment's result (the host's `pay-out` route).
    B2c,
    /// A Transaction Status query's answer (the host's `pay-out-status` route).
    Status,
}

/// Reads a `Result` callback. `Err` says why it establishes nothing.
pub fn result_events(body: &[u8], kind: ResultKind) -> Result<Vec<Event>, String> {
    let callback: ResultCallback = serde_json::from_slice(body)
        .map_err(|error| format!("the body is not a Result callback: {error}"))?;
    let result = callback.result.ok_or("no Result object")?;
    let code = result.result_code.clone().ok_or("no ResultCode")?;
    match kind {
        ResultKind::Status => status_events(&result, &code),
        ResultKind::B2c => b2c_events(&result, &code),
    }
}

fn b2c_events(result: &B2cResult, code: &str) -> Result<Vec<Event>, String> {
    let reference = result
        .originator_conversation_id
        .clone()
        .ok_or("no OriginatorConversationID")?;
    let conversation_id = result.conversation_id.clone();
    if code == "0" {
        let names = ReceiptNames {
            amount: "TransactionAmount",
            party: "ReceiverPartyPublicName",
            receipt: "TransactionReceipt",
        };
        let receipt = paid(result, reference, &names, None)?;
        return Ok(vec![Event::PayOutSucceeded(receipt)]);
    }
    let description = result.result_desc.clone().unwrap_or_default();
    Ok(vec![not_paid(
        reference,
        conversation_id,
        pay_out_failure(code, &description),
    )])
}

/// Where a result keeps the facts of a paid B2C: the B2C `Result` and the
/// Transaction Status `Result` name them differently.
struct ReceiptNames {
    amount: &'static str,
    party: &'static str,
    receipt: &'static str,
}

/// The receipt of a paid B2C; every fact must be there.
fn paid(
    result: &B2cResult,
    reference: String,
    names: &ReceiptNames,
    fee: Option<Money>,
) -> Result<PayOutReceipt, String> {
    let missing = |name: &str| format!("no {name}");
    let amount = result
        .parameter(names.amount)
        .and_then(|text| shillings(&text))
        .ok_or_else(|| missing(names.amount))?;
    let recipient = result
        .parameter(names.party)
        .map(|name| msisdn_of(&name))
        .ok_or_else(|| missing(names.party))?;
    let receipt = result
        .parameter(names.receipt)
        .or_else(|| {
            result
                .transaction_id
                .clone()
                .filter(|id| !id.ends_with("0000000"))
        })
        .ok_or_else(|| missing(names.receipt))?;
    // A Transaction Status result names the payment's conversation among its
    // parameters; its own `ConversationID` is the query's.
    let conversation_id = result
        .parameter("ConversationID")
        .or_else(|| result.conversation_id.clone());
    let details = [
        ("originator_conversation_id", Some(reference.clone())),
        ("conversation_id", conversation_id),
        ("transaction_id", Some(receipt.clone())),
        ("msisdn", Some(recipient.clone())),
        ("receiver_party", result.parameter(names.party)),
    ]
    .into_iter()
    .filter_map(|(key, value)| {
        value
            .filter(|value| !value.is_empty())
            .map(|value| (key.to_string(), value))
    })
    .collect();
    Ok(PayOutReceipt {
        reference,
        provider_transaction_id: receipt,
        recipient,
        amount: money(amount, "KES"),
        fee,
        details,
    })
}

/// A pay-out that did not happen (`failed`) or may not have (`unknown`).
fn not_paid(reference: String, conversation_id: Option<String>, failure: Failure) -> Event {
    let definitive = failure.kind == FailureKind::Failed;
    let failure = PayOutFailure {
        reference: Some(reference),
        provider_reference: conversation_id,
        failure,
    };
    if definitive {
        Event::PayOutFailed(failure)
    } else {
        Event::PayOutUnknown(failure)
    }
}

fn pay_out_failure(code: &str, description: &str) -> Failure {
    if DEFINITIVE_FAILURES.contains(&code) {
        failed(code, description.to_string())
    } else {
        unknown(
            code,
            format!("result {code} is not understood as final: {description}"),
        )
    }
}

fn status_events(result: &B2cResult, code: &str) -> Result<Vec<Event>, String> {
    if code != "0" {
        // The query failed (its own credential, throttling): nothing is known
        // about the payment. The host queries again later.
        return Err(format!("the status query itself failed with {code}"));
    }
    let reference = result
        .parameter("OriginatorConversationID")
        .ok_or("no OriginatorConversationID parameter")?;
    let status = result
        .parameter("TransactionStatus")
        .ok_or("no TransactionStatus")?;
    let not_final = |status: &str| Err(format!("the payment is still {status}"));
    match TransactionStatus::parse(&status) {
        TransactionStatus::Completed => {
            let fee = result
                .parameter("DebitPartyCharges")
                .and_then(|charges| charges.rsplit('|').next().and_then(parse_minor))
                .map(|cents| money(cents, "KES"));
            let names = ReceiptNames {
                amount: "Amount",
                party: "CreditPartyName",
                receipt: "ReceiptNo",
            };
            Ok(vec![Event::PayOutSucceeded(paid(
                result, reference, &names, fee,
            )?)])
        }
        TransactionStatus::Declined => {
            let code = result
                .parameter("ResultCode")
                .filter(|code| code != "0")
                .unwrap_or_else(|| status.clone());
            let failure = pay_out_failure(&code, &format!("Transaction Status says {status}"));
            Ok(vec![not_paid(
                reference,
                result.parameter("ConversationID"),
                failure,
            )])
        }
        TransactionStatus::Cancelled | TransactionStatus::Expired => {
            let failure = failed(&status, format!("Transaction Status says {status}"));
            Ok(vec![not_paid(
                reference,
                result.parameter("ConversationID"),
                failure,
            )])
        }
        TransactionStatus::Pending => not_final(&status),
        TransactionStatus::Unknown(status) => not_final(&status),
    }
}

/// Reads a `QueueTimeOutURL` call: the request sat in Daraja's queue too long.
/// Not proof of failure: the outcome is unknown until queried.
pub fn queue_timeout_events(body: &[u8]) -> Result<Vec<Event>, String> {
    let timeout: QueueTimeout = serde_json::from_slice(body)
        .map_err(|error| format!("the body is not a queue timeout: {error}"))?;
    let ids = timeout.ids();
    let reference = ids
        .originator_conversation_id
        .ok_or("no OriginatorConversationID")?;
    Ok(vec![Event::PayOutUnknown(PayOutFailure {
        reference: Some(reference),
        provider_reference: ids.conversation_id,
        failure: unknown("queue-timeout", "the request timed out in Daraja's queue"),
    })])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS: &str = r#"{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"ok","OriginatorConversationID":"COR-t1-B2C","ConversationID":"AG_1","TransactionID":"SG632NMUAB",
        "ResultParameters":{"ResultParameter":[{"Key":"TransactionAmount","Value":1000},{"Key":"TransactionReceipt","Value":"SG632NMUAB"},
        {"Key":"ReceiverPartyPublicName","Value":"254708374149 - John Doe"},{"Key":"B2CUtilityAccountAvailableFunds","Value":8959269.60},{"Key":"TransactionReason"}]},
        "ReferenceData":{"ReferenceItem":{"Key":"QueueTimeoutURL","Value":"x"}}}}"#;

    #[test]
    fn a_successful_b2c_result_is_a_pay_out_success_in_cents() {
        let events = result_events(SUCCESS.as_bytes(), ResultKind::B2c).expect("events");
        match &events[..] {
            [Event::PayOutSucceeded(receipt)] => {
                assert_eq!(receipt.amount.amount_minor, 100_000);
                assert_eq!(receipt.recipient, "254708374149");
                assert_eq!(receipt.reference, "COR-t1-B2C");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn known_failures_are_definitive_and_unknown_codes_are_not() {
        let failure = |code: &str| {
            format!(
                r#"{{"Result":{{"ResultType":0,"ResultCode":{code},"ResultDesc":"x","OriginatorConversationID":"COR-t1-B2C","ConversationID":"AG_1","TransactionID":"NLJ0000000"}}}}"#
            )
        };
        assert!(matches!(
            &result_events(failure("2001").as_bytes(), ResultKind::B2c).expect("events")[..],
            [Event::PayOutFailed(_)]
        ));
        assert!(matches!(
            &result_events(failure("\"SFC_IC0003\"").as_bytes(), ResultKind::B2c).expect("events")
                [..],
            [Event::PayOutFailed(_)]
        ));
        assert!(matches!(
            &result_events(failure("17").as_bytes(), ResultKind::B2c).expect("events")[..],
            [Event::PayOutUnknown(_)]
        ));
        assert!(
            result_events(failure("2001").as_bytes(), ResultKind::Status).is_err(),
            "a failed query says nothing of the payment"
        );
    }

    #[test]
    fn a_completed_status_carries_the_receipt_and_the_fee() {
        let body = r#"{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"ok","OriginatorConversationID":"1-2-2","ConversationID":"AG_2","TransactionID":"MBN0000000",
            "ResultParameters":{"ResultParameter":[{"Key":"CreditPartyName","Value":"254708374149 - John Doe"},{"Key":"OriginatorConversationID","Value":"COR-t1-B2C"},
            {"Key":"DebitPartyCharges","Value":"Fee For B2C Payment|KES|33.00"},{"Key":"TransactionStatus","Value":"Completed"},{"Key":"Amount","Value":"1000"},{"Key":"ReceiptNo","Value":"SG632NMUAB"}]}}}"#;
        match &result_events(body.as_bytes(), ResultKind::Status).expect("events")[..] {
            [Event::PayOutSucceeded(receipt)] => {
                assert_eq!(receipt.reference, "COR-t1-B2C");
                assert_eq!(receipt.fee.as_ref().map(|fee| fee.amount_minor), Some(3300));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_queue_timeout_is_unknown() {
        let events =
            queue_timeout_events(br#"{"OriginatorConversationID":"COR-t1-B2C","Amount":"1000"}"#)
                .expect("events");
        assert!(
            matches!(&events[..], [Event::PayOutUnknown(failure)] if failure.reference.as_deref() == Some("COR-t1-B2C"))
        );
    }
}
