//! C2B Paybill: register the validation and confirmation URLs (Daraja JSON
//! v1/v2, or the broker's SOAP RegisterURL of seed 003), and a customer
//! paying a Paybill: funds reserved, validation asked (falling back to the
//! registered `ResponseType` when it cannot be reached), the payment
//! completed or cancelled, and the confirmation delivered until
//! acknowledged. v1 notifications carry a SHA-256-hashed MSISDN, v2 a masked
//! one, SOAP the plain one under a signed `RequestSOAPHeader`.
//!
//! Payments are started by Daraja's `simulate` (JSON, as the real sandbox
//! offers) or by the control API's `POST /control/mpesa/c2b/pay`, which drives
//! any form and answers with the outcome.

pub mod config;
mod flow;
mod soap;
pub(super) mod status;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{CustomerRecord, accept, error, is_msisdn, is_url, text};
use crate::World;
use crate::faults::lock;
use crate::money::parse_minor;

pub(super) use soap::register_soap;

/// Which form a Paybill registered for: it decides every notification's form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// Daraja JSON, `/v1/registerurl`: hashed MSISDN.
    DarajaV1,
    /// Daraja JSON, `/v2/registerurl`: masked MSISDN.
    DarajaV2,
    /// The broker's SOAP: plain MSISDN, signed header.
    Soap,
}

#[derive(Debug, Clone)]
pub(super) struct Registration {
    form: Form,
    /// `Completed` or `Cancelled`: what happens when validation cannot be reached.
    response_type: String,
    confirmation_url: String,
    validation_url: String,
}

/// Where a C2B payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum C2bStatus {
    /// Money moved to the Paybill.
    Completed,
    /// Validation refused it (or could not be reached under `Cancelled`).
    Cancelled,
    /// Completed, then given back.
    Reversed,
}

/// One C2B payment.
#[derive(Debug, Clone, Serialize)]
pub struct C2bPayment {
    /// The receipt.
    pub trans_id: String,
    /// The payer.
    pub msisdn: String,
    /// KES cents.
    pub amount_cents: i64,
    /// The Paybill paid.
    pub shortcode: String,
    /// The account number typed.
    pub bill_ref: String,
    /// When the customer paid, ms since the epoch.
    pub time_ms: u64,
    /// Where it stands.
    pub status: C2bStatus,
}

/// One completed reversal.
#[derive(Debug, Clone, Serialize)]
pub struct ReversalRecord {
    /// The id the acknowledgement gave the request.
    pub originator_conversation_id: String,
    /// The reversal's own receipt.
    pub receipt: String,
    /// The payment reversed.
    pub original: String,
    /// KES cents.
    pub amount_cents: i64,
    /// When, ms since the epoch.
    pub time_ms: u64,
}

/// A Paybill organisation's accounts, KES cents (seed 002).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PaybillBalances {
    /// The organisation's name.
    pub name: String,
    /// Working (MMF) account: outgoing cash.
    pub working_cents: i64,
    /// Utility account: incoming cash.
    pub utility_cents: i64,
    /// Charges paid account.
    pub charges_paid_cents: i64,
}

#[derive(Default)]
pub(super) struct C2bState {
    registrations: BTreeMap<String, Registration>,
    pub payments: Vec<C2bPayment>,
    pub reversals: Vec<ReversalRecord>,
}

