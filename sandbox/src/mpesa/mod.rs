//! The M-PESA Daraja simulator: OAuth, B2C (v1 and v3), Transaction Status,
//! Account Balance, C2B Paybill (Daraja JSON and the broker's SOAP),
//! Transaction Reversal, and the sandbox certificate clients encrypt the
//! initiator password with.
//!
//! Faithful to the real API where it matters to a connector: the error envelope
//! (`requestId`, `errorCode`, `errorMessage`, HTTP status from the code), tokens
//! that a newer token invalidates, `SecurityCredential` decrypted (RSA PKCS#1
//! v1.5) and checked, duplicate `OriginatorConversationID`s refused, an
//! acknowledgement now and the `Result` later by callback, mixed value types in
//! `ResultParameters`, and balances that move.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use serde::Serialize;
use serde_json::Value;

mod b2c;
mod balance;
pub mod broker;
mod c2b;

pub use c2b::config::{C2bConfig, Paybill, Payer};
pub use c2b::{C2bPayment, C2bStatus, PaybillBalances, ReversalRecord};
mod checkout;

/// Where the Online Checkout (seed 004) is served, under the M-PESA URL.
pub const CHECKOUT_PATH: &str = checkout::PATH;
mod handset;
mod reversal;
mod status;
mod stk;

pub use handset::PromptAnswer;

use self::b2c::{b2c_v1, b2c_v3};
use self::status::transaction_status;

use crate::World;
use crate::config::MpesaConfig;
use crate::faults::{InjectedError, lock};
use crate::journal::Direction;
use crate::money::{format_minor, parse_minor};

/// Failed credential checks in a row after which the initiator is locked (8006).
const LOCK_AFTER_FAILURES: u32 = 5;

/// The accounts' balances, in KES cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balances {
    /// The B2C utility account, which pays B2C amounts and charges.
    pub utility_cents: i64,
    /// The working account.
    pub working_cents: i64,
    /// The charges-paid account: the running total of charges, negative.
    pub charges_paid_cents: i64,
    /// Customers' balances by MSISDN.
    pub customers: BTreeMap<String, i64>,
    /// The Paybill organisations' accounts, by shortcode.
    pub paybills: BTreeMap<String, PaybillBalances>,
}

#[derive(Debug, Clone)]
struct CustomerRecord {
    name: String,
    registered: bool,
}

/// One B2C request and what became of it.
#[derive(Debug, Clone)]
struct Payment {
    originator_conversation_id: String,
    conversation_id: String,
    transaction_id: String,
    party_b: String,
    amount_cents: i64,
    result_code: i64,
    result_desc: String,
    initiated_ms: u64,
    finalised_ms: Option<u64>,
    /// `Completed`, `Declined`, `Expired`, or `Pending` until processed.
    status: &'static str,
}

struct State_ {
    /// Each app's current token, by consumer key.
    tokens: BTreeMap<String, (String, Instant)>,
    balances: Balances,
    customers: BTreeMap<String, CustomerRecord>,
    payments: Vec<Payment>,
    failed_credentials: u32,
    random: StdRng,
    sequence: u64,
    c2b: c2b::C2bState,
    stk: Vec<stk::StkRequest>,
    checkout: Vec<checkout::Transaction>,
}

/// Daraja's state.
pub(crate) struct Daraja {
    config: MpesaConfig,
    private_key: RsaPrivateKey,
    state: Mutex<State_>,
    broker: broker::Broker,
}

impl Daraja {
    pub fn new(config: &MpesaConfig, seed: u64) -> anyhow::Result<Daraja> {
        let private_key = RsaPrivateKey::from_pkcs8_pem(&config.private_key_pem)
            .map_err(|error| anyhow::anyhow!("mpesa.private_key_pem: {error}"))?;
        let money = |field: &str, text: &str| {
            parse_minor(text.trim_start_matches('-'))
                .map(|cents| if text.starts_with('-') { -cents } else { cents })
                .ok_or_else(|| anyhow::anyhow!("mpesa.{field}: {text:?} is not an amount"))
        };
        let mut customers = BTreeMap::new();
        let mut customer_balances = BTreeMap::new();
        for customer in &config.customers {
            anyhow::ensure!(
                is_msisdn(&customer.msisdn),
                "mpesa.customers: {:?} is not a 12-digit MSISDN",
                customer.msisdn
            );
            customers.insert(
                customer.msisdn.clone(),
                CustomerRecord {
                    name: customer.name.clone(),
                    registered: customer.registered,
                },
            );
            customer_balances.insert(
                customer.msisdn.clone(),
                money("customers.balance", &customer.balance)?,
            );
        }
        let paybills = c2b::open(&config.c2b, &mut customers, &mut customer_balances)?;
        let balances = Balances {
            utility_cents: money("utility_balance", &config.utility_balance)?,
            working_cents: money("working_balance", &config.working_balance)?,
            charges_paid_cents: money("charges_paid_balance", &config.charges_paid_balance)?,
            customers: customer_balances,
            paybills,
        };
        let state = State_ {
            tokens: BTreeMap::new(),
            balances,
            customers,
            payments: Vec::new(),
            failed_credentials: 0,
            random: StdRng::seed_from_u64(seed ^ 0x006d_7065_7361),
            sequence: 0,
            c2b: c2b::C2bState::default(),
            stk: Vec::new(),
            checkout: Vec::new(),
        };
        Ok(Daraja {
            config: config.clone(),
            private_key,
            state: Mutex::new(state),
            broker: broker::Broker::default(),
        })
    }

