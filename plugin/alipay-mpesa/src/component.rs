//! The component glue: reads the settings through `config`, performs the
//! rails' requests through `http`, keeps the OAuth token and the few facts
//! that must outlive one call in `storage`. Nothing else does I/O.

// `export!` expands to the canonical-ABI export glue, which is unsafe code.
#![allow(unsafe_code)]

use crate::quote::{self, QuoteSettings};
use crate::{CONNECTOR_ID, routes};
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
use corridor_connector_kit::bindings::corridor::connector::types::{
    CallbackOutcome, Descriptor, Event, Failure, FxQuote, InboundRequest, OfferAnswer,
    OfferReading, PayInInstruction, PayInQuery, PayInRequest, PayInStatus, PayOutQuery,
    PayOutRequest, PayOutStarted, PayOutStatus, PlanRefusal, QuoteRequest, RefundQuery,
    RefundRequest, RefundStarted, RefundStatus, Reply, TransferDraft, TransferPlan,
};
use corridor_connector_kit::bindings::corridor::connector::{clock, log};
use corridor_connector_kit::bindings::exports::connector::Guest;
use corridor_connector_kit::failure::{not_supported, read_only, retryable, unknown};
use corridor_connector_kit::imports::{get_text, send, set_text, settings};
use corridor_connector_kit::token::TokenCache;
use corridor_rail_alipay::{self as alipay, AlipaySettings};
use corridor_rail_mpesa::broker::BrokerSettings;
use corridor_rail_mpesa::oauth;
use corridor_rail_mpesa::{self as mpesa, MpesaSettings, PayOutProtocol, Rejection};

struct AlipayMpesa;

/// Storage keys (the refresh lock is `mpesa/token-lock`).
const TOKEN_KEY: &str = "mpesa/token";

fn order_key(reference: &str) -> String {
    format!("alipay/order/{reference}")
}

/// Daraja's `OriginatorConversationID` of our pay-out reference (differs under v1).
fn originator_key(reference: &str) -> String {
    format!("mpesa/originator/{reference}")
}

/// Our pay-out reference of a Daraja `OriginatorConversationID` (v1 only).
fn reference_key(originator: &str) -> String {
    format!("mpesa/reference/{originator}")
}

// ---- M-PESA: the token, cached in storage and refreshed by one instance ----

/// A token Daraja should accept. Each new token invalidates the previous one,
/// so exactly one instance refreshes ([`TokenCache`]) and the others wait
/// for its result. `rejected` is a token Daraja just refused.
fn access_token(settings: &MpesaSettings, rejected: Option<&str>) -> Result<String, Failure> {
    let cache = TokenCache {
        key: TOKEN_KEY,
        margin_ms: oauth::REFRESH_MARGIN_MS,
    };
    cache.get(rejected, || {
        let response = send(&oauth::request(settings)).map_err(read_only)?;
        let token = oauth::parse(&response, clock::now_ms())?;
        log::write(log::Level::Info, "fetched a new Daraja access token");
        Ok(token)
    })
}

fn security_credential(password: &str, certificate_pem: &str) -> Result<String, Failure> {
    let key = mpesa::credential::certificate_key(certificate_pem)?;
    mpesa::credential::security_credential(password, &key, &mut rand_core::OsRng)
}

/// Sends a Daraja request built for a token; if Daraja refuses the token (a
/// refusal means nothing was processed), refreshes it and sends once more.
fn with_token<T>(
    settings: &MpesaSettings,
    build: impl Fn(&str) -> Result<Request, Failure>,
    parse: impl Fn(&Response) -> Result<T, Rejection>,
) -> Result<T, Failure> {
    let mut rejected: Option<String> = None;
    for _ in 0..2 {
        let token = access_token(settings, rejected.as_deref())?;
        match parse(&send(&build(&token)?)?) {
            Ok(value) => return Ok(value),
            Err(Rejection::Failed(failure)) => return Err(failure),
            Err(Rejection::TokenRejected) => {
                log::write(
                    log::Level::Warn,
                    "Daraja refused the access token; refreshing it",
                );
                rejected = Some(token);
            }
        }
    }
    Err(retryable(
        "404.001.03",
        "Daraja refused two fresh access tokens",
    ))
}

// ---- callbacks ----

