//! C2B: register the validation and confirmation URLs, simulate a customer
//! paying a PayBill (sandbox only), validation then confirmation. v1 callbacks
//! carry a SHA-256-hashed MSISDN, v2 a masked one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{accept, error, is_msisdn, is_url, receipt, text};
use crate::World;
use crate::faults::lock;
use crate::money::{format_minor, parse_minor};

#[derive(Debug, Clone)]
struct Registration {
    /// `Completed` or `Cancelled`: what happens when validation cannot be reached.
    response_type: String,
    confirmation_url: String,
    validation_url: String,
}

#[derive(Debug, Clone)]
pub(super) struct C2bPayment {
    pub trans_id: String,
    pub msisdn: String,
    pub amount_cents: i64,
    pub reversed: bool,
}

#[derive(Default)]
pub(super) struct C2bState {
    registrations: BTreeMap<String, Registration>,
    pub payments: Vec<C2bPayment>,
}

/// The register and simulate acknowledgement; `OriginatorCoversationID` (sic)
/// is the real field name.
fn acknowledgement(world: &World, description: &str) -> Response {
    let id = {
        let mut state = lock(&world.mpesa.state);
        format!(
            "{:04x}-{:04x}-{:08x}",
            state.random.r#gen::<u16>(),
            state.random.r#gen::<u16>(),
            state.random.r#gen::<u32>()
        )
    };
    Json(serde_json::json!({ "OriginatorCoversationID": id, "ResponseCode": "0", "ResponseDescription": description })).into_response()
}

pub(super) async fn register(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = match accept(
        &world,
        &headers,
        "POST /mpesa/c2b/registerurl",
        &body,
        None,
        ("400.002.05", "Invalid request payload"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let field = |name: &str| text(&request, name).filter(|value| !value.trim().is_empty());
    let Some(short_code) = field("ShortCode") else {
        return error(&world, "400.002.02", "Bad Request - Invalid ShortCode");
    };
    let response_type = field("ResponseType").unwrap_or_default();
    if response_type != "Completed" && response_type != "Cancelled" {
        return error(&world, "400.002.02", "Bad Request - Invalid ResponseType");
    }
    let (Some(confirmation_url), Some(validation_url)) = (
        field("ConfirmationURL").filter(|url| is_url(url)),
        field("ValidationURL").filter(|url| is_url(url)),
    ) else {
        return error(&world, "400.002.02", "Bad Request - Invalid URL");
    };
    lock(&world.mpesa.state).c2b.registrations.insert(
        short_code,
        Registration {
            response_type,
            confirmation_url,
            validation_url,
        },
    );
    acknowledgement(&world, "Success")
}

pub(super) async fn simulate_v1(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    simulate(world, headers, body, 1).await
}

pub(super) async fn simulate_v2(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    simulate(world, headers, body, 2).await
}

async fn simulate(world: Arc<World>, headers: HeaderMap, body: String, version: u8) -> Response {
    let request = match accept(
        &world,
        &headers,
        &format!("POST /mpesa/c2b/v{version}/simulate"),
        &body,
        None,
        ("400.002.05", "Invalid request payload"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let field = |name: &str| text(&request, name).filter(|value| !value.trim().is_empty());
    let Some(short_code) = field("ShortCode") else {
        return error(&world, "400.002.02", "Bad Request - Invalid ShortCode");
    };
    let Some(msisdn) = field("Msisdn").filter(|msisdn| is_msisdn(msisdn)) else {
        return error(&world, "400.002.02", "Bad Request - Invalid Msisdn");
    };
    let Some(amount_cents) = field("Amount")
        .and_then(|amount| parse_minor(&amount))
        .filter(|cents| *cents >= 100)
    else {
        return error(&world, "400.002.02", "Bad Request - Invalid Amount");
    };
    let Some(registration) = lock(&world.mpesa.state)
        .c2b
        .registrations
        .get(&short_code)
        .cloned()
    else {
        return error(
            &world,
            "500.003.1001",
            "URLs not registered for this ShortCode",
        );
    };
    let bill_ref = field("BillRefNumber").unwrap_or_default();
    let world_for_flow = world.clone();
    tokio::spawn(async move {
        let trans_id = receipt(&mut lock(&world_for_flow.mpesa.state).random);
        let shown_msisdn = if version == 1 {
            hex::encode(Sha256::digest(msisdn.as_bytes()))
        } else {
            format!("{} ***** {}", &msisdn[..4], &msisdn[9..])
        };
        let payload = serde_json::json!({
            "TransactionType": "Pay Bill", "TransID": trans_id,
            "TransTime": crate::clock::local_time(crate::now_ms(), 3, "yyyyMMddHHmmss"),
            "TransAmount": format_minor(amount_cents), "BusinessShortCode": short_code, "BillRefNumber": bill_ref,
            "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "", "MSISDN": shown_msisdn,
            "FirstName": "SANDBOX", "MiddleName": "", "LastName": "",
        });
        // Validation first; an unreachable validation URL takes the registered default.
        let validation = tokio::time::timeout(
            Duration::from_secs(8),
            world_for_flow.post_callback(
                "mpesa",
                &registration.validation_url,
                "application/json",
                payload.to_string(),
            ),
        )
        .await
        .ok()
        .flatten();
        let accepted = match validation {
            Some((_, reply)) => {
                serde_json::from_str::<Value>(&reply)
                    .ok()
                    .and_then(|reply| text(&reply, "ResultCode"))
                    .as_deref()
                    == Some("0")
            }
            None => registration.response_type == "Completed",
        };
        if !accepted {
            return;
        }
        {
            let mut state = lock(&world_for_flow.mpesa.state);
            *state.balances.customers.entry(msisdn.clone()).or_insert(0) -= amount_cents;
            state.balances.utility_cents += amount_cents;
            state.c2b.payments.push(C2bPayment {
                trans_id,
                msisdn,
                amount_cents,
                reversed: false,
            });
        }
        world_for_flow
            .post_callback(
                "mpesa",
                &registration.confirmation_url,
                "application/json",
                payload.to_string(),
            )
            .await;
    });
    acknowledgement(&world, "Accept the service request successfully.")
}