    pub fn balances(&self) -> Balances {
        lock(&self.state).balances.clone()
    }

    fn token_is_valid(&self, headers: &HeaderMap) -> bool {
        let presented = headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let state = lock(&self.state);
        presented.is_some_and(|presented| {
            state
                .tokens
                .values()
                .any(|(token, expires)| token == presented && Instant::now() < *expires)
        })
    }

    /// A fresh `(ConversationID, OriginatorConversationID)` for a request
    /// Daraja has accepted. Daraja names every request anew, and its `Result`
    /// carries the same pair, which is how a client matches the two; fixed ids
    /// would let a client pass that cannot tell two requests apart.
    /// `kind` ends the originator id (`-1` B2C, `-2` status, …), as Daraja's do.
    fn conversation_ids(&self, kind: u8) -> (String, String) {
        let mut state = lock(&self.state);
        let conversation_id = format!(
            "AG_{}_{:020x}",
            eat_date(crate::now_ms()),
            state.random.r#gen::<u128>() >> 48
        );
        let originator = format!(
            "{}-{}-{kind}",
            state.random.gen_range(10000..99999),
            state.random.gen_range(10_000_000..99_999_999)
        );
        (conversation_id, originator)
    }

    /// Whether `SecurityCredential` decrypts to the initiator password.
    fn credential_matches(&self, initiator: &str, credential: &str) -> bool {
        let decrypted = base64::engine::general_purpose::STANDARD
            .decode(credential.trim())
            .ok()
            .and_then(|bytes| self.private_key.decrypt(Pkcs1v15Encrypt, &bytes).ok());
        initiator == self.config.initiator_name
            && decrypted.as_deref() == Some(self.config.initiator_password.as_bytes())
    }
}

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/oauth/v1/generate", get(generate_token))
        .route("/mpesa/b2c/v1/paymentrequest", post(b2c_v1))
        .route("/mpesa/b2c/v3/paymentrequest", post(b2c_v3))
        .route(
            "/mpesa/transactionstatus/v1/query",
            post(transaction_status),
        )
        .route("/mpesa/accountbalance/v1/query", post(balance::query))
        .route("/sandbox/certificate.cer", get(certificate))
        .route("/mpesa/reversal/v1/request", post(reversal::request))
        .route("/mpesa/c2b/v1/registerurl", post(c2b::register_v1))
        .route("/mpesa/c2b/v2/registerurl", post(c2b::register_v2))
        .route("/mminterface/registerURL", post(c2b::register_soap))
        .route("/mpesa/c2b/v1/simulate", post(c2b::simulate_v1))
        .route("/mpesa/c2b/v2/simulate", post(c2b::simulate_v2))
        .route("/mpesa/stkpush/v1/processrequest", post(stk::push))
        .route("/mpesa/stkpushquery/v1/query", post(stk::query))
        .route(checkout::PATH, post(checkout::soap))
        .route("/mminterface/request", post(broker::request))
        .route(
            "/queryTransactionService/services/transaction",
            post(broker::query),
        )
        .with_state(world)
}

