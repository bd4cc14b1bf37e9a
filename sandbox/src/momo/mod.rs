//! The MTN MoMo simulator: the Open API's sandbox provisioning and the
//! Disbursement product (token, transfer, transfer status, balance, account
//! holder), following `mobile-money-apis.md` §1.
//!
//! Faithful where a connector could get it wrong: the APIM gateway's 401 for
//! a bad subscription key, Basic-auth tokens that expire (and that a new API
//! key revokes), `X-Target-Environment` and `X-Reference-Id` checked, 202 with
//! an empty body and the outcome later (status `PENDING` until then, the
//! callback sent once, unsigned, with no retry), 409 `RESOURCE_ALREADY_EXIST`
//! on a reused reference id with the first transfer standing, 500s that are
//! permanent (`INVALID_CURRENCY`, `INVALID_CALLBACK_URL_HOST`, …), `reason` as
//! a bare string, MTN's test numbers as observed, and balances that move.

pub mod config;
mod provisioning;
#[cfg(test)]
mod tests;
mod transfer;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::World;
use crate::faults::{InjectedError, lock};
use crate::journal::Direction;
use crate::money::parse_minor;
pub use config::MomoConfig;
use config::{TestNumber, TestOutcome};
pub use transfer::TransferRecord;

/// The accounts' balances, in minor units of each currency (UGX has none:
/// 5000 UGX is 5000).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Balances {
    /// The disbursement account, which pays every transfer, by currency.
    pub disbursement: BTreeMap<String, i64>,
    /// What each payee MSISDN received, by currency.
    pub payees: BTreeMap<String, BTreeMap<String, i64>>,
}

/// A provisioned API user.
#[derive(Debug, Clone)]
struct ApiUser {
    api_key: Option<String>,
    callback_host: String,
    target_environment: String,
}

struct MomoState {
    users: BTreeMap<String, ApiUser>,
    /// Bearer token → (API user, expiry).
    tokens: BTreeMap<String, (String, Instant)>,
    transfers: BTreeMap<String, TransferRecord>,
    balances: Balances,
    random: StdRng,
}

/// MoMo's state.
pub(crate) struct Momo {
    config: MomoConfig,
    state: Mutex<MomoState>,
}

impl Momo {
    pub fn new(config: &MomoConfig, seed: u64) -> anyhow::Result<Momo> {
        let mut users = BTreeMap::new();
        for user in &config.api_users {
            anyhow::ensure!(
                is_uuid(&user.id, true),
                "momo.api_users: {:?} is not a UUID v4",
                user.id
            );
            anyhow::ensure!(
                config.environments.contains_key(&user.target_environment),
                "momo.api_users: environment {:?} is not in momo.environments",
                user.target_environment
            );
            users.insert(
                user.id.clone(),
                ApiUser {
                    api_key: Some(user.api_key.clone()),
                    callback_host: user.callback_host.to_ascii_lowercase(),
                    target_environment: user.target_environment.clone(),
                },
            );
        }
        for number in &config.test_numbers {
            anyhow::ensure!(
                (number.outcome == TestOutcome::Failed) == number.reason.is_some(),
                "momo.test_numbers: {}: a reason goes with outcome \"failed\", and only there",
                number.msisdn
            );
        }
        let mut disbursement = BTreeMap::new();
        for (currency, amount) in &config.disbursement_balances {
            let minor = to_minor(amount, currency).ok_or_else(|| {
                anyhow::anyhow!(
                    "momo.disbursement_balances.{currency}: {amount:?} is not an amount"
                )
            })?;
            disbursement.insert(currency.clone(), minor);
        }
        anyhow::ensure!(
            matches!(config.callback_method.as_str(), "PUT" | "POST"),
            "momo.callback_method: {:?} is not PUT or POST",
            config.callback_method
        );
        Ok(Momo {
            config: config.clone(),
            state: Mutex::new(MomoState {
                users,
                tokens: BTreeMap::new(),
                transfers: BTreeMap::new(),
                balances: Balances {
                    disbursement,
                    payees: BTreeMap::new(),
                },
                random: StdRng::seed_from_u64(seed ^ 0x6d6f_6d6f),
            }),
        })
    }

    pub fn balances(&self) -> Balances {
        lock(&self.state).balances.clone()
    }

    pub fn transfers(&self) -> Vec<TransferRecord> {
        lock(&self.state).transfers.values().cloned().collect()
    }

    fn test_number(&self, msisdn: &str) -> Option<&TestNumber> {
        self.config
            .test_numbers
            .iter()
            .find(|number| number.msisdn == msisdn)
    }

    /// A fresh UUID v4 from the seeded source.
    fn uuid(&self) -> String {
        let bytes: [u8; 16] = lock(&self.state).random.r#gen();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/v1_0/apiuser", post(provisioning::create_user))
        .route("/v1_0/apiuser/{id}", get(provisioning::read_user))
        .route("/v1_0/apiuser/{id}/apikey", post(provisioning::create_key))
        .route("/disbursement/token/", post(provisioning::token))
        .route("/disbursement/v1_0/transfer", post(transfer::create))
        .route("/disbursement/v1_0/transfer/{id}", get(transfer::status))
        .route("/disbursement/v1_0/account/balance", get(balance))
        .route(
            "/disbursement/v1_0/accountholder/{kind}/{id}/active",
            get(account_holder),
        )
        .with_state(world)
}

/// ISO 4217 digits after the point for the currencies MoMo settles.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "UGX" | "RWF" | "XOF" | "XAF" | "GNF" | "BIF" => 0,
        _ => 2,
    }
}

