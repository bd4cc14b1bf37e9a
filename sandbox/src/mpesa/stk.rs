//! M-PESA Express (STK push) and its query. `Password` must be
//! `base64(BusinessShortCode + Passkey + Timestamp)`; the query answers
//! `500.001.1001` "The transaction is being processed" until the customer has
//! acted. The customer answers on the handset ([`super::handset`]): pays
//! (the balance moves, and the callback carries `CallbackMetadata`), lacks
//! funds (`1`), cancels (`1032`), does not answer (`1037`) or enters a wrong
//! PIN (`2001`). A second push to a handset that has one awaiting an answer
//! is refused ("Unable to lock subscriber").

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::Rng;
use serde_json::Value;

use super::handset::{self, Answer};
use super::{accept, error, is_msisdn, is_url, text};
use crate::World;
use crate::faults::lock;
use crate::money::parse_minor;

#[derive(Debug, Clone)]
pub(super) struct StkRequest {
    checkout_request_id: String,
    merchant_request_id: String,
    /// The payer prompted.
    msisdn: String,
    /// `None` while the customer has not acted; then the result code and
    /// Daraja's words for it.
    result: Option<(i64, &'static str)>,
}

/// Daraja's result code and words for what the payer did (payment-apis.md §1.8).
fn result_of(answer: &Answer) -> (i64, &'static str) {
    match answer {
        Answer::Paid { .. } => (0, "The service request is processed successfully."),
        Answer::InsufficientFunds => (1, "The balance is insufficient for the transaction."),
        Answer::Cancelled => (1032, "Request cancelled by user"),
        Answer::TimedOut => (1037, "DS timeout user cannot be reached"),
        Answer::WrongPin => (2001, "The initiator information is invalid."),
    }
}

fn password_is_valid(world: &World, request: &Value) -> bool {
    let config = &world.mpesa.config;
    let (Some(short_code), Some(password), Some(timestamp)) = (
        text(request, "BusinessShortCode"),
        text(request, "Password"),
        text(request, "Timestamp"),
    ) else {
        return false;
    };
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{short_code}{}{timestamp}", config.stk_passkey));
    short_code == config.stk_shortcode && timestamp.len() == 14 && password == expected
}

/// A push's checked fields: the payer, the amount, where to call back.
struct Push {
    phone: String,
    amount_cents: i64,
    callback_url: String,
}

/// Checks a push as Daraja does; `Err` names the field refused with
/// `400.002.02 Bad Request - Invalid <Field>`.
fn checked(request: &Value) -> Result<Push, &'static str> {
    let field = |name: &str| text(request, name).filter(|value| !value.trim().is_empty());
    let invalid = |name: &'static str| name;
    if !matches!(
        field("TransactionType").as_deref(),
        Some("CustomerPayBillOnline" | "CustomerBuyGoodsOnline")
    ) {
        return Err(invalid("TransactionType"));
    }
    let Some(phone) = field("PhoneNumber").filter(|phone| is_msisdn(phone)) else {
        return Err(invalid("PhoneNumber"));
    };
    let Some(amount_cents) = field("Amount")
        .and_then(|amount| parse_minor(&amount))
        .filter(|cents| *cents >= 100 && cents % 100 == 0)
    else {
        return Err(invalid("Amount"));
    };
    let Some(callback_url) = field("CallBackURL").filter(|url| is_url(url)) else {
        return Err(invalid("CallBackURL"));
    };
    if field("AccountReference").is_some_and(|reference| reference.chars().count() > 12) {
        return Err(invalid("AccountReference"));
    }
    Ok(Push {
        phone,
        amount_cents,
        callback_url,
    })
}

