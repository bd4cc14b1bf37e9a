//! Transaction Status for C2B receipts and reversals, in the shape of the
//! B2C answer (payment-API notes §1.4) with the C2B parties: the customer is
//! the debit party, the Paybill the credit party. A reversed payment's status
//! is `Reversed` (an inference: Daraja documents Completed, Cancelled,
//! Declined and Expired only); a reversal, found by its own receipt or by the
//! `OriginatorConversationID` its acknowledgement gave, is `Completed`.

use serde_json::Value;

use super::{C2bPayment, C2bStatus, ReversalRecord};
use crate::faults::lock;
use crate::money::format_minor;
use crate::mpesa::{Daraja, State_, eat_datetime};

/// What a query named.
#[derive(Debug, Clone)]
pub(in crate::mpesa) enum Found {
    /// A customer's payment, by its receipt.
    Payment(String),
    /// A reversal, by its originator id.
    Reversal(String),
}

/// Finds a C2B payment by receipt, or a reversal by receipt or originator id.
pub(in crate::mpesa) fn find(
    state: &State_,
    receipt: Option<&str>,
    original: Option<&str>,
) -> Option<Found> {
    let c2b = &state.c2b;
    if let Some(payment) = c2b
        .payments
        .iter()
        .find(|payment| Some(payment.trans_id.as_str()) == receipt)
    {
        return Some(Found::Payment(payment.trans_id.clone()));
    }
    c2b.reversals
        .iter()
        .find(|reversal| {
            Some(reversal.receipt.as_str()) == receipt
                || Some(reversal.originator_conversation_id.as_str()) == original
        })
        .map(|reversal| Found::Reversal(reversal.originator_conversation_id.clone()))
}

/// The `Result` for `found`, as it stands now.
pub(in crate::mpesa) fn result_body(
    daraja: &Daraja,
    found: &Found,
    credential_ok: bool,
    (conversation_id, originator): (&str, &str),
) -> Value {
    if !credential_ok {
        return serde_json::json!({ "Result": {
            "ResultType": 0, "ResultCode": 2001, "ResultDesc": "The initiator information is invalid.",
            "OriginatorConversationID": originator, "ConversationID": conversation_id, "TransactionID": "NLJ0000000",
        }});
    }
    let state = lock(&daraja.state);
    let payment_of = |trans_id: &str| {
        state
            .c2b
            .payments
            .iter()
            .find(|payment| payment.trans_id == trans_id)
            .cloned()
    };
    let parameters = match found {
        Found::Payment(trans_id) => {
            payment_of(trans_id).map(|payment| payment_parameters(&state, &payment))
        }
        Found::Reversal(id) => state
            .c2b
            .reversals
            .iter()
            .find(|reversal| &reversal.originator_conversation_id == id)
            .and_then(|reversal| {
                payment_of(&reversal.original)
                    .map(|payment| reversal_parameters(&state, reversal, &payment))
            }),
    };
    serde_json::json!({ "Result": {
        "ResultType": 0, "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": originator, "ConversationID": conversation_id, "TransactionID": "MBN0000000",
        "ReferenceData": { "ReferenceItem": { "Key": "Occasion" } },
        "ResultParameters": { "ResultParameter": parameters.unwrap_or_default() },
    }})
}

fn customer(state: &State_, msisdn: &str) -> String {
    let name = state
        .customers
        .get(msisdn)
        .map_or("SANDBOX CUSTOMER", |customer| customer.name.as_str());
    format!("{msisdn} - {name}")
}

fn organisation(state: &State_, shortcode: &str) -> String {
    let name = state
        .balances
        .paybills
        .get(shortcode)
        .map_or("Sandbox Paybill", |paybill| paybill.name.as_str());
    format!("{shortcode} - {name}")
}

fn payment_parameters(state: &State_, payment: &C2bPayment) -> Vec<Value> {
    let time = eat_datetime(payment.time_ms, "yyyyMMddHHmmss");
    let status = match payment.status {
        C2bStatus::Completed => "Completed",
        C2bStatus::Cancelled => "Cancelled",
        C2bStatus::Reversed => "Reversed",
    };
    vec![
        serde_json::json!({ "Key": "DebitPartyName", "Value": customer(state, &payment.msisdn) }),
        serde_json::json!({ "Key": "CreditPartyName", "Value": organisation(state, &payment.shortcode) }),
        serde_json::json!({ "Key": "OriginatorConversationID" }),
        serde_json::json!({ "Key": "InitiatedTime", "Value": time }),
        serde_json::json!({ "Key": "DebitAccountType", "Value": "MMF Account For Customer" }),
        serde_json::json!({ "Key": "DebitPartyCharges" }),
        serde_json::json!({ "Key": "TransactionReason", "Value": payment.bill_ref }),
        serde_json::json!({ "Key": "ReasonType", "Value": "Pay Bill Online" }),
        serde_json::json!({ "Key": "TransactionStatus", "Value": status }),
        serde_json::json!({ "Key": "FinalisedTime", "Value": time }),
        serde_json::json!({ "Key": "Amount", "Value": format_minor(payment.amount_cents) }),
        serde_json::json!({ "Key": "ConversationID" }),
        serde_json::json!({ "Key": "ReceiptNo", "Value": payment.trans_id }),
    ]
}

fn reversal_parameters(
    state: &State_,
    reversal: &ReversalRecord,
    payment: &C2bPayment,
) -> Vec<Value> {
    let time = eat_datetime(reversal.time_ms, "yyyyMMddHHmmss");
    vec![
        serde_json::json!({ "Key": "DebitPartyName", "Value": organisation(state, &payment.shortcode) }),
        serde_json::json!({ "Key": "CreditPartyName", "Value": customer(state, &payment.msisdn) }),
        serde_json::json!({ "Key": "OriginatorConversationID", "Value": reversal.originator_conversation_id }),
        serde_json::json!({ "Key": "InitiatedTime", "Value": time }),
        serde_json::json!({ "Key": "DebitAccountType", "Value": "Utility Account" }),
        serde_json::json!({ "Key": "TransactionReason", "Value": format!("Reversal of {}", reversal.original) }),
        serde_json::json!({ "Key": "ReasonType", "Value": "Transaction Reversal" }),
        serde_json::json!({ "Key": "TransactionStatus", "Value": "Completed" }),
        serde_json::json!({ "Key": "FinalisedTime", "Value": time }),
        serde_json::json!({ "Key": "Amount", "Value": format_minor(reversal.amount_cents) }),
        serde_json::json!({ "Key": "ReceiptNo", "Value": reversal.receipt }),
    ]
}
