//! The component glue: reads the settings through `config`, performs the
//! rails' requests through `http`, keeps tokens and the few facts that must
//! outlive one call in `storage`. Nothing else does I/O.
//!
//! - [`pay_in`]: the three pay-in protocols, their callbacks and queries,
//!   and the Paybill's validation (offers) and confirmation.
//! - [`pay_out`]: MoMo's transfer, status and callback.
//! - [`refund`]: M-PESA's Transaction Reversal of the pay-in.

// `export!` expands to the canonical-ABI export glue, which is unsafe code.
#![allow(unsafe_code)]

mod pay_in;
mod pay_out;
mod refund;

use crate::{CONNECTOR_ID, routes};
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    CallbackOutcome, Descriptor, Failure, FxQuote, InboundRequest, OfferAnswer, OfferReading,
    PayInInstruction, PayInQuery, PayInRequest, PayInStatus, PayOutQuery, PayOutRequest,
    PayOutStarted, PayOutStatus, PlanRefusal, QuoteRequest, RefundQuery, RefundRequest,
    RefundStarted, RefundStatus, Reply, TransferDraft, TransferPlan,
};
use corridor_connector_kit::bindings::corridor::connector::{clock, log};
use corridor_connector_kit::bindings::exports::connector::Guest;
use corridor_connector_kit::failure::{read_only, retryable};
use corridor_connector_kit::imports::{get_text, send, set_text, settings};
use corridor_connector_kit::token::TokenCache;
use corridor_rail_mpesa::pay_in::MpesaPayInSettings;
use corridor_rail_mpesa::{MpesaSettings, oauth};

struct MpesaMomo;

fn warn(message: &str) {
    log::write(log::Level::Warn, message);
}

/// Daraja's token.
fn daraja_token(mpesa: &MpesaSettings, rejected: Option<&str>) -> Result<String, Failure> {
    let cache = TokenCache {
        key: "mpesa/token",
        margin_ms: oauth::REFRESH_MARGIN_MS,
    };
    cache.get(rejected, || {
        let response = send(&oauth::request(mpesa)).map_err(read_only)?;
        oauth::parse(&response, clock::now_ms())
    })
}

/// Sends a Daraja request built for a token; if Daraja refuses the token (a
/// refusal means nothing was processed), refreshes it and sends once more.
fn with_daraja<T>(
    mpesa: &MpesaSettings,
    build: impl Fn(&str) -> Result<Request, Failure>,
    parse: impl Fn(&Response) -> Result<T, corridor_rail_mpesa::Rejection>,
) -> Result<T, Failure> {
    let mut rejected: Option<String> = None;
    for _ in 0..2 {
        let token = daraja_token(mpesa, rejected.as_deref())?;
        match parse(&send(&build(&token)?)?) {
            Ok(value) => return Ok(value),
            Err(corridor_rail_mpesa::Rejection::Failed(failure)) => return Err(failure),
            Err(corridor_rail_mpesa::Rejection::TokenRejected) => {
                warn("Daraja refused the access token; refreshing it");
                rejected = Some(token);
            }
        }
    }
    Err(retryable(
        "404.001.03",
        "Daraja refused two fresh access tokens",
    ))
}

fn security_credential(mpesa: &MpesaSettings) -> Result<String, Failure> {
    let key = corridor_rail_mpesa::credential::certificate_key(&mpesa.certificate_pem)?;
    corridor_rail_mpesa::credential::security_credential(
        &mpesa.initiator_password,
        &key,
        &mut rand_core::OsRng,
    )
}

/// A callback that establishes nothing, logged.
fn ignored(reply: Reply, reason: String) -> CallbackOutcome {
    warn(&format!("callback not acted on: {reason}"));
    CallbackOutcome {
        reply,
        events: vec![],
        ignored: Some(reason),
        authenticated: false,
    }
}

fn plain(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: body.as_bytes().to_vec(),
    }
}

impl Guest for MpesaMomo {
    fn describe() -> Descriptor {
        Descriptor {
            id: CONNECTOR_ID.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            rails: vec!["mpesa".to_string(), "momo".to_string()],
            send_currencies: vec![crate::quote::CORRIDOR.send.to_string()],
            pay_in_currencies: vec![crate::quote::CORRIDOR.pay_in.to_string()],
            pay_out_currencies: vec![crate::quote::CORRIDOR.pay_out.to_string()],
            limits: crate::quote::limits(),
            settings: crate::declared::settings(),
            inbound_routes: crate::declared::inbound_routes(),
        }
    }

    fn quote(request: QuoteRequest) -> Result<FxQuote, Failure> {
        let quote_settings = crate::quote::QuoteSettings::from_settings(&settings())?;
        let response = send(&crate::quote::rates_request(
            &quote_settings,
            &request.send.currency,
        ))
        .map_err(read_only)?;
        let rates = crate::quote::parse_rates(&response)?;
        crate::quote::build(
            &request,
            &rates,
            &quote_settings,
            &quote_settings.rates_url,
            clock::now_ms(),
        )
    }

    fn plan_transfer(draft: TransferDraft) -> Result<TransferPlan, PlanRefusal> {
        let protocol =
            MpesaPayInSettings::from_settings(&settings()).map_err(PlanRefusal::Failed)?;
        let payer_required = !matches!(protocol, MpesaPayInSettings::Paybill);
        crate::plan::plan(&draft, payer_required)
    }

    fn begin_pay_in(request: PayInRequest) -> Result<PayInInstruction, Failure> {
        pay_in::begin(&request)
    }

    fn handle_callback(request: InboundRequest) -> Result<CallbackOutcome, Failure> {
        match request.route.as_str() {
            routes::PAY_IN => pay_in::prompt_callback(&request),
            routes::PAY_IN_STATUS => pay_in::status_callback(&request),
            routes::C2B_CONFIRMATION => pay_in::confirmation(&request),
            routes::PAY_OUT | routes::PAY_OUT_TIMEOUT | routes::PAY_OUT_STATUS => {
                Ok(pay_out::callback(&request))
            }
            routes::REFUND | routes::REFUND_TIMEOUT | routes::REFUND_STATUS => {
                refund::callback(&request)
            }
            other => Ok(ignored(
                plain(404, "unknown route"),
                format!("no callback route {other:?}"),
            )),
        }
    }

    fn begin_pay_out(request: PayOutRequest) -> Result<PayOutStarted, Failure> {
        pay_out::begin(&request)
    }

    fn query_pay_out(request: PayOutQuery) -> Result<PayOutStatus, Failure> {
        pay_out::query(&request)
    }

    fn query_pay_in(request: PayInQuery) -> Result<PayInStatus, Failure> {
        pay_in::query(&request)
    }

    fn refund_pay_in(request: RefundRequest) -> Result<RefundStarted, Failure> {
        refund::begin(&request)
    }

    fn query_refund(query: RefundQuery) -> Result<RefundStatus, Failure> {
        refund::query(&query)
    }

    fn read_offer(request: InboundRequest) -> Result<OfferReading, Failure> {
        pay_in::read_offer(&request)
    }

    fn answer_offer(answer: OfferAnswer) -> Result<Reply, Failure> {
        pay_in::answer_offer(&answer)
    }
}

corridor_connector_kit::export!(MpesaMomo with_types_in corridor_connector_kit::bindings);
