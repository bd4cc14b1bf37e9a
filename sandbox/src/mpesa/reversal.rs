//! Reversal (`/mpesa/reversal/v1/request`): for C2B collections and prompted
//! (STK push, checkout) payments only. As on the
//! real API, a B2C payment cannot be reversed through it; the result says the
//! original transaction is invalid (`R000002`), as it does for a cancelled
//! payment; a second reversal is `R000001`. A reversal moves the money from
//! the Paybill's utility account back to the customer. Each request gets its
//! own `ConversationID` and `OriginatorConversationID`, and its `Result`
//! carries the same two; the callback knobs (`mpesa`) drop, delay or
//! duplicate that result, so a client must be able to ask Transaction Status.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::c2b::{C2bPayment, C2bStatus, ReversalRecord};
use super::{State_, accept, eat_datetime, error, is_url, receipt, text};
use crate::World;
use crate::faults::lock;
use crate::money::format_minor;

pub(super) async fn request(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(
        &world,
        &headers,
        "POST /mpesa/reversal/v1/request",
        &body,
        Some("mpesa.reversal"),
        ("400.002.02", "Bad Request - Invalid Body"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let field = |name: &str| text(&request, name).filter(|value| !value.trim().is_empty());
    let Some(transaction_id) = field("TransactionID") else {
        return error(&world, "400.002.02", "Bad Request - Invalid TransactionID");
    };
    let Some(result_url) = field("ResultURL").filter(|url| is_url(url)) else {
        return error(&world, "400.002.02", "Bad Request - Invalid ResultURL");
    };
    // The real field name is misspelt "RecieverIdentifierType"; its value is 11.
    if field("RecieverIdentifierType").as_deref() != Some("11")
        || field("CommandID").as_deref() != Some("TransactionReversal")
    {
        return error(
            &world,
            "400.002.02",
            "Bad Request - Invalid RecieverIdentifierType",
        );
    }
    let credential_ok = matches!((field("Initiator"), field("SecurityCredential")), (Some(initiator), Some(credential)) if world.mpesa.credential_matches(&initiator, &credential));
    let (conversation_id, originator) = world.mpesa.conversation_ids(4);
    let receiver = field("ReceiverParty").unwrap_or_default();
    let ids = (conversation_id.as_str(), originator.as_str());
    let result = reverse(&world, &transaction_id, &receiver, credential_ok, ids);
    let world_for_result = world.clone();
    tokio::spawn(async move {
        let decision = world_for_result
            .faults
            .decide_callback("mpesa", Duration::ZERO);
        tokio::time::sleep(decision.delay).await;
        let deliveries = match (decision.send, decision.duplicate) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 2,
        };
        for _ in 0..deliveries {
            world_for_result
                .post_callback("mpesa", &result_url, "application/json", result.to_string())
                .await;
        }
    });
    Json(serde_json::json!({
        "ConversationID": conversation_id, "OriginatorConversationID": originator,
        "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully.",
    }))
    .into_response()
}

/// Reverses `transaction_id` if it may be, and says so as Daraja's `Result`.
fn reverse(
    world: &World,
    transaction_id: &str,
    receiver: &str,
    credential_ok: bool,
    (conversation_id, originator): (&str, &str),
) -> Value {
    let failure = |(code, desc): Refusal| {
        serde_json::json!({ "Result": {
            "ResultType": 0, "ResultCode": code, "ResultDesc": desc,
            "OriginatorConversationID": originator, "ConversationID": conversation_id,
            "TransactionID": transaction_id,
        }})
    };
    if !credential_ok {
        return failure(("2001", "The initiator information is invalid."));
    }
    let mut guard = lock(&world.mpesa.state);
    let state = &mut *guard;
    let payment = match mark_reversed(state, transaction_id, receiver) {
        Ok(payment) => payment,
        Err(refusal) => return failure(refusal),
    };
    let parties = move_money_back(state, &payment);
    let reversal_receipt = receipt(&mut state.random);
    let time_ms = crate::now_ms();
    state.c2b.reversals.push(ReversalRecord {
        originator_conversation_id: originator.to_string(),
        receipt: reversal_receipt.clone(),
        original: payment.trans_id.clone(),
        amount_cents: payment.amount_cents,
        time_ms,
    });
    let utility = &parties.utility;
    serde_json::json!({ "Result": {
        "ResultType": 0, "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": originator, "ConversationID": conversation_id,
        "TransactionID": reversal_receipt,
        "ResultParameters": { "ResultParameter": [
            { "Key": "DebitAccountBalance", "Value": format!("Utility Account|KES|{utility}|{utility}|0.00|0.00") },
            { "Key": "Amount", "Value": format_minor(payment.amount_cents) },
            { "Key": "TransCompletedTime", "Value": eat_datetime(time_ms, "yyyyMMddHHmmss") },
            { "Key": "OriginalTransactionID", "Value": payment.trans_id },
            { "Key": "Charge", "Value": "0.00" },
            { "Key": "CreditPartyPublicName", "Value": parties.customer },
            { "Key": "DebitPartyPublicName", "Value": parties.paybill },
        ]},
        "ReferenceData": { "ReferenceItem": { "Key": "QueueTimeoutURL", "Value": "" } },
    }})
}

/// A failed reversal's `ResultCode` and `ResultDesc`.
type Refusal = (&'static str, &'static str);

/// Marks the Paybill's completed collection `transaction_id` reversed, or
/// says why it cannot be.
fn mark_reversed(
    state: &mut State_,
    transaction_id: &str,
    receiver: &str,
) -> Result<C2bPayment, Refusal> {
    let Some(payment) = state
        .c2b
        .payments
        .iter_mut()
        .find(|payment| payment.trans_id == transaction_id && payment.shortcode == receiver)
    else {
        // B2C receipts (and unknown ones) cannot be reversed through the API.
        return Err(("R000002", "The OriginalTransactionID is invalid."));
    };
    match payment.status {
        C2bStatus::Reversed => {
            return Err(("R000001", "The transaction has already been reversed."));
        }
        C2bStatus::Cancelled => return Err(("R000002", "The OriginalTransactionID is invalid.")),
        C2bStatus::Completed => payment.status = C2bStatus::Reversed,
    }
    Ok(payment.clone())
}

/// The two sides of a reversal as its `Result` names them.
struct Parties {
    /// The Paybill's utility balance after the reversal, formatted.
    utility: String,
    /// `shortcode - name` of the Paybill debited.
    paybill: String,
    /// `msisdn - name` of the customer credited.
    customer: String,
}

/// Moves a reversed payment's amount from the Paybill's utility account back
/// to the customer.
fn move_money_back(state: &mut State_, payment: &C2bPayment) -> Parties {
    // A Paybill payment is returned from that Paybill's utility account; a
    // prompted payment (STK push, checkout) from the utility account it went to.
    let (utility, paybill_name) = match state.balances.paybills.get_mut(&payment.shortcode) {
        Some(paybill) => {
            paybill.utility_cents -= payment.amount_cents;
            (
                format_minor(paybill.utility_cents),
                format!("{} - {}", payment.shortcode, paybill.name),
            )
        }
        None => {
            state.balances.utility_cents -= payment.amount_cents;
            (
                format_minor(state.balances.utility_cents),
                format!("{} - Lipa na M-PESA", payment.shortcode),
            )
        }
    };
    *state
        .balances
        .customers
        .entry(payment.msisdn.clone())
        .or_insert(0) += payment.amount_cents;
    let customer = state
        .customers
        .get(&payment.msisdn)
        .map_or("SANDBOX CUSTOMER", |customer| customer.name.as_str());
    Parties {
        utility,
        paybill: paybill_name,
        customer: format!("{} - {customer}", payment.msisdn),
    }
}
