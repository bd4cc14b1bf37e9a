//! `POST /disbursement/v1_0/transfer` and `GET …/transfer/{referenceId}`:
//! validation, 202, the decision later (funds, test numbers, faults), the
//! balances moved once, and the one callback.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use super::config::TestOutcome;
use super::{ApiUser, authorise, bad_request, error, gate, header, is_uuid, to_minor, to_units};
use crate::World;
use crate::faults::lock;

/// MTN: notes and messages over 160 characters are refused.
const MAX_NOTE: usize = 160;

/// One transfer and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferRecord {
    /// The `X-Reference-Id`.
    pub reference_id: String,
    /// The API user that sent it.
    pub api_user: String,
    /// The amount, minor units of `currency`.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// The caller's `externalId`.
    pub external_id: String,
    /// `partyIdType`.
    pub payee_type: String,
    /// `partyId`.
    pub payee: String,
    /// `payerMessage`.
    pub payer_message: Option<String>,
    /// `payeeNote`.
    pub payee_note: Option<String>,
    /// `PENDING`, `SUCCESSFUL` or `FAILED`.
    pub status: &'static str,
    /// Why it failed.
    pub reason: Option<String>,
    /// MoMo's id, once paid.
    pub financial_transaction_id: Option<String>,
    /// Where the callback goes, if anywhere.
    pub callback_url: Option<String>,
}

impl TransferRecord {
    /// The status resource, also the callback's body.
    fn body(&self, reason_as_object: bool) -> Value {
        let mut body = serde_json::json!({
            "amount": to_units(self.amount_minor, &self.currency),
            "currency": self.currency,
            "financialTransactionId": self.financial_transaction_id,
            "externalId": self.external_id,
            "payee": { "partyIdType": self.payee_type, "partyId": self.payee },
            "payerMessage": self.payer_message,
            "payeeNote": self.payee_note,
            "status": self.status,
        });
        if let Some(reason) = &self.reason {
            body["reason"] = if reason_as_object {
                serde_json::json!({ "code": reason, "message": reason.replace('_', " ").to_lowercase() })
            } else {
                Value::from(reason.clone())
            };
        }
        body
    }
}

/// An MSISDN: digits with the country code, E.164 length.
pub(super) fn is_msisdn(text: &str) -> bool {
    (8..=15).contains(&text.len()) && text.chars().all(|c| c.is_ascii_digit())
}

/// A JSON string or number as text (MTN's own examples send both).
fn text(body: &Value, field: &str) -> Option<String> {
    match body.get(field)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The body's checks, MTN's 400 causes: a positive amount, a currency, a
/// payee of a known type, notes of at most 160 characters with no apostrophe.
fn parse(body: &str, reference_id: &str, user: &str) -> Result<TransferRecord, String> {
    let body: Value = serde_json::from_str(body).map_err(|_| "the body is not JSON".to_string())?;
    let currency = text(&body, "currency")
        .filter(|c| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()));
    let currency = currency.ok_or("currency must be an ISO 4217 code")?;
    let amount = text(&body, "amount")
        .and_then(|amount| to_minor(&amount, &currency))
        .filter(|minor| *minor > 0);
    let amount_minor = amount.ok_or("amount must be a positive amount in the currency's units")?;
    let payee = body.get("payee").ok_or("payee is required")?;
    let payee_type = text(payee, "partyIdType").ok_or("payee.partyIdType is required")?;
    let payee_id = text(payee, "partyId").ok_or("payee.partyId is required")?;
    let valid_payee = match payee_type.as_str() {
        "MSISDN" => is_msisdn(&payee_id),
        "EMAIL" => payee_id.contains('@'),
        "PARTY_CODE" => is_uuid(&payee_id, false),
        _ => false,
    };
    if !valid_payee {
        return Err(format!("payee {payee_type} {payee_id:?} is not valid"));
    }
    let note = |field: &str| -> Result<Option<String>, String> {
        match text(&body, field) {
            Some(note) if note.chars().count() > MAX_NOTE || note.contains('\'') => Err(format!(
                "{field} is over {MAX_NOTE} characters or has unsupported characters"
            )),
            other => Ok(other),
        }
    };
    Ok(TransferRecord {
        reference_id: reference_id.to_string(),
        api_user: user.to_string(),
        amount_minor,
        currency,
        external_id: text(&body, "externalId").unwrap_or_default(),
        payee_type,
        payee: payee_id,
        payer_message: note("payerMessage")?,
        payee_note: note("payeeNote")?,
        status: "PENDING",
        reason: None,
        financial_transaction_id: None,
        callback_url: None,
    })
}

/// The API user behind a product call's bearer token.
fn user_id(world: &World, headers: &HeaderMap) -> String {
    let token = header(headers, "authorization").and_then(|value| value.strip_prefix("Bearer "));
    let state = lock(&world.momo.state);
    token
        .and_then(|token| state.tokens.get(token))
        .map(|(user, _)| user.clone())
        .unwrap_or_default()
}

/// The checks after the body: the environment's currency and the callback
/// host, both 500s that are permanent.
fn check_against_user(
    world: &World,
    user: &ApiUser,
    transfer: &TransferRecord,
) -> Option<Response> {
    if world.momo.config.environments.get(&user.target_environment) != Some(&transfer.currency) {
        return Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("INVALID_CURRENCY"),
            "Currency not supported.",
        ));
    }
    if let Some(url) = &transfer.callback_url {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_ascii_lowercase));
        if host.as_deref() != Some(user.callback_host.as_str()) {
            return Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("INVALID_CALLBACK_URL_HOST"),
                "Callback URL with different host name then configured for API User.",
            ));
        }
    }
    None
}

