//! The M-PESA G2 broker's B2C over SOAP (reference §2): `POST
//! /mminterface/request` answers a `GenericAPIRequest` at once with a
//! `GenericAPIResponse`, then POSTs the `ResultMsg` to the caller's
//! `ResultURL`; `POST /queryTransactionService/services/transaction` answers
//! `queryTransaction` with the messages exchanged for a request.
//!
//! In the order of §2.8: a malformed envelope is a SOAP fault; the SP header
//! (`spId`, `serviceId`, `spPassword` compared case-insensitively, §2.3) is
//! `100000007`; a missing or invalid field `24`/`25`; then the request is
//! accepted and, later, the message's age (`19`), a repeated
//! `OriginatorConversationID` (`15`), and then the very settlement Daraja's
//! B2C runs (credential, parties, limits, funds), its codes named as the
//! broker names them. Balances move exactly as under Daraja: it is the same
//! code on the same accounts.

mod query;
mod wire;

pub(super) use query::query;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::b2c::{Order, expire, settle};
use super::{Payment, eat_datetime, is_msisdn, is_url, receipt};
use crate::World;
use crate::config::BrokerConfig;
use crate::faults::{InjectedError, lock};
use crate::journal::Direction;
use crate::money::{format_minor, parse_minor};
use wire::{
    Envelope, Fault, FaultBody, FaultEnvelope, KeyValue, NotifyQueueTimeout, Payload, PayloadBody,
    PayloadEnvelope, QueueTimeoutBody, QueueTimeoutEnvelope, ReferenceData, RequestDoc,
    ResponseDoc, ResultDoc, ResultParameters, SpHeader,
};

/// The B2C commands the broker takes (spec; the ones Daraja's settlement pays).
const COMMANDS: &[&str] = &["BusinessPayment", "SalaryPayment", "PromotionPayment"];

/// One request and every message the broker exchanged for it, as raw HTTP
/// messages: what `queryTransaction` returns.
#[derive(Debug, Clone)]
struct Exchange {
    originator: String,
    conversation_id: String,
    request: String,
    response: String,
    result: Option<String>,
    queue_timeout: Option<String>,
}

/// The broker's own memory; the payments and balances are Daraja's.
#[derive(Default)]
pub(crate) struct Broker {
    exchanges: std::sync::Mutex<Vec<Exchange>>,
}

/// A request that passed the synchronous checks.
struct Accepted {
    originator: String,
    conversation_id: String,
    initiator: String,
    credential: String,
    party_a: String,
    party_b: String,
    amount_cents: i64,
    result_url: String,
    queue_timeout_url: Option<String>,
    reference_items: Vec<KeyValue>,
    timestamp_ms: Option<u64>,
    origin_request: String,
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml; charset=utf-8")], body).into_response()
}

/// A SOAP 1.1 fault, HTTP 500 (SOAP 1.1 §6.2).
fn fault(code: &str, message: &str) -> Response {
    let envelope = FaultEnvelope {
        soapenv: wire::SOAP_ENVELOPE,
        body: FaultBody {
            fault: Fault {
                fault_code: format!("soapenv:{code}"),
                fault_string: message.to_string(),
            },
        },
    };
    xml(StatusCode::INTERNAL_SERVER_ERROR, wire::to_xml(&envelope))
}

/// The `GenericAPIResponse` envelope (capture, §2.4).
fn response_envelope(document: &ResponseDoc) -> String {
    wire::to_xml_cdata(&PayloadEnvelope {
        s: wire::SOAP_ENVELOPE,
        body: PayloadBody {
            response_msg: Some(Payload {
                xmlns: wire::REQUEST_NAMESPACE,
                document: wire::to_xml(document),
            }),
            result_msg: None,
        },
    })
}

