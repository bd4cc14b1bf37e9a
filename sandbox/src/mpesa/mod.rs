//! The M-PESA Daraja simulator: OAuth, B2C (v1 and v3), Transaction Status,
//! Account Balance, and the sandbox certificate clients encrypt the initiator
//! password with.
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

mod balance;
mod c2b;
mod reversal;
mod stk;

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
    token: Option<(String, Instant)>,
    balances: Balances,
    customers: BTreeMap<String, CustomerRecord>,
    payments: Vec<Payment>,
    failed_credentials: u32,
    random: StdRng,
    sequence: u64,
    c2b: c2b::C2bState,
    stk: Vec<stk::StkRequest>,
}

/// Daraja's state.
pub(crate) struct Daraja {
    config: MpesaConfig,
    private_key: RsaPrivateKey,
    state: Mutex<State_>,
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
        let balances = Balances {
            utility_cents: money("utility_balance", &config.utility_balance)?,
            working_cents: money("working_balance", &config.working_balance)?,
            charges_paid_cents: money("charges_paid_balance", &config.charges_paid_balance)?,
            customers: customer_balances,
        };
        let state = State_ {
            token: None,
            balances,
            customers,
            payments: Vec::new(),
            failed_credentials: 0,
            random: StdRng::seed_from_u64(seed ^ 0x006d_7065_7361),
            sequence: 0,
            c2b: c2b::C2bState::default(),
            stk: Vec::new(),
        };
        Ok(Daraja {
            config: config.clone(),
            private_key,
            state: Mutex::new(state),
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
        match (&state.token, presented) {
            (Some((token, expires)), Some(presented)) => {
                token == presented && Instant::now() < *expires
            }
            _ => false,
        }
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
        .route("/mpesa/c2b/v1/registerurl", post(c2b::register))
        .route("/mpesa/c2b/v2/registerurl", post(c2b::register))
        .route("/mpesa/c2b/v1/simulate", post(c2b::simulate_v1))
        .route("/mpesa/c2b/v2/simulate", post(c2b::simulate_v2))
        .route("/mpesa/stkpush/v1/processrequest", post(stk::push))
        .route("/mpesa/stkpushquery/v1/query", post(stk::query))
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
    let expected = format!(
        "{}:{}",
        world.mpesa.config.consumer_key, world.mpesa.config.consumer_secret
    );
    let presented = base64::engine::general_purpose::STANDARD
        .decode(basic.trim())
        .unwrap_or_default();
    if presented != expected.as_bytes() {
        return error(&world, "400.008.01", "Invalid Authentication passed");
    }
    let token = {
        let mut state = lock(&world.mpesa.state);
        let token: String = (0..28)
            .map(|_| state.random.sample(rand::distributions::Alphanumeric) as char)
            .collect();
        // A new token invalidates the previous one, as Daraja's FAQ says.
        state.token = Some((
            token.clone(),
            Instant::now() + Duration::from_secs(world.mpesa.config.token_ttl_s),
        ));
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

/// A validated B2C request.
struct B2cRequest {
    originator_conversation_id: Option<String>,
    initiator: String,
    credential: String,
    party_a: String,
    party_b: String,
    amount_cents: i64,
    result_url: String,
    queue_timeout_url: String,
    raw: Value,
}

fn parse_b2c(body: &str, version: u8) -> Result<B2cRequest, String> {
    let body: Value =
        serde_json::from_str(body).map_err(|_| "Bad Request - Invalid Body".to_string())?;
    let invalid = |field: &str| format!("Bad Request - Invalid {field}");
    let required = |field: &str| {
        text(&body, field)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| invalid(field))
    };
    let originator_conversation_id = match version {
        3 => Some(required("OriginatorConversationID")?)
            .filter(|id| id.len() <= 100)
            .map(Some)
            .ok_or_else(|| invalid("OriginatorConversationID"))?,
        _ => None,
    };
    let initiator = required("InitiatorName")?;
    let credential = required("SecurityCredential")?;
    let command = required("CommandID")?;
    if !["SalaryPayment", "BusinessPayment", "PromotionPayment"].contains(&command.as_str()) {
        return Err(invalid("CommandID"));
    }
    let amount = required("Amount")?;
    let amount_cents = parse_minor(&amount)
        .filter(|cents| cents % 100 == 0)
        .ok_or_else(|| invalid("Amount"))?;
    let party_a = required("PartyA")?;
    if !(5..=7).contains(&party_a.len()) || !party_a.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("PartyA"));
    }
    let party_b = required("PartyB")?;
    if !is_msisdn(&party_b) {
        return Err(invalid("PartyB"));
    }
    let remarks = required("Remarks")?;
    if !(2..=100).contains(&remarks.chars().count()) {
        return Err(invalid("Remarks"));
    }
    let result_url = required("ResultURL").and_then(|url| {
        if is_url(&url) {
            Ok(url)
        } else {
            Err(invalid("ResultURL"))
        }
    })?;
    let queue_timeout_url = required("QueueTimeOutURL").and_then(|url| {
        if is_url(&url) {
            Ok(url)
        } else {
            Err(invalid("QueueTimeOutURL"))
        }
    })?;
    // Both spellings are in the wild: "Occassion" (v2/v3 pages) and "Occasion".
    let occasion = text(&body, "Occassion").or_else(|| text(&body, "Occasion"));
    if occasion.is_some_and(|occasion| occasion.chars().count() > 100) {
        return Err(invalid("Occassion"));
    }
    Ok(B2cRequest {
        originator_conversation_id,
        initiator,
        credential,
        party_a,
        party_b,
        amount_cents,
        result_url,
        queue_timeout_url,
        raw: body,
    })
}

async fn b2c_v1(State(world): State<Arc<World>>, headers: HeaderMap, body: String) -> Response {
    b2c(world, headers, body, 1).await
}

async fn b2c_v3(State(world): State<Arc<World>>, headers: HeaderMap, body: String) -> Response {
    b2c(world, headers, body, 3).await
}

async fn b2c(world: Arc<World>, headers: HeaderMap, body: String, version: u8) -> Response {
    let path = format!("POST /mpesa/b2c/v{version}/paymentrequest");
    world
        .journal
        .record("mpesa", Direction::Received, path, 0, body.clone());
    if let Some(fault) = world.gate("mpesa.b2c", Duration::ZERO).await {
        return injected(&world, fault);
    }
    if !world.mpesa.token_is_valid(&headers) {
        return error(&world, "404.001.03", "Invalid Access Token");
    }
    let request = match parse_b2c(&body, version) {
        Ok(request) => request,
        Err(message) => return error(&world, "400.002.02", &message),
    };
    let payment = {
        let mut state = lock(&world.mpesa.state);
        let originator = match &request.originator_conversation_id {
            Some(id)
                if state
                    .payments
                    .iter()
                    .any(|payment| &payment.originator_conversation_id == id) =>
            {
                None
            }
            Some(id) => Some(id.clone()),
            None => Some(format!(
                "{}-{}-1",
                state.random.gen_range(10000..99999),
                state.random.gen_range(10_000_000..99_999_999)
            )),
        };
        let Some(originator) = originator else {
            drop(state);
            return error(
                &world,
                "500.002.1001",
                "Duplicate OriginatorConversationID.",
            );
        };
        state.sequence += 1;
        let conversation_id = format!(
            "AG_{}_{:020x}",
            eat_date(crate::now_ms()),
            state.random.r#gen::<u128>() >> 48
        );
        let transaction_id = receipt(&mut state.random);
        let payment = Payment {
            originator_conversation_id: originator,
            conversation_id,
            transaction_id,
            party_b: request.party_b.clone(),
            amount_cents: request.amount_cents,
            result_code: -1,
            result_desc: String::new(),
            initiated_ms: crate::now_ms(),
            finalised_ms: None,
            status: "Pending",
        };
        state.payments.push(payment.clone());
        payment
    };
    let acknowledgement = serde_json::json!({
        "ConversationID": payment.conversation_id,
        "OriginatorConversationID": payment.originator_conversation_id,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    });
    tokio::spawn(deliver_b2c_result(
        world.clone(),
        request,
        payment.originator_conversation_id.clone(),
    ));
    Json(acknowledgement).into_response()
}

fn receipt(random: &mut StdRng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let tail: String = (0..9)
        .map(|_| ALPHABET[random.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("S{tail}")
}

/// Marks a request that timed out in the queue: not processed, nothing moved.
fn expire(daraja: &Daraja, originator: &str) {
    let mut state = lock(&daraja.state);
    if let Some(payment) = state
        .payments
        .iter_mut()
        .find(|payment| payment.originator_conversation_id == originator)
    {
        assert_eq!(payment.status, "Pending", "a payment is settled once");
        payment.status = "Expired";
        payment.result_code = 1037;
        payment.result_desc = "The request timed out in the queue.".into();
        payment.finalised_ms = Some(crate::now_ms());
    }
}

/// Decides a B2C's result code and moves the money, once.
fn settle(daraja: &Daraja, request: &B2cRequest, originator: &str) -> Payment {
    // The RSA decryption runs before the lock is taken: it is the slow part, and
    // every other Daraja request waits on that lock.
    let credential_matches = daraja.credential_matches(&request.initiator, &request.credential);
    let mut guard = lock(&daraja.state);
    let state = &mut *guard;
    let config = &daraja.config;
    let locked = state.failed_credentials >= LOCK_AFTER_FAILURES;
    let credential_ok = !locked && credential_matches;
    if !locked {
        state.failed_credentials = if credential_ok {
            0
        } else {
            state.failed_credentials + 1
        };
    }
    let charge = config.b2c_charge_cents;
    let customer = state.customers.get(&request.party_b).cloned();
    let (code, desc): (i64, &str) = if locked {
        (8006, "The security credential is locked.")
    } else if !credential_ok {
        (2001, "The initiator information is invalid.")
    } else if request.party_a != config.shortcode {
        (
            2028,
            "The request is not permitted according to product assignment.",
        )
    } else if !(request.party_b.starts_with("2547") || request.party_b.starts_with("2541")) {
        (-2, "Operator does not exist.")
    } else if customer
        .as_ref()
        .is_some_and(|customer| !customer.registered)
    {
        (
            2040,
            "Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.",
        )
    } else if request.amount_cents < config.min_amount_kes * 100 {
        (
            2,
            "Declined due to limit rule: less than the smallest transaction amount.",
        )
    } else if request.amount_cents > config.max_amount_kes * 100 {
        (
            3,
            "Declined due to limit rule: greater than the maximum transaction amount.",
        )
    } else if state.balances.utility_cents < request.amount_cents + charge {
        (1, "The balance is insufficient for the transaction.")
    } else {
        (0, "The service request is processed successfully.")
    };
    if code == 0 {
        state.balances.utility_cents -= request.amount_cents + charge;
        state.balances.charges_paid_cents -= charge;
        *state
            .balances
            .customers
            .entry(request.party_b.clone())
            .or_insert(0) += request.amount_cents;
        state
            .customers
            .entry(request.party_b.clone())
            .or_insert(CustomerRecord {
                name: "SANDBOX CUSTOMER".into(),
                registered: true,
            });
    }
    let payment = state
        .payments
        .iter_mut()
        .find(|payment| payment.originator_conversation_id == originator)
        .expect("the payment was recorded before it was settled");
    assert_eq!(payment.status, "Pending", "a payment is settled once");
    payment.result_code = code;
    payment.result_desc = desc.to_string();
    payment.finalised_ms = Some(crate::now_ms());
    payment.status = if code == 0 { "Completed" } else { "Declined" };
    payment.clone()
}

/// Marks a decimal that must reach the wire exactly as formatted (`-33.00`,
/// not `-33.0`): `serde_json::Value` holds numbers as f64, so the body carries
/// a marker string that [`to_wire`] replaces with the bare number.
fn raw_number(minor: i64) -> Value {
    Value::String(format!("{RAW_NUMBER_MARKER}{}", format_minor(minor)))
}

const RAW_NUMBER_MARKER: &str = "\u{1}raw-number:";

/// Serialises a body, turning [`raw_number`] markers into bare JSON numbers.
fn to_wire(body: &Value) -> String {
    let text = body.to_string();
    let marker = serde_json::to_string(RAW_NUMBER_MARKER).expect("a string serialises");
    let opening = &marker[..marker.len() - 1];
    let mut wire = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(opening) {
        wire.push_str(&rest[..start]);
        let after = &rest[start + opening.len()..];
        let end = after.find('"').expect("a marker ends with its string");
        wire.push_str(&after[..end]);
        rest = &after[end + 1..];
    }
    wire.push_str(rest);
    wire
}

fn b2c_result_body(daraja: &Daraja, payment: &Payment) -> Value {
    let state = lock(&daraja.state);
    let code = if payment.result_code == -2 {
        Value::from("SFC_IC0003")
    } else {
        Value::from(payment.result_code)
    };
    let mut result = serde_json::json!({
        "ResultType": 0,
        "ResultCode": code,
        "ResultDesc": payment.result_desc,
        "OriginatorConversationID": payment.originator_conversation_id,
        "ConversationID": payment.conversation_id,
        "TransactionID": payment.transaction_id,
        "ReferenceData": { "ReferenceItem": { "Key": "QueueTimeoutURL", "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit" } },
    });
    if payment.result_code == 0 {
        let name = state
            .customers
            .get(&payment.party_b)
            .map_or("SANDBOX CUSTOMER", |customer| customer.name.as_str());
        let completed = eat_datetime(
            payment.finalised_ms.unwrap_or(payment.initiated_ms),
            "dd.MM.yyyy HH:mm:ss",
        );
        let whole_kes = payment.amount_cents / 100;
        result["ResultParameters"] = serde_json::json!({ "ResultParameter": [
            { "Key": "TransactionAmount", "Value": whole_kes },
            { "Key": "TransactionReceipt", "Value": payment.transaction_id },
            { "Key": "ReceiverPartyPublicName", "Value": format!("{} - {name}", payment.party_b) },
            { "Key": "TransactionCompletedDateTime", "Value": completed },
            { "Key": "B2CUtilityAccountAvailableFunds", "Value": raw_number(state.balances.utility_cents) },
            { "Key": "B2CWorkingAccountAvailableFunds", "Value": raw_number(state.balances.working_cents) },
            { "Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y" },
            { "Key": "B2CChargesPaidAccountAvailableFunds", "Value": raw_number(state.balances.charges_paid_cents) },
        ]});
    }
    serde_json::json!({ "Result": result })
}

async fn deliver_b2c_result(world: Arc<World>, request: B2cRequest, originator: String) {
    let base_delay = world.config.delay(world.config.mpesa.result_delay_ms, 2500);
    let decision = world.faults.decide_callback("mpesa", base_delay);
    tokio::time::sleep(decision.delay).await;
    if decision.queue_timeout {
        expire(&world.mpesa, &originator);
        // Daraja does not document this body; integrations model it as an
        // echo of the original request.
        world
            .post_callback(
                "mpesa",
                &request.queue_timeout_url,
                "application/json",
                request.raw.to_string(),
            )
            .await;
        return;
    }
    let payment = settle(&world.mpesa, &request, &originator);
    if !decision.send {
        tracing::info!(originator, "b2c result dropped by the fault plan");
        return;
    }
    let body = to_wire(&b2c_result_body(&world.mpesa, &payment));
    let copies = if decision.duplicate { 2 } else { 1 };
    for _ in 0..copies {
        world
            .post_callback(
                "mpesa",
                &request.result_url,
                "application/json",
                body.clone(),
            )
            .await;
    }
}

async fn transaction_status(
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
    let field = |name: &str| text(&request, name).filter(|value| !value.trim().is_empty());
    let (Some(initiator), Some(credential), Some(result_url)) = (
        field("Initiator"),
        field("SecurityCredential"),
        field("ResultURL"),
    ) else {
        return error(&world, "400.002.05", "Invalid request payload");
    };
    if field("CommandID").as_deref() != Some("TransactionStatusQuery") || !is_url(&result_url) {
        return error(&world, "400.002.05", "Invalid request payload");
    }
    let receipt = field("TransactionID");
    let original = field("OriginalConversationID");
    let found = lock(&world.mpesa.state)
        .payments
        .iter()
        .find(|payment| {
            Some(&payment.transaction_id) == receipt.as_ref()
                || Some(&payment.originator_conversation_id) == original.as_ref()
        })
        .cloned();
    let Some(payment) = found else {
        return error(&world, "404.003.01", "Resource not found");
    };
    let credential_ok = world.mpesa.credential_matches(&initiator, &credential);
    let (conversation_id, originator) = world.mpesa.conversation_ids(2);
    let acknowledgement = serde_json::json!({
        "ConversationID": conversation_id, "OriginatorConversationID": originator,
        "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully.",
    });
    let world_for_result = world.clone();
    tokio::spawn(async move {
        let base_delay = world_for_result
            .config
            .delay(world_for_result.config.mpesa.result_delay_ms, 2500);
        let decision = world_for_result.faults.decide_callback("mpesa", base_delay);
        tokio::time::sleep(decision.delay).await;
        if !decision.send {
            return;
        }
        let body = status_result_body(
            &world_for_result.mpesa,
            &payment,
            credential_ok,
            &conversation_id,
            &originator,
        )
        .to_string();
        world_for_result
            .post_callback("mpesa", &result_url, "application/json", body)
            .await;
    });
    Json(acknowledgement).into_response()
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

fn eat_datetime(ms: u64, pattern: &str) -> String {
    crate::clock::local_time(ms, 3, pattern)
}

fn eat_date(ms: u64) -> String {
    eat_datetime(ms, "yyyyMMddHHmmss")[..8].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_numbers_reach_the_wire_with_their_exact_digits() {
        let body = serde_json::json!({ "a": raw_number(-3300), "b": [raw_number(896_926_960)], "c": "text" });
        assert_eq!(
            to_wire(&body),
            r#"{"a":-33.00,"b":[8969269.60],"c":"text"}"#
        );
    }

    #[test]
    fn b2c_fields_are_validated_with_darajas_messages() {
        let valid = serde_json::json!({
            "OriginatorConversationID": "x-1", "InitiatorName": "testapi", "SecurityCredential": "abc",
            "CommandID": "BusinessPayment", "Amount": "10", "PartyA": "600992", "PartyB": "254708374149",
            "Remarks": "ok", "QueueTimeOutURL": "http://127.0.0.1:1/t", "ResultURL": "http://127.0.0.1:1/r", "Occasion": "x",
        });
        assert!(parse_b2c(&valid.to_string(), 3).is_ok());
        for (field, value, message) in [
            ("PartyB", "0708374149", "Bad Request - Invalid PartyB"),
            ("Remarks", "x", "Bad Request - Invalid Remarks"),
            ("Amount", "10.50", "Bad Request - Invalid Amount"),
            ("CommandID", "Pay", "Bad Request - Invalid CommandID"),
            ("ResultURL", "not a url", "Bad Request - Invalid ResultURL"),
        ] {
            let mut body = valid.clone();
            body[field] = Value::from(value);
            assert_eq!(
                parse_b2c(&body.to_string(), 3).err().as_deref(),
                Some(message)
            );
        }
        let mut v1 = valid.clone();
        v1.as_object_mut()
            .expect("object")
            .remove("OriginatorConversationID");
        assert!(
            parse_b2c(&v1.to_string(), 1).is_ok(),
            "v1 has no OriginatorConversationID"
        );
        assert!(parse_b2c(&v1.to_string(), 3).is_err(), "v3 requires it");
    }
}