pub(super) async fn push(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(
        &world,
        &headers,
        "POST /mpesa/stkpush/v1/processrequest",
        &body,
        Some("mpesa.stk"),
        ("400.002.02", "Bad Request - Invalid Body"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    if !password_is_valid(&world, &request) {
        return error(&world, "500.001.1001", "Wrong credentials");
    }
    let push = match checked(&request) {
        Ok(push) => push,
        Err(field) => {
            return error(
                &world,
                "400.002.02",
                &format!("Bad Request - Invalid {field}"),
            );
        }
    };
    let Some((merchant_request_id, checkout_request_id)) = register(&world, &push.phone) else {
        // One prompt at a time per handset: Daraja cannot lock the subscriber.
        return error(
            &world,
            "500.001.1001",
            "Unable to lock subscriber, a transaction is already in process for the current subscriber",
        );
    };
    tokio::spawn(prompt_then_call_back(
        world.clone(),
        push,
        merchant_request_id.clone(),
        checkout_request_id.clone(),
    ));
    Json(serde_json::json!({
        "MerchantRequestID": merchant_request_id, "CheckoutRequestID": checkout_request_id,
        "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    }))
    .into_response()
}

/// Names a new push, unless the handset has one awaiting an answer.
fn register(world: &World, phone: &str) -> Option<(String, String)> {
    let mut state = lock(&world.mpesa.state);
    if state
        .stk
        .iter()
        .any(|stk| stk.msisdn == phone && stk.result.is_none())
    {
        return None;
    }
    let merchant = format!(
        "{:04x}-{:04x}-{:08x}",
        state.random.r#gen::<u16>(),
        state.random.r#gen::<u16>(),
        state.random.r#gen::<u32>()
    );
    let checkout = format!(
        "ws_CO_{}{:08}",
        crate::clock::local_time(crate::now_ms(), 3, "yyyyMMddHHmmss"),
        state.random.gen_range(0..100_000_000u32)
    );
    state.stk.push(StkRequest {
        checkout_request_id: checkout.clone(),
        merchant_request_id: merchant.clone(),
        msisdn: phone.to_string(),
        result: None,
    });
    Some((merchant, checkout))
}

/// The payer's prompt, then the `stkCallback` (with `CallbackMetadata` only
/// when paid), under the callback fault knobs.
async fn prompt_then_call_back(world: Arc<World>, push: Push, merchant: String, checkout: String) {
    let shortcode = world.mpesa.config.stk_shortcode.clone();
    let answer = handset::prompt(&world, &push.phone, push.amount_cents, &shortcode).await;
    let (code, description) = result_of(&answer);
    if let Some(stk) = lock(&world.mpesa.state)
        .stk
        .iter_mut()
        .find(|stk| stk.checkout_request_id == checkout)
    {
        stk.result = Some((code, description));
    }
    let decision = world
        .faults
        .decide_callback("mpesa", std::time::Duration::ZERO);
    tokio::time::sleep(decision.delay).await;
    if !decision.send {
        return;
    }
    let mut callback = serde_json::json!({
        "MerchantRequestID": merchant, "CheckoutRequestID": checkout,
        "ResultCode": code, "ResultDesc": description,
    });
    if let Answer::Paid { receipt, at_ms } = &answer {
        let transaction_date: u64 = crate::clock::local_time(*at_ms, 3, "yyyyMMddHHmmss")
            .parse()
            .unwrap_or(0);
        let phone_number: u64 = push.phone.parse().unwrap_or(0);
        // Numbers where Daraja sends numbers; whole shillings only.
        let amount = push.amount_cents / 100;
        callback["CallbackMetadata"] = serde_json::json!({ "Item": [
            { "Name": "Amount", "Value": amount },
            { "Name": "MpesaReceiptNumber", "Value": receipt },
            { "Name": "TransactionDate", "Value": transaction_date },
            { "Name": "PhoneNumber", "Value": phone_number },
        ]});
    }
    let body = serde_json::json!({ "Body": { "stkCallback": callback } }).to_string();
    let sends = if decision.duplicate { 2 } else { 1 };
    for _ in 0..sends {
        world
            .post_callback(
                "mpesa",
                &push.callback_url,
                "application/json",
                body.clone(),
            )
            .await;
    }
}

pub(super) async fn query(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(
        &world,
        &headers,
        "POST /mpesa/stkpushquery/v1/query",
        &body,
        Some("mpesa.stk"),
        ("400.002.02", "Bad Request - Invalid Body"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    if !password_is_valid(&world, &request) {
        return error(&world, "500.001.1001", "Wrong credentials");
    }
    let checkout = text(&request, "CheckoutRequestID").unwrap_or_default();
    let found = lock(&world.mpesa.state)
        .stk
        .iter()
        .find(|stk| stk.checkout_request_id == checkout)
        .cloned();
    match found {
        None => error(&world, "400.002.02", "Bad Request - Invalid CheckoutRequestID"),
        Some(StkRequest { result: None, .. }) => error(&world, "500.001.1001", "The transaction is being processed"),
        Some(StkRequest { result: Some((code, description)), merchant_request_id, checkout_request_id, .. }) => Json(serde_json::json!({
            "ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": merchant_request_id, "CheckoutRequestID": checkout_request_id,
            // A string here, a number in the callback.
            "ResultCode": code.to_string(), "ResultDesc": description,
        }))
        .into_response(),
    }
}