/// A refusal on the synchronous path: no result will follow (seed 001).
fn refusal(code: &str, description: &str) -> Response {
    let document = ResponseDoc {
        xmlns: wire::RESPONSE_NAMESPACE,
        response_code: code.into(),
        response_desc: description.into(),
        conversation_id: String::new(),
        originator_conversation_id: String::new(),
        service_status: String::new(),
    };
    xml(StatusCode::OK, response_envelope(&document))
}

fn injected(fault_kind: InjectedError) -> Response {
    match fault_kind {
        InjectedError::Busy => refusal("100000002", "Throttling error"),
        InjectedError::ServerError => fault("Server", "Internal Server Error"),
    }
}

/// Whether the SP header authenticates: `spPassword` is base64 of the hex
/// SHA-256 of `spId + password + timeStamp`, hex in either case (§2.3).
fn authenticated(config: &BrokerConfig, header: Option<&SpHeader>) -> bool {
    let Some(header) = header else {
        return false;
    };
    let digest = Sha256::digest(
        format!(
            "{}{}{}",
            header.sp_id, config.sp_password, header.time_stamp
        )
        .as_bytes(),
    );
    let presented = base64::engine::general_purpose::STANDARD
        .decode(header.sp_password.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    header.sp_id.trim() == config.sp_id
        && header.service_id.trim() == config.service_id
        && !header.time_stamp.trim().is_empty()
        && presented.is_some_and(|hex| hex.eq_ignore_ascii_case(&hex::encode(digest)))
}

/// An ISO 8601 UTC time (`2014-09-27T12:53:19.0000521Z`) in ms.
fn timestamp_ms(text: &str) -> Option<u64> {
    let parsed =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .ok()?;
    u64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The checks of the synchronous path, on the `request` document: `Err` is the
/// broker's code and words.
fn validate(
    config: &BrokerConfig,
    document: &RequestDoc,
) -> Result<Accepted, (&'static str, String)> {
    let missing = |name: &str| ("24", format!("Missing mandatory parameter:{name}"));
    let invalid = |name: &str| ("25", format!("Invalid input value:{name}"));
    let required = |value: &Option<String>, name: &str| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
            .ok_or_else(|| missing(name))
    };
    let (transaction, identity) = (&document.transaction, &document.identity);
    let command = required(&transaction.command_id, "CommandID")?;
    if !COMMANDS.contains(&command.as_str()) {
        return Err(invalid("CommandID"));
    }
    let originator = required(
        &transaction.originator_conversation_id,
        "OriginatorConversationID",
    )?;
    if originator.len() > 128 {
        return Err(invalid("OriginatorConversationID"));
    }
    let amount = transaction
        .parameters
        .value("Amount")
        .ok_or_else(|| missing("Amount"))?;
    let amount_cents = parse_minor(&amount)
        .filter(|cents| *cents > 0)
        .ok_or_else(|| invalid("Amount"))?;
    let timestamp = required(&transaction.timestamp, "Timestamp")?;
    let third_party = required(&identity.caller.third_party_id, "ThirdPartyID")?;
    if third_party != config.third_party_id {
        return Err(("100000010", "Insufficient permissions".into()));
    }
    // No notification URL is configured on this broker: ResultURL must be there.
    let result_url = required(&identity.caller.result_url, "ResultURL")?;
    if !is_url(&result_url) {
        return Err(invalid("ResultURL"));
    }
    let party_b = required(&identity.receiver_party.identifier, "ReceiverParty")?;
    if !is_msisdn(&party_b) {
        return Err(invalid("ReceiverParty"));
    }
    let reference_items = transaction.reference_data.iter().cloned().collect();
    Ok(Accepted {
        conversation_id: String::new(),
        initiator: required(&identity.initiator.identifier, "Initiator")?,
        credential: required(
            &identity.initiator.security_credential,
            "SecurityCredential",
        )?,
        party_a: required(&identity.primary_party.identifier, "PrimaryParty")?,
        queue_timeout_url: transaction
            .reference_data
            .value("QueueTimeoutURL")
            .filter(|url| is_url(url)),
        timestamp_ms: timestamp_ms(&timestamp),
        originator,
        party_b,
        amount_cents,
        result_url,
        reference_items,
        origin_request: String::new(),
    })
}

fn http_request(path: &str, body: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nContent-Type: text/xml;charset=UTF-8\r\n\r\n{body}")
}

fn http_response(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n\r\n{body}")
}

/// `POST /mminterface/request`.
pub(super) async fn request(State(world): State<Arc<World>>, body: String) -> Response {
    let path = "POST /mminterface/request";
    world
        .journal
        .record("mpesa", Direction::Received, path.into(), 0, body.clone());
    if let Some(fault_kind) = world.gate("mpesa.broker", Duration::ZERO).await {
        return injected(fault_kind);
    }
    let config = &world.config.mpesa.broker;
    let Some(envelope) = wire::parse::<Envelope>(&body) else {
        return fault("Client", "The message is not a SOAP envelope");
    };
    let Some(inner) = envelope
        .body
        .as_ref()
        .and_then(|body| body.request_msg.clone())
    else {
        return fault("Client", "The SOAP body has no RequestMsg");
    };
    if !authenticated(config, envelope.header.as_ref().and_then(|h| h.sp.as_ref())) {
        return refusal("100000007", "Authentication failed");
    }
    let Some(document) = wire::parse::<RequestDoc>(&inner) else {
        return refusal("23", "Request schema validation error");
    };
    let mut accepted = match validate(config, &document) {
        Ok(accepted) => accepted,
        Err((code, description)) => return refusal(code, &description),
    };
    let (conversation_id, _) = world.mpesa.conversation_ids(1);
    accepted.conversation_id = conversation_id;
    accepted.origin_request = base64::engine::general_purpose::STANDARD.encode(&inner);
    let answer = response_envelope(&ResponseDoc {
        xmlns: wire::RESPONSE_NAMESPACE,
        response_code: "0".into(),
        response_desc: "Accept the service request successfully.".into(),
        conversation_id: accepted.conversation_id.clone(),
        originator_conversation_id: accepted.originator.clone(),
        service_status: "0".into(),
    });
    let duplicate = record(&world, &accepted, &body, &answer);
    tokio::spawn(deliver_result(world.clone(), accepted, duplicate));
    xml(StatusCode::OK, answer)
}

/// Records the exchange and, unless its `OriginatorConversationID` was seen
/// before, the payment (pending). Returns whether it is a duplicate.
fn record(world: &World, accepted: &Accepted, request: &str, answer: &str) -> bool {
    let mut exchanges = lock(&world.mpesa.broker.exchanges);
    let duplicate = exchanges
        .iter()
        .any(|exchange| exchange.originator == accepted.originator);
    exchanges.push(Exchange {
        originator: accepted.originator.clone(),
        conversation_id: accepted.conversation_id.clone(),
        request: http_request("/mminterface/request", request),
        response: http_response(answer),
        result: None,
        queue_timeout: None,
    });
    drop(exchanges);
    if !duplicate {
        let mut state = lock(&world.mpesa.state);
        state.sequence += 1;
        let transaction_id = receipt(&mut state.random);
        state.payments.push(Payment {
            originator_conversation_id: accepted.originator.clone(),
            conversation_id: accepted.conversation_id.clone(),
            transaction_id,
            party_b: accepted.party_b.clone(),
            amount_cents: accepted.amount_cents,
            result_code: -1,
            result_desc: String::new(),
            initiated_ms: crate::now_ms(),
            finalised_ms: None,
            status: "Pending",
        });
    }
    duplicate
}

/// Daraja's settlement codes named as the broker's ApiResult codes (§2.7).
/// Which ApiResult an unregistered recipient or a locked credential gets is
/// a guess.
fn api_result(daraja_code: i64) -> (&'static str, &'static str) {
    match daraja_code {
        0 => ("0", "The service request is processed successfully."),
        1 => ("1", "InsufficientFunds"),
        2 => ("2", "LessThanMinimumTransactionValue"),
        3 => ("3", "MoreThanMaximumTransactionValue"),
        2001 | 8006 => ("18", "InitiatorCredentialCheckFailure"),
        2028 => ("21", "InitiatorToPrimaryPartyPermissionFailure"),
        -2 | 2040 => ("7", "UnresolvedReceiverParty"),
        _ => ("17", "InternalFailure"),
    }
}

/// Marks a pending payment refused before settlement: nothing moved.
fn decline(world: &World, originator: &str, code: &str, description: &str) {
    let mut state = lock(&world.mpesa.state);
    if let Some(payment) = state
        .payments
        .iter_mut()
        .find(|payment| payment.originator_conversation_id == originator)
    {
        assert_eq!(payment.status, "Pending", "a payment is settled once");
        payment.status = "Declined";
        payment.result_code = code.parse().unwrap_or(17);
        payment.result_desc = description.to_string();
        payment.finalised_ms = Some(crate::now_ms());
    }
}

/// Decides the result after the callback delay, moves the money, and posts
/// the `ResultMsg` (or, on a queue timeout, the `notifyQueueTimeout`).
async fn deliver_result(world: Arc<World>, accepted: Accepted, duplicate: bool) {
    let base_delay = world.config.delay(world.config.mpesa.result_delay_ms, 2500);
    let decision = world.faults.decide_callback("mpesa", base_delay);
    tokio::time::sleep(decision.delay).await;
    if decision.queue_timeout && !duplicate {
        expire(&world.mpesa, &accepted.originator);
        queue_timeout(&world, &accepted).await;
        return;
    }
    let max_age_ms = world.config.mpesa.broker.max_message_age_s * 1000;
    let too_old = accepted
        .timestamp_ms
        .is_none_or(|sent| crate::now_ms().saturating_sub(sent) > max_age_ms);
    let (code, description, payment) = if duplicate {
        ("15", "DuplicateDetected", None)
    } else if too_old {
        let (code, description) = ("19", "ApiRequestMessageExpiryFailure");
        decline(&world, &accepted.originator, code, description);
        (code, description, None)
    } else {
        let order = Order {
            initiator: &accepted.initiator,
            credential: &accepted.credential,
            party_a: &accepted.party_a,
            party_b: &accepted.party_b,
            amount_cents: accepted.amount_cents,
        };
        let payment = settle(&world.mpesa, &order, &accepted.originator);
        let (code, description) = api_result(payment.result_code);
        (code, description, Some(payment))
    };
    let body = result_envelope(&world, &accepted, code, description, payment.as_ref());
    remember(&world, &accepted, |exchange| {
        exchange.result = Some(http_request("/", &body));
    });
    if !decision.send {
        tracing::info!(
            accepted.originator,
            "broker result dropped by the fault plan"
        );
        return;
    }
    let copies = if decision.duplicate { 2 } else { 1 };
    for _ in 0..copies {
        world
            .post_callback("mpesa", &accepted.result_url, "text/xml", body.clone())
            .await;
    }
}

/// Updates the exchange of this request (by its own ConversationID: a
/// duplicate shares the OriginatorConversationID).
fn remember(world: &World, accepted: &Accepted, update: impl FnOnce(&mut Exchange)) {
    let mut exchanges = lock(&world.mpesa.broker.exchanges);
    if let Some(exchange) = exchanges
        .iter_mut()
        .find(|exchange| exchange.conversation_id == accepted.conversation_id)
    {
        update(exchange);
    }
}

async fn queue_timeout(world: &World, accepted: &Accepted) {
    let body = wire::to_xml(&QueueTimeoutEnvelope {
        soapenv: wire::SOAP_ENVELOPE,
        loc: wire::TIMEOUT_NAMESPACE,
        body: QueueTimeoutBody {
            notify: NotifyQueueTimeout {
                originator_conversation_id: accepted.originator.clone(),
                origin_request: accepted.origin_request.clone(),
            },
        },
    });
    remember(world, accepted, |exchange| {
        exchange.queue_timeout = Some(http_request("/", &body));
    });
    if let Some(url) = &accepted.queue_timeout_url {
        world.post_callback("mpesa", url, "text/xml", body).await;
    }
}

/// The `ResultMsg` envelope: the capture's wrapper, the spec's April 2015
/// parameters on success, the request's `ReferenceData` echoed.
fn result_envelope(
    world: &World,
    accepted: &Accepted,
    code: &str,
    description: &str,
    payment: Option<&Payment>,
) -> String {
    let paid = payment.filter(|payment| payment.result_code == 0);
    let document = ResultDoc {
        xmlns: wire::RESULT_NAMESPACE,
        result_type: "0".into(),
        result_code: code.into(),
        result_desc: description.into(),
        originator_conversation_id: accepted.originator.clone(),
        conversation_id: accepted.conversation_id.clone(),
        transaction_id: paid.map_or_else(String::new, |payment| payment.transaction_id.clone()),
        result_parameters: ResultParameters {
            items: paid.map_or_else(Vec::new, |payment| success_parameters(world, payment)),
        },
        reference_data: ReferenceData {
            items: accepted.reference_items.clone(),
        },
    };
    wire::to_xml_cdata(&PayloadEnvelope {
        s: wire::SOAP_ENVELOPE,
        body: PayloadBody {
            response_msg: None,
            result_msg: Some(Payload {
                xmlns: wire::RESULT_NAMESPACE,
                document: wire::document(&document),
            }),
        },
    })
}

/// Signed amounts: the charges-paid account runs negative.
fn signed(cents: i64) -> String {
    let text = format_minor(cents.abs());
    if cents < 0 { format!("-{text}") } else { text }
}

fn success_parameters(world: &World, payment: &Payment) -> Vec<KeyValue> {
    let state = lock(&world.mpesa.state);
    let name = state
        .customers
        .get(&payment.party_b)
        .map_or("SANDBOX CUSTOMER", |customer| customer.name.as_str());
    let completed = eat_datetime(
        payment.finalised_ms.unwrap_or(payment.initiated_ms),
        "dd.MM.yyyy HH:mm:ss",
    );
    let balances = &state.balances;
    [
        ("TransactionReceipt", payment.transaction_id.clone()),
        ("TransactionAmount", format_minor(payment.amount_cents)),
        ("TransactionCompletedDateTime", completed),
        (
            "ReceiverPartyPublicName",
            format!("{}-{name}", payment.party_b),
        ),
        (
            "B2CWorkingAccountAvailableFunds",
            signed(balances.working_cents),
        ),
        (
            "B2CUtilityAccountAvailableFunds",
            signed(balances.utility_cents),
        ),
        (
            "B2CChargesPaidAccountAvailableFunds",
            signed(balances.charges_paid_cents),
        ),
        ("B2CRecipientIsRegisteredCustomer", "Y".into()),
    ]
    .into_iter()
    .map(|(key, value)| KeyValue {
        key: key.into(),
        value,
    })
    .collect()
}

/// ConversationID → OriginatorConversationID of a `ResultMsg` body this
/// simulator sent; `None` for anything else. For checks over the journal.
pub fn result_ids(body: &str) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct ResultEnvelope {
        #[serde(rename = "Body")]
        body: ResultBody,
    }
    #[derive(serde::Deserialize)]
    struct ResultBody {
        #[serde(rename = "ResultMsg")]
        result_msg: String,
    }
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(rename = "ConversationID")]
        conversation_id: String,
        #[serde(rename = "OriginatorConversationID")]
        originator_conversation_id: String,
    }
    let envelope: ResultEnvelope = wire::parse(body)?;
    let ids: Ids = wire::parse(&envelope.body.result_msg)?;
    Some((ids.conversation_id, ids.originator_conversation_id))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