fn ignored(
    reply: corridor_connector_kit::bindings::corridor::connector::types::Reply,
    reason: String,
) -> CallbackOutcome {
    log::write(
        log::Level::Warn,
        &format!("callback not acted on: {reason}"),
    );
    CallbackOutcome {
        reply,
        events: vec![],
        ignored: Some(reason),
        authenticated: false,
    }
}

fn alipay_notification(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    let alipay = AlipaySettings::from_settings(&settings())?;
    let params = alipay::notify::parameters(&request.body, &request.query);
    let notification = match alipay::notify::verify(&alipay, &params) {
        Ok(notification) => notification,
        Err(reason) => return Ok(ignored(alipay::notify::reply(false), reason)),
    };
    let confirmation = send(&alipay::notify::notify_verify_request(
        &alipay,
        &notification.notify_id,
    ))
    .map_err(read_only)?;
    if !alipay::notify::notify_verify_confirms(&confirmation.body) {
        return Ok(ignored(
            alipay::notify::reply(false),
            "notify_verify did not confirm the notification".into(),
        ));
    }
    let events = alipay::notify::events(&notification);
    // Signed by Alipay and confirmed by notify_verify: the provider's word.
    Ok(CallbackOutcome {
        reply: alipay::notify::reply(true),
        events,
        ignored: None,
        authenticated: true,
    })
}

/// The pay-out reference an event carries, to rewrite.
fn pay_out_reference(event: &mut Event) -> Option<&mut String> {
    match event {
        Event::PayOutSucceeded(receipt) => Some(&mut receipt.reference),
        Event::PayOutFailed(failure) | Event::PayOutUnknown(failure) => failure.reference.as_mut(),
        _ => None,
    }
}

/// Under v1, results carry Daraja's own originator id: put ours back. A result
/// for an id not recorded yet (it can beat the acknowledgement that carries
/// the id) establishes nothing; `Err` says so, and Transaction Status will
/// tell. Never report an id the host does not know as ours.
fn with_our_references(
    mut events: Vec<Event>,
    protocol: PayOutProtocol,
) -> Result<Result<Vec<Event>, String>, Failure> {
    if protocol != PayOutProtocol::DarajaV1 {
        return Ok(Ok(events));
    }
    for event in &mut events {
        if let Some(reference) = pay_out_reference(event) {
            match get_text(&reference_key(reference))? {
                Some(ours) => *reference = ours,
                None => {
                    return Ok(Err(format!(
                        "a result for {reference}, a B2C not recorded yet (v1); Transaction Status will tell"
                    )));
                }
            }
        }
    }
    Ok(Ok(events))
}

/// The broker's `ResultMsg` (on `pay-out`) or `notifyQueueTimeout` (on
/// `pay-out-timeout`), answered in SOAP. Its query is synchronous, so nothing
/// is expected on `pay-out-status`.
fn broker_callback(request: &InboundRequest) -> CallbackOutcome {
    use mpesa::broker::result;
    let (parsed, reply) = match request.route.as_str() {
        routes::MPESA_RESULT => (
            result::result_events(&request.body),
            result::acknowledgement(),
        ),
        routes::MPESA_TIMEOUT => (
            result::queue_timeout_events(&request.body),
            result::queue_timeout_reply(),
        ),
        other => (
            Err(format!("the broker sends nothing to the {other:?} route")),
            result::acknowledgement(),
        ),
    };
    match parsed {
        Ok(events) => CallbackOutcome {
            reply,
            events,
            ignored: None,
            // The broker signs no result: the host confirms by query.
            authenticated: false,
        },
        Err(reason) => ignored(result::reply_to(&request.body).unwrap_or(reply), reason),
    }
}

fn mpesa_callback(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    use mpesa::callback::{ResultKind, queue_timeout_events, result_events};
    let protocol = PayOutProtocol::from_settings(&settings())?;
    if protocol == PayOutProtocol::Broker {
        return Ok(broker_callback(request));
    }
    let parsed = match request.route.as_str() {
        routes::MPESA_TIMEOUT => queue_timeout_events(&request.body),
        routes::MPESA_STATUS => result_events(&request.body, ResultKind::Status),
        _ => result_events(&request.body, ResultKind::B2c),
    };
    match parsed.map(|events| with_our_references(events, protocol)) {
        Ok(Ok(Ok(events))) => Ok(CallbackOutcome {
            reply: mpesa::callback::reply(),
            events,
            ignored: None,
            // Daraja signs nothing: the host confirms by Transaction Status.
            authenticated: false,
        }),
        Ok(Err(failure)) => Err(failure),
        Ok(Ok(Err(reason))) | Err(reason) => Ok(ignored(mpesa::callback::reply(), reason)),
    }
}