/// Adds the configured payers to the customers and opens the Paybills'
/// accounts.
pub(super) fn open(
    config: &config::C2bConfig,
    customers: &mut BTreeMap<String, CustomerRecord>,
    balances: &mut BTreeMap<String, i64>,
) -> anyhow::Result<BTreeMap<String, PaybillBalances>> {
    let money = |field: &str, text: &str| {
        parse_minor(text.trim_start_matches('-'))
            .map(|cents| if text.starts_with('-') { -cents } else { cents })
            .ok_or_else(|| anyhow::anyhow!("mpesa.c2b.{field}: {text:?} is not an amount"))
    };
    for payer in &config.payers {
        anyhow::ensure!(
            is_msisdn(&payer.msisdn),
            "mpesa.c2b.payers: {:?} is not a 12-digit MSISDN",
            payer.msisdn
        );
        *balances.entry(payer.msisdn.clone()).or_insert(0) +=
            money("payers.balance", &payer.balance)?;
        customers
            .entry(payer.msisdn.clone())
            .or_insert_with(|| CustomerRecord {
                name: payer.name(),
                registered: true,
            });
    }
    config
        .paybills
        .iter()
        .map(|paybill| {
            Ok((
                paybill.shortcode.clone(),
                PaybillBalances {
                    name: paybill.name.clone(),
                    working_cents: money("paybills.working_balance", &paybill.working_balance)?,
                    utility_cents: money("paybills.utility_balance", &paybill.utility_balance)?,
                    charges_paid_cents: money(
                        "paybills.charges_paid_balance",
                        &paybill.charges_paid_balance,
                    )?,
                },
            ))
        })
        .collect()
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

pub(super) async fn register_v1(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    register(world, headers, body, Form::DarajaV1).await
}

pub(super) async fn register_v2(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    register(world, headers, body, Form::DarajaV2).await
}

async fn register(world: Arc<World>, headers: HeaderMap, body: String, form: Form) -> Response {
    let version = if form == Form::DarajaV1 { 1 } else { 2 };
    let request = match accept(
        &world,
        &headers,
        &format!("POST /mpesa/c2b/v{version}/registerurl"),
        &body,
        Some("mpesa.c2b-register"),
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
    save(
        &world,
        short_code,
        Registration {
            form,
            response_type,
            confirmation_url,
            validation_url,
        },
    );
    acknowledgement(&world, "Success")
}

/// Registers (again: the sandbox lets a test re-register, unlike production).
fn save(world: &World, short_code: String, registration: Registration) {
    lock(&world.mpesa.state)
        .c2b
        .registrations
        .insert(short_code, registration);
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

/// Daraja's sandbox-only `simulate`: accepted now, the payment runs after.
/// The notifications take the form the Paybill registered for.
async fn simulate(world: Arc<World>, headers: HeaderMap, body: String, version: u8) -> Response {
    let request = match accept(
        &world,
        &headers,
        &format!("POST /mpesa/c2b/v{version}/simulate"),
        &body,
        Some("mpesa.c2b-simulate"),
        ("400.002.05", "Invalid request payload"),
    )
    .await
    {
        Ok(request) => request,
        Err(response) => return response,
    };
    let field = |name: &str| text(&request, name).filter(|value| !value.trim().is_empty());
    let Some(shortcode) = field("ShortCode") else {
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
    if !lock(&world.mpesa.state)
        .c2b
        .registrations
        .contains_key(&shortcode)
    {
        return error(
            &world,
            "500.003.1001",
            "URLs not registered for this ShortCode",
        );
    }
    let payment = flow::PayRequest {
        shortcode,
        msisdn,
        amount_cents,
        bill_ref: field("BillRefNumber").unwrap_or_default(),
    };
    let world_for_flow = world.clone();
    tokio::spawn(async move { flow::pay(&world_for_flow, payment).await });
    acknowledgement(&world, "Accept the service request successfully.")
}

/// `POST /control/mpesa/c2b/pay`: "customer `msisdn` pays Paybill
/// `shortcode`, account `account`, `amount`" — in whatever form the Paybill
/// registered for. Answers once the payment is completed or cancelled; the
/// confirmation goes on being delivered after.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayOrder {
    msisdn: String,
    shortcode: String,
    account: String,
    /// KES, "123.00".
    amount: String,
}

pub(crate) async fn control_pay(world: Arc<World>, body: &str) -> Response {
    let bad = |message: String| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "code": "bad-request", "message": message })),
        )
            .into_response()
    };
    let order: PayOrder = match serde_json::from_str(body) {
        Ok(order) => order,
        Err(problem) => return bad(problem.to_string()),
    };
    let Some(amount_cents) = parse_minor(&order.amount).filter(|cents| *cents >= 100) else {
        return bad(format!(
            "amount: {:?} is not at least 1.00 KES",
            order.amount
        ));
    };
    if !is_msisdn(&order.msisdn) {
        return bad(format!("msisdn: {:?} is not 12 digits", order.msisdn));
    }
    let request = flow::PayRequest {
        shortcode: order.shortcode,
        msisdn: order.msisdn,
        amount_cents,
        bill_ref: order.account,
    };
    Json(flow::pay(&world, request).await).into_response()
}

/// Faults on the SOAP endpoints answer as the broker would: a server fault.
async fn soap_gate(world: &World, endpoint: &str) -> Option<Response> {
    let fault = world.gate(endpoint, Duration::ZERO).await?;
    Some(soap::fault(
        "Server",
        match fault {
            crate::faults::InjectedError::Busy => "The system is overload",
            crate::faults::InjectedError::ServerError => "Internal Server Error",
        },
    ))
}