pub(super) async fn create(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let target = "POST /disbursement/v1_0/transfer".to_string();
    if let Some(response) = gate(&world, "momo.transfer", &headers, target, &body).await {
        return response;
    }
    let user = match authorise(&world, &headers) {
        Ok(user) => user,
        Err(response) => return *response,
    };
    let v4 = world.momo.config.require_uuid_v4;
    let Some(reference_id) = header(&headers, "x-reference-id").filter(|id| is_uuid(id, v4)) else {
        return bad_request("X-Reference-Id must be a UUID version 4");
    };
    let mut transfer = match parse(&body, reference_id, &user_id(&world, &headers)) {
        Ok(transfer) => transfer,
        Err(detail) => return bad_request(&detail),
    };
    transfer.callback_url = header(&headers, "x-callback-url").map(str::to_string);
    if let Some(response) = check_against_user(&world, &user, &transfer) {
        return response;
    }
    {
        let mut state = lock(&world.momo.state);
        if state.transfers.contains_key(&transfer.reference_id) {
            drop(state);
            return error(
                StatusCode::CONFLICT,
                Some("RESOURCE_ALREADY_EXIST"),
                "Duplicated reference id. Creation of resource failed.",
            );
        }
        state
            .transfers
            .insert(transfer.reference_id.clone(), transfer.clone());
    }
    tokio::spawn(decide_and_call_back(world.clone(), transfer.reference_id));
    StatusCode::ACCEPTED.into_response()
}

pub(super) async fn status(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let target = format!("GET /disbursement/v1_0/transfer/{id}");
    if let Some(response) = gate(&world, "momo.status", &headers, target, "").await {
        return response;
    }
    if let Err(response) = authorise(&world, &headers) {
        return *response;
    }
    if !is_uuid(&id, false) {
        return bad_request("the reference id is not a UUID");
    }
    let found = lock(&world.momo.state).transfers.get(&id).cloned();
    match found {
        Some(transfer) => {
            axum::Json(transfer.body(world.momo.config.reason_as_object)).into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            Some("RESOURCE_NOT_FOUND"),
            "Requested resource was not found.",
        ),
    }
}

/// Decides a pending transfer, once: a forced reason, or funds permitting the
/// disbursement account pays and the payee receives.
fn settle(world: &World, reference_id: &str, forced: Option<&str>) -> TransferRecord {
    let mut guard = lock(&world.momo.state);
    let state = &mut *guard;
    let transfer = state
        .transfers
        .get(reference_id)
        .cloned()
        .expect("a transfer is recorded before it is decided");
    assert_eq!(transfer.status, "PENDING", "a transfer is decided once");
    let funds = state
        .balances
        .disbursement
        .get(&transfer.currency)
        .copied()
        .unwrap_or(0);
    let reason = match forced {
        Some(reason) => Some(reason.to_string()),
        None if transfer.payee_type != "MSISDN" => Some("PAYEE_NOT_FOUND".into()),
        None if funds < transfer.amount_minor => Some("NOT_ENOUGH_FUNDS".into()),
        None => None,
    };
    let financial_transaction_id = if reason.is_none() {
        *state
            .balances
            .disbursement
            .entry(transfer.currency.clone())
            .or_insert(0) -= transfer.amount_minor;
        *state
            .balances
            .payees
            .entry(transfer.payee.clone())
            .or_default()
            .entry(transfer.currency.clone())
            .or_insert(0) += transfer.amount_minor;
        Some(
            state
                .random
                .gen_range(100_000_000u64..1_000_000_000)
                .to_string(),
        )
    } else {
        None
    };
    let record = state.transfers.get_mut(reference_id).expect("present");
    record.status = if reason.is_some() {
        "FAILED"
    } else {
        "SUCCESSFUL"
    };
    record.reason = reason;
    record.financial_transaction_id = financial_transaction_id;
    record.clone()
}

/// After the delay, decides the transfer and sends its one callback. The
/// callback faults apply: dropped (decided, never told), duplicated, delayed;
/// a queue timeout fails the transfer `EXPIRED`, as MTN's 46733123452 does.
async fn decide_and_call_back(world: Arc<World>, reference_id: String) {
    let payee = lock(&world.momo.state)
        .transfers
        .get(&reference_id)
        .map(|transfer| transfer.payee.clone())
        .unwrap_or_default();
    let number = world.momo.test_number(&payee).cloned();
    let config = &world.config;
    let base_delay = match number.as_ref().map(|number| number.outcome) {
        Some(TestOutcome::Pending) => return,
        Some(TestOutcome::DelayedSuccess) => config.delay(config.momo.delayed_success_ms, 25_000),
        _ => config.delay(config.momo.result_delay_ms, 1000),
    };
    let decision = world.faults.decide_callback("momo", base_delay);
    tokio::time::sleep(decision.delay).await;
    let forced = if decision.queue_timeout {
        Some("EXPIRED")
    } else {
        number.as_ref().and_then(|number| number.reason.as_deref())
    };
    let transfer = settle(&world, &reference_id, forced);
    let Some(url) = transfer.callback_url.clone() else {
        return;
    };
    if !decision.send {
        tracing::info!(reference_id, "momo callback dropped by the fault plan");
        return;
    }
    let body = transfer
        .body(world.momo.config.reason_as_object)
        .to_string();
    let method = world.momo.config.callback_method.as_str();
    for _ in 0..if decision.duplicate { 2 } else { 1 } {
        world
            .send_callback("momo", method, &url, "application/json", body.clone())
            .await;
    }
}