// ---- M-PESA on the G2 broker: no token; the query answers at once ----

/// One `GenericAPIRequest`. A lost answer is `unknown` (from the transport),
/// which the host resolves by `queryTransaction`, never by sending again.
fn broker_pay_out(request: &PayOutRequest) -> Result<PayOutStarted, Failure> {
    let broker = BrokerSettings::from_settings(&settings())?;
    let credential = security_credential(&broker.initiator_password, &broker.certificate_pem)?;
    let soap = mpesa::broker::request::request(&broker, &credential, request, clock::now_ms())?;
    let response = send(&soap)?;
    mpesa::broker::request::parse(&response, request)
}

fn broker_query(request: &PayOutQuery) -> Result<PayOutStatus, Failure> {
    let broker = BrokerSettings::from_settings(&settings())?;
    let soap = mpesa::broker::query::request(&broker, request, clock::now_ms())?;
    let response = send(&soap).map_err(read_only)?;
    mpesa::broker::query::parse(&response, request)
}

impl Guest for AlipayMpesa {
    fn describe() -> Descriptor {
        Descriptor {
            id: CONNECTOR_ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            rails: vec!["alipay".to_string(), "mpesa".to_string()],
            send_currencies: vec![quote::SEND_CURRENCY.to_string()],
            pay_in_currencies: vec![quote::PAY_IN_CURRENCY.to_string()],
            pay_out_currencies: vec![quote::PAY_OUT_CURRENCY.to_string()],
            limits: quote::limits(),
            settings: crate::declared::settings(),
            inbound_routes: vec![],
        }
    }

    fn quote(request: QuoteRequest) -> Result<FxQuote, Failure> {
        let quote_settings = QuoteSettings::from_settings(&settings())?;
        let response = send(&quote::rates_request(
            &quote_settings,
            &request.send.currency,
        ))
        .map_err(read_only)?;
        let rates = quote::parse_rates(&response)?;
        quote::build(
            &request,
            &rates,
            &quote_settings,
            &quote_settings.rates_url,
            clock::now_ms(),
        )
    }

    fn plan_transfer(draft: TransferDraft) -> Result<TransferPlan, PlanRefusal> {
        crate::plan::plan(&draft)
    }

    fn begin_pay_in(request: PayInRequest) -> Result<PayInInstruction, Failure> {
        // The same reference gets the same signed order, so a payer who
        // reopens it reopens the same Alipay trade.
        let url = match get_text(&order_key(&request.reference))? {
            Some(url) => url,
            None => {
                let url = alipay::order::payment_url(
                    &AlipaySettings::from_settings(&settings())?,
                    &request,
                    clock::now_ms(),
                )?;
                set_text(&order_key(&request.reference), &url)?;
                url
            }
        };
        let order_string = url.split_once('?').map(|(_, query)| query.to_string());
        Ok(PayInInstruction {
            payment_url: Some(url),
            order_string,
            provider_reference: None,
            action: None,
            details: vec![("out_trade_no".into(), request.reference.clone())],
        })
    }

    fn handle_callback(request: InboundRequest) -> Result<CallbackOutcome, Failure> {
        match request.route.as_str() {
            routes::ALIPAY_NOTIFY => alipay_notification(&request),
            routes::MPESA_RESULT | routes::MPESA_TIMEOUT | routes::MPESA_STATUS => {
                mpesa_callback(&request)
            }
            other => Ok(ignored(
                corridor_connector_kit::bindings::corridor::connector::types::Reply {
                    status: 404,
                    headers: vec![],
                    body: b"unknown route".to_vec(),
                },
                format!("no callback route {other:?}"),
            )),
        }
    }