/// Daraja's synchronous error envelope; the HTTP status is the code's first three digits.
fn error(world: &World, code: &str, message: &str) -> Response {
    let status = code
        .get(..3)
        .and_then(|digits| digits.parse().ok())
        .and_then(|status| StatusCode::from_u16(status).ok());
    let request_id = {
        let mut state = lock(&world.mpesa.state);
        format!(
            "{:04x}-{:04x}-{:08x}",
            state.random.r#gen::<u16>(),
            state.random.r#gen::<u16>(),
            state.random.r#gen::<u32>()
        )
    };
    let body =
        serde_json::json!({ "requestId": request_id, "errorCode": code, "errorMessage": message });
    (
        status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

fn injected(world: &World, injected: InjectedError) -> Response {
    match injected {
        InjectedError::Busy => error(world, "500.003.02", "Spike arrest violation"),
        InjectedError::ServerError => error(world, "500.001.1001", "Server error"),
    }
}

async fn certificate(State(world): State<Arc<World>>) -> Response {
    (
        [("content-type", "application/x-pem-file")],
        world.mpesa.config.certificate_pem.clone(),
    )
        .into_response()
}

async fn generate_token(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(fault) = world.gate("mpesa.oauth", Duration::ZERO).await {
        return injected(&world, fault);
    }
    let Some(basic) = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return error(&world, "400.008.01", "Invalid Authentication passed");
    };
    if query.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return error(&world, "400.008.02", "Invalid grant type passed");
    }
    let presented = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .unwrap_or_default();
    let config = &world.mpesa.config;
    let apps = std::iter::once((&config.consumer_key, &config.consumer_secret))
        .chain(config.more_apps.iter());
    let Some(app) = apps
        .map(|(key, secret)| (key, format!("{key}:{secret}")))
        .find(|(_, expected)| presented == expected.as_bytes())
        .map(|(key, _)| key.clone())
    else {
        return error(&world, "400.008.01", "Invalid Authentication passed");
    };
    let token = {
        let mut state = lock(&world.mpesa.state);
        let token: String = (0..28)
            .map(|_| state.random.sample(rand::distributions::Alphanumeric) as char)
            .collect();
        // A new token invalidates the app's previous one, as Daraja's FAQ says.
        let expires = Instant::now() + Duration::from_secs(world.mpesa.config.token_ttl_s);
        state.tokens.insert(app, (token.clone(), expires));
        token
    };
    world.journal.record(
        "mpesa",
        Direction::Received,
        "GET /oauth/v1/generate".into(),
        200,
        String::new(),
    );
    // expires_in is a string on the wire.
    Json(serde_json::json!({ "access_token": token, "expires_in": world.mpesa.config.token_ttl_s.to_string() })).into_response()
}

/// The prologue of an authenticated Daraja call: journal the request, apply
/// the endpoint's faults (if it has a name), check the bearer token, and parse
/// the JSON body (`bad_body` is the error for a body that is not JSON).
async fn accept(
    world: &World,
    headers: &HeaderMap,
    path: &str,
    body: &str,
    faults: Option<&str>,
    bad_body: (&str, &str),
) -> Result<Value, Response> {
    world.journal.record(
        "mpesa",
        Direction::Received,
        path.to_string(),
        0,
        body.to_string(),
    );
    if let Some(endpoint) = faults
        && let Some(fault) = world.gate(endpoint, Duration::ZERO).await
    {
        return Err(injected(world, fault));
    }
    if !world.mpesa.token_is_valid(headers) {
        return Err(error(world, "404.001.03", "Invalid Access Token"));
    }
    serde_json::from_str(body).map_err(|_| error(world, bad_body.0, bad_body.1))
}

/// A JSON field as text, whether the client sent a string or a number.
fn text(body: &Value, field: &str) -> Option<String> {
    match body.get(field)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn is_msisdn(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_digit())
}

fn is_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}
/// Daraja's answer to an accepted asynchronous request: the acknowledgement
/// now, naming the request, and its `Result` later on `result_url`.
fn acknowledge_then_call_back(
    world: &Arc<World>,
    result_url: String,
    result: Value,
    (conversation_id, originator): (&str, &str),
) -> Response {
    let world = world.clone();
    tokio::spawn(async move {
        world
            .post_callback("mpesa", &result_url, "application/json", result.to_string())
            .await;
    });
    Json(serde_json::json!({
        "ConversationID": conversation_id, "OriginatorConversationID": originator,
        "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully.",
    }))
    .into_response()
}

fn receipt(random: &mut StdRng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let tail: String = (0..9)
        .map(|_| ALPHABET[random.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("S{tail}")
}

fn eat_datetime(ms: u64, pattern: &str) -> String {
    crate::clock::local_time(ms, 3, pattern)
}

fn eat_date(ms: u64) -> String {
    eat_datetime(ms, "yyyyMMddHHmmss")[..8].to_string()
}

/// The control API's C2B payment (`POST /control/mpesa/c2b/pay`).
pub(crate) async fn control_c2b_pay(world: Arc<World>, body: &str) -> Response {
    c2b::control_pay(world, body).await
}