/// An amount in units ("5000", "10.50") as minor units of `currency`.
fn to_minor(text: &str, currency: &str) -> Option<i64> {
    let cents = parse_minor(text)?;
    match minor_digits(currency) {
        0 => (cents % 100 == 0).then_some(cents / 100),
        _ => Some(cents),
    }
}

/// Minor units as MoMo writes an amount: "5000" UGX, "10.50" EUR.
fn to_units(minor: i64, currency: &str) -> String {
    match minor_digits(currency) {
        0 => minor.to_string(),
        _ => crate::money::format_minor(minor),
    }
}

/// MoMo's error body, `message` first as observed.
fn error(status: StatusCode, code: Option<&str>, message: &str) -> Response {
    let body = match code {
        Some(code) => format!(
            "{{\"message\":{},\"code\":{}}}",
            serde_json::Value::from(message),
            serde_json::Value::from(code)
        ),
        None => serde_json::json!({ "message": message }).to_string(),
    };
    (status, [("content-type", "application/json")], body).into_response()
}

fn bad_request(detail: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        None,
        &format!("Bad request. Request does not follow the specification: {detail}"),
    )
}

fn injected(fault: InjectedError) -> Response {
    match fault {
        InjectedError::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("INTERNAL_PROCESSING_ERROR"),
            "An internal error occurred while processing.",
        ),
        InjectedError::Busy => error(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("SERVICE_UNAVAILABLE"),
            "Service temporary unavailable, try again later",
        ),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `8-4-4-4-12` hex, and version 4 when `v4`.
fn is_uuid(text: &str, v4: bool) -> bool {
    text.len() == 36
        && uuid::Uuid::try_parse(text).is_ok_and(|parsed| !v4 || parsed.get_version_num() == 4)
}

/// The first checks of every call: journal it, apply the endpoint's faults,
/// and check the subscription key the way the APIM gateway does. `Some` is
/// the refusal to answer with.
async fn gate(
    world: &World,
    endpoint: &str,
    headers: &HeaderMap,
    target: String,
    body: &str,
) -> Option<Response> {
    world
        .journal
        .record("momo", Direction::Received, target, 0, body.to_string());
    if let Some(fault) = world.gate(endpoint, std::time::Duration::ZERO).await {
        return Some(injected(fault));
    }
    if header(headers, "ocp-apim-subscription-key")
        != Some(world.momo.config.subscription_key.as_str())
    {
        let body = serde_json::json!({
            "statusCode": 401,
            "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
        });
        return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
    }
    None
}

/// A product call's checks after [`gate`]: a live bearer token and the API
/// user's own target environment. Returns the API user.
fn authorise(world: &World, headers: &HeaderMap) -> Result<ApiUser, Box<Response>> {
    let presented =
        header(headers, "authorization").and_then(|value| value.strip_prefix("Bearer "));
    let user = {
        let state = lock(&world.momo.state);
        presented
            .and_then(|token| state.tokens.get(token))
            .filter(|(_, expires)| Instant::now() < *expires)
            .and_then(|(user, _)| state.users.get(user).cloned())
    };
    // MTN documents no body for an expired token; this one says what happened.
    let Some(user) = user else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            Some("UNAUTHORIZED"),
            "Access token is missing, invalid or expired.",
        )));
    };
    match header(headers, "x-target-environment") {
        None => Err(Box::new(bad_request("X-Target-Environment is missing"))),
        Some(environment) if environment != user.target_environment => Err(Box::new(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("NOT_ALLOWED_TARGET_ENVIRONMENT"),
            "Access to target environment is forbidden.",
        ))),
        Some(_) => Ok(user),
    }
}

async fn balance(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let target = "GET /disbursement/v1_0/account/balance".to_string();
    if let Some(response) = gate(&world, "momo.balance", &headers, target, "").await {
        return response;
    }
    let user = match authorise(&world, &headers) {
        Ok(user) => user,
        Err(response) => return *response,
    };
    let currency = world.momo.config.environments[&user.target_environment].clone();
    let minor = lock(&world.momo.state)
        .balances
        .disbursement
        .get(&currency)
        .copied()
        .unwrap_or(0);
    axum::Json(
        serde_json::json!({ "availableBalance": to_units(minor, &currency), "currency": currency }),
    )
    .into_response()
}

/// Active unless a test number makes the payee unknown or blocked.
async fn account_holder(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let target = format!("GET /disbursement/v1_0/accountholder/{kind}/{id}/active");
    if let Some(response) = gate(&world, "momo.accountholder", &headers, target, "").await {
        return response;
    }
    if let Err(response) = authorise(&world, &headers) {
        return *response;
    }
    // MTN's text says lower case; clients send upper case. Both are taken.
    let valid = match kind.to_ascii_lowercase().as_str() {
        "msisdn" => transfer::is_msisdn(&id),
        "email" => id.contains('@'),
        _ => false,
    };
    if !valid {
        return bad_request("accountHolderIdType must be msisdn or email, with a matching id");
    }
    let blocked = world.momo.test_number(&id).is_some_and(|number| {
        matches!(
            number.reason.as_deref(),
            Some("PAYEE_NOT_FOUND" | "PAYEE_NOT_ALLOWED_TO_RECEIVE")
        )
    });
    axum::Json(serde_json::json!({ "result": !blocked })).into_response()
}