    fn begin_pay_out(request: PayOutRequest) -> Result<PayOutStarted, Failure> {
        if PayOutProtocol::from_settings(&settings())? == PayOutProtocol::Broker {
            return broker_pay_out(&request);
        }
        let mpesa = MpesaSettings::from_settings(&settings())?;
        let credential = security_credential(&mpesa.initiator_password, &mpesa.certificate_pem)?;
        let accepted = with_token(
            &mpesa,
            |token| mpesa::b2c::request(&mpesa, token, &credential, &request),
            |response| mpesa::b2c::parse(&mpesa, response, &request),
        )?;
        if accepted.originator_conversation_id != request.reference {
            // v1: Daraja named the request itself; remember both ways. The
            // payment is accepted now, so a failure here must never read as
            // "not sent" (retryable): the outcome is unknown.
            let originator = &accepted.originator_conversation_id;
            let remembered = set_text(&originator_key(&request.reference), originator)
                .and_then(|()| set_text(&reference_key(originator), &request.reference));
            if let Err(failure) = remembered {
                return Err(unknown(
                    "storage",
                    format!(
                        "B2C accepted as {originator}, but the id could not be recorded: {}",
                        failure.message
                    ),
                ));
            }
        }
        Ok(accepted.started)
    }

    fn query_pay_out(request: PayOutQuery) -> Result<PayOutStatus, Failure> {
        if PayOutProtocol::from_settings(&settings())? == PayOutProtocol::Broker {
            return broker_query(&request);
        }
        let mpesa = MpesaSettings::from_settings(&settings())?;
        // Under v1 only Daraja's own id finds the payment; asking by ours would
        // say "not found" about a payment that may have happened.
        let originator = match (
            get_text(&originator_key(&request.reference))?,
            mpesa.pay_out_protocol,
        ) {
            (Some(originator), _) => originator,
            (None, PayOutProtocol::DarajaV1) => {
                return Err(retryable(
                    "v1-id-unrecorded",
                    "no Daraja OriginatorConversationID is recorded for this pay-out yet",
                ));
            }
            (None, _) => request.reference.clone(),
        };
        let credential = security_credential(&mpesa.initiator_password, &mpesa.certificate_pem)?;
        with_token(
            &mpesa,
            |token| {
                Ok(mpesa::status::request(
                    &mpesa,
                    token,
                    &credential,
                    &request,
                    &originator,
                ))
            },
            mpesa::status::parse,
        )
        .map_err(read_only)
    }

    fn query_pay_in(request: PayInQuery) -> Result<PayInStatus, Failure> {
        let alipay = AlipaySettings::from_settings(&settings())?;
        let response =
            send(&alipay::query::request(&alipay, &request.reference)?).map_err(read_only)?;
        alipay::query::parse(&alipay, &response, &request.reference).map_err(read_only)
    }

    fn refund_pay_in(request: RefundRequest) -> Result<RefundStarted, Failure> {
        let alipay = AlipaySettings::from_settings(&settings())?;
        let response = send(&alipay::refund::request(
            &alipay,
            &request,
            clock::now_ms(),
        )?)?;
        alipay::refund::parse(&response, &request).map(RefundStarted::Succeeded)
    }

    /// Alipay answers a `forex_refund` with an `out_return_no` it has seen
    /// with that refund's result, without refunding twice: asking again is
    /// how its refunds are queried.
    fn query_refund(query: RefundQuery) -> Result<RefundStatus, Failure> {
        let request = RefundRequest {
            transfer_id: query.transfer_id,
            pay_in_reference: query.pay_in_reference,
            reference: query.reference,
            amount: query.amount,
            reason: "refund status".into(),
            pay_in_transaction_id: query.pay_in_transaction_id,
            result_url: query.result_url,
            timeout_url: query.timeout_url,
        };
        match Self::refund_pay_in(request) {
            Ok(RefundStarted::Succeeded(receipt)) => Ok(RefundStatus::Succeeded(receipt)),
            Ok(RefundStarted::Accepted(_)) => Ok(RefundStatus::Pending),
            Err(failure) if failure.kind == FailureKind::Failed => {
                Ok(RefundStatus::Failed(failure))
            }
            Err(failure) => Err(failure),
        }
    }

    fn read_offer(_: InboundRequest) -> Result<OfferReading, Failure> {
        Err(not_supported("read-offer"))
    }

    fn answer_offer(_: OfferAnswer) -> Result<Reply, Failure> {
        Err(not_supported("answer-offer"))
    }
}

corridor_connector_kit::export!(AlipayMpesa with_types_in corridor_connector_kit::bindings);
