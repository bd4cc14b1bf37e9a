//! Transaction Status: the acknowledgement now, the payment's status later
//! by callback on the query's own `ResultURL`. B2C payments here; C2B
//! receipts and reversals in [`super::c2b::status`].

use super::*;

/// What a query named: a B2C payment, or a C2B payment or reversal.
enum Found {
    B2c(Payment),
    C2b(c2b::status::Found),
}

/// A well-formed query: who asks, where the result goes, and the payment it
/// names, by receipt (`TransactionID`) or by the id the original request was
/// acknowledged with (`OriginalConversationID`).
struct StatusQuery {
    initiator: String,
    credential: String,
    result_url: String,
    receipt: Option<String>,
    original: Option<String>,
}

pub(super) async fn transaction_status(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(
        &world,
        &headers,
        "POST /mpesa/transactionstatus/v1/query",
        &body,
        Some("mpesa.transaction-status"),
        ("400.002.05", "Invalid request payload"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(query) = parse_query(&request) else {
        return error(&world, "400.002.05", "Invalid request payload");
    };
    let Some(found) = find(
        &world.mpesa,
        query.receipt.as_deref(),
        query.original.as_deref(),
    ) else {
        return error(&world, "404.003.01", "Resource not found");
    };
    let credential_ok = world
        .mpesa
        .credential_matches(&query.initiator, &query.credential);
    let (conversation_id, originator) = world.mpesa.conversation_ids(2);
    let acknowledgement = serde_json::json!({
        "ConversationID": conversation_id, "OriginatorConversationID": originator,
        "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully.",
    });
    tokio::spawn(deliver_status_result(
        world.clone(),
        found,
        credential_ok,
        (conversation_id, originator),
        query.result_url,
    ));
    Json(acknowledgement).into_response()
}

/// The query's fields, if the mandatory ones are there and say what Daraja
/// expects; every shortfall gets the same `400.002.05`.
fn parse_query(request: &Value) -> Option<StatusQuery> {
    let field = |name: &str| text(request, name).filter(|value| !value.trim().is_empty());
    let (Some(initiator), Some(credential), Some(result_url)) = (
        field("Initiator"),
        field("SecurityCredential"),
        field("ResultURL"),
    ) else {
        return None;
    };
    if field("CommandID").as_deref() != Some("TransactionStatusQuery") || !is_url(&result_url) {
        return None;
    }
    Some(StatusQuery {
        initiator,
        credential,
        result_url,
        receipt: field("TransactionID"),
        original: field("OriginalConversationID"),
    })
}

/// The payment a query names: B2C payments first, then C2B payments and
/// reversals.
fn find(daraja: &Daraja, receipt: Option<&str>, original: Option<&str>) -> Option<Found> {
    let state = lock(&daraja.state);
    state
        .payments
        .iter()
        .find(|payment| {
            Some(payment.transaction_id.as_str()) == receipt
                || Some(payment.originator_conversation_id.as_str()) == original
        })
        .cloned()
        .map(Found::B2c)
        .or_else(|| c2b::status::find(&state, receipt, original).map(Found::C2b))
}

/// Sends the query's result to its `ResultURL` later, as the callback knobs
/// (`mpesa`) allow: the body is built at delivery, so it shows the payment as
/// it stands then.
async fn deliver_status_result(
    world: Arc<World>,
    found: Found,
    credential_ok: bool,
    (conversation_id, originator): (String, String),
    result_url: String,
) {
    let base_delay = world.config.delay(world.config.mpesa.result_delay_ms, 2500);
    let decision = world.faults.decide_callback("mpesa", base_delay);
    tokio::time::sleep(decision.delay).await;
    if !decision.send {
        return;
    }
    let body = match &found {
        Found::B2c(payment) => status_result_body(
            &world.mpesa,
            payment,
            credential_ok,
            &conversation_id,
            &originator,
        ),
        Found::C2b(found) => c2b::status::result_body(
            &world.mpesa,
            found,
            credential_ok,
            (&conversation_id, &originator),
        ),
    }
    .to_string();
    world
        .post_callback("mpesa", &result_url, "application/json", body)
        .await;
}

fn status_result_body(
    daraja: &Daraja,
    snapshot: &Payment,
    credential_ok: bool,
    conversation_id: &str,
    originator: &str,
) -> Value {
    // The payment as it is now: it may have been settled since the query came in.
    let state = lock(&daraja.state);
    let payment = state
        .payments
        .iter()
        .find(|payment| payment.originator_conversation_id == snapshot.originator_conversation_id)
        .unwrap_or(snapshot);
    if !credential_ok {
        return serde_json::json!({ "Result": {
            "ResultType": 0, "ResultCode": 2001, "ResultDesc": "The initiator information is invalid.",
            "OriginatorConversationID": originator, "ConversationID": conversation_id, "TransactionID": "NLJ0000000",
        }});
    }
    let name = state
        .customers
        .get(&payment.party_b)
        .map_or("SANDBOX CUSTOMER", |customer| customer.name.as_str());
    let time = |ms: u64| eat_datetime(ms, "yyyyMMddHHmmss");
    let charge = format!(
        "Fee For B2C Payment|KES|{}",
        format_minor(if payment.result_code == 0 {
            daraja.config.b2c_charge_cents
        } else {
            0
        })
    );
    serde_json::json!({ "Result": {
        "ResultType": 0, "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": originator, "ConversationID": conversation_id, "TransactionID": "MBN0000000",
        "ReferenceData": { "ReferenceItem": { "Key": "Occasion" } },
        "ResultParameters": { "ResultParameter": [
            { "Key": "DebitPartyName", "Value": format!("{} - Corridor Sandbox", daraja.config.shortcode) },
            { "Key": "CreditPartyName", "Value": format!("{} - {name}", payment.party_b) },
            { "Key": "OriginatorConversationID", "Value": payment.originator_conversation_id },
            { "Key": "InitiatedTime", "Value": time(payment.initiated_ms) },
            { "Key": "DebitAccountType", "Value": "Utility Account" },
            { "Key": "DebitPartyCharges", "Value": charge },
            { "Key": "TransactionReason" },
            { "Key": "ReasonType", "Value": "Business Payment to Customer via API" },
            { "Key": "TransactionStatus", "Value": payment.status },
            { "Key": "FinalisedTime", "Value": payment.finalised_ms.map(time).unwrap_or_default() },
            { "Key": "Amount", "Value": (payment.amount_cents / 100).to_string() },
            { "Key": "ConversationID", "Value": payment.conversation_id },
            { "Key": "ReceiptNo", "Value": payment.transaction_id },
            { "Key": "ResultCode", "Value": payment.result_code.to_string() },
        ]},
    }})
}
