//! Account Balance (`/mpesa/accountbalance/v1/query`): an acknowledgement now,
//! the accounts in Daraja's pipe format later by `Result` callback. Each
//! request gets its own `ConversationID` and `OriginatorConversationID`, and
//! its `Result` carries the same two.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::{accept, acknowledge_then_call_back, eat_datetime, error, is_url, receipt, text};
use crate::World;
use crate::faults::lock;
use crate::money::format_minor;

pub(super) async fn query(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(
        &world,
        &headers,
        "POST /mpesa/accountbalance/v1/query",
        &body,
        None,
        ("400.002.05", "Invalid request payload"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(result_url) = text(&request, "ResultURL").filter(|url| is_url(url)) else {
        return error(&world, "400.002.05", "Invalid request payload");
    };
    let credential_ok = matches!((text(&request, "Initiator"), text(&request, "SecurityCredential")), (Some(initiator), Some(credential)) if world.mpesa.credential_matches(&initiator, &credential));
    let (code, desc) = if credential_ok {
        ("0", "The service request is processed successfully.")
    } else {
        ("2001", "The initiator information is invalid.")
    };
    let (conversation_id, originator) = world.mpesa.conversation_ids(3);
    let transaction_id = receipt(&mut lock(&world.mpesa.state).random);
    let result = serde_json::json!({ "Result": {
        "ResultType": "0", "ResultCode": code, "ResultDesc": desc,
        "OriginatorConversationID": originator, "ConversationID": conversation_id, "TransactionID": transaction_id,
        "ResultParameters": { "ResultParameter": [
            { "Key": "AccountBalance", "Value": summary(&world) },
            { "Key": "BOCompletedTime", "Value": eat_datetime(crate::now_ms(), "yyyyMMddHHmmss") },
        ]},
    }});
    acknowledge_then_call_back(&world, result_url, result, (&conversation_id, &originator))
}

/// `Name|Currency|Current|Available|Reserved|Uncleared`, accounts joined by `&`.
fn summary(world: &World) -> String {
    let balances = world.mpesa.balances();
    let account = |name: &str, cents: i64| {
        let amount = format_minor(cents);
        format!("{name}|KES|{amount}|{amount}|0.00|0.00")
    };
    [
        account("Working Account", balances.working_cents),
        account("Float Account", 0),
        account("Utility Account", balances.utility_cents),
        account("Charges Paid Account", balances.charges_paid_cents),
        account("Organization Settlement Account", 0),
    ]
    .join("&")
}
