//! Reversal (`/mpesa/reversal/v1/request`): for C2B collections only. As on the
//! real API, a B2C payment cannot be reversed through it; the result says the
//! original transaction is invalid. Each request gets its own
//! `ConversationID` and `OriginatorConversationID`, and its `Result` carries
//! the same two.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{accept, acknowledge_then_call_back, error, is_url, text};
use crate::World;
use crate::faults::lock;

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
        None,
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
    let (code, desc) = {
        let mut guard = lock(&world.mpesa.state);
        let state = &mut *guard;
        let collection = state
            .c2b
            .payments
            .iter_mut()
            .find(|payment| payment.trans_id == transaction_id);
        match (credential_ok, collection) {
            (false, _) => ("2001", "The initiator information is invalid."),
            (true, Some(payment)) if payment.reversed => {
                ("R000001", "The transaction has already been reversed.")
            }
            (true, Some(payment)) => {
                payment.reversed = true;
                state.balances.utility_cents -= payment.amount_cents;
                *state
                    .balances
                    .customers
                    .entry(payment.msisdn.clone())
                    .or_insert(0) += payment.amount_cents;
                ("0", "The service request is processed successfully.")
            }
            // B2C receipts (and unknown ones) cannot be reversed through the API.
            (true, None) => ("R000002", "The OriginalTransactionID is invalid."),
        }
    };
    let (conversation_id, originator) = world.mpesa.conversation_ids(4);
    let result = serde_json::json!({ "Result": {
        "ResultType": 0, "ResultCode": code, "ResultDesc": desc,
        "OriginatorConversationID": originator, "ConversationID": conversation_id,
        "TransactionID": transaction_id,
    }});
    acknowledge_then_call_back(&world, result_url, result, (&conversation_id, &originator))
}
