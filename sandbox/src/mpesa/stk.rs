//! M-PESA Express (STK push) and its query. `Password` must be
//! `base64(BusinessShortCode + Passkey + Timestamp)`; the query answers
//! `500.001.1001` "The transaction is being processed" until the customer has
//! acted.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::Rng;
use serde_json::Value;

use super::{accept, error, is_msisdn, is_url, receipt, text};
use crate::World;
use crate::faults::lock;
use crate::money::parse_minor;

#[derive(Debug, Clone)]
pub(super) struct StkRequest {
    checkout_request_id: String,
    merchant_request_id: String,
    /// `None` while the customer has not acted.
    result_code: Option<i64>,
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
        None,
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
    let field = |name: &str| text(&request, name).filter(|value| !value.trim().is_empty());
    let Some(phone) = field("PhoneNumber").filter(|phone| is_msisdn(phone)) else {
        return error(&world, "400.002.02", "Bad Request - Invalid PhoneNumber");
    };
    let Some(amount_cents) = field("Amount")
        .and_then(|amount| parse_minor(&amount))
        .filter(|cents| *cents >= 100)
    else {
        return error(&world, "400.002.02", "Bad Request - Invalid Amount");
    };
    let Some(callback_url) = field("CallBackURL").filter(|url| is_url(url)) else {
        return error(&world, "400.002.02", "Bad Request - Invalid CallBackURL");
    };
    if field("AccountReference").is_some_and(|reference| reference.chars().count() > 12) {
        return error(
            &world,
            "400.002.02",
            "Bad Request - Invalid AccountReference",
        );
    }
    let (merchant_request_id, checkout_request_id) = {
        let mut state = lock(&world.mpesa.state);
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
            result_code: None,
        });
        (merchant, checkout)
    };
    let world_for_callback = world.clone();
    let (merchant, checkout) = (merchant_request_id.clone(), checkout_request_id.clone());
    tokio::spawn(async move {
        let delay = world_for_callback
            .config
            .delay(world_for_callback.config.mpesa.result_delay_ms, 2500);
        let decision = world_for_callback.faults.decide_callback("mpesa", delay);
        tokio::time::sleep(decision.delay).await;
        let receipt_number = {
            let mut guard = lock(&world_for_callback.mpesa.state);
            let state = &mut *guard;
            if let Some(stk) = state
                .stk
                .iter_mut()
                .find(|stk| stk.checkout_request_id == checkout)
            {
                stk.result_code = Some(0);
            }
            *state.balances.customers.entry(phone.clone()).or_insert(0) -= amount_cents;
            state.balances.utility_cents += amount_cents;
            receipt(&mut state.random)
        };
        if !decision.send {
            return;
        }
        let transaction_date: u64 = crate::clock::local_time(crate::now_ms(), 3, "yyyyMMddHHmmss")
            .parse()
            .unwrap_or(0);
        let phone_number: u64 = phone.parse().unwrap_or(0);
        let body = serde_json::json!({ "Body": { "stkCallback": {
            "MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.",
            "CallbackMetadata": { "Item": [
                { "Name": "Amount", "Value": amount_cents / 100 },
                { "Name": "MpesaReceiptNumber", "Value": receipt_number },
                { "Name": "TransactionDate", "Value": transaction_date },
                { "Name": "PhoneNumber", "Value": phone_number },
            ]},
        }}});
        world_for_callback
            .post_callback("mpesa", &callback_url, "application/json", body.to_string())
            .await;
    });
    Json(serde_json::json!({
        "MerchantRequestID": merchant_request_id, "CheckoutRequestID": checkout_request_id,
        "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    }))
    .into_response()
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
        None,
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
        Some(StkRequest { result_code: None, .. }) => error(&world, "500.001.1001", "The transaction is being processed"),
        Some(StkRequest { result_code: Some(code), merchant_request_id, checkout_request_id }) => Json(serde_json::json!({
            "ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
            "MerchantRequestID": merchant_request_id, "CheckoutRequestID": checkout_request_id,
            // A string here, a number in the callback.
            "ResultCode": code.to_string(), "ResultDesc": "The service request is processed successfully.",
        }))
        .into_response(),
    }
}
