//! The pay-in, by the protocol the policy chose (`mpesa_pay_in_protocol`):
//! an STK push (`express`), the SOAP Online Checkout (`checkout`), or a
//! Paybill payment the payer makes by hand (`paybill`), whose validation
//! comes as an offer and whose confirmation as a notification on the
//! connector's own routes.
//!
//! Storage, per pay-in reference: `pay-in/<ref>/request` (what the push or
//! checkout was, to ask after it), `pay-in/<ref>/receipt` (the receipt a
//! callback or confirmation named); and `c2b/registered` (the URLs
//! registered with M-PESA, so RegisterURL is sent again only when they change).

use super::{get_text, ignored, send, set_text, settings, with_daraja};
use crate::events::{self, transfer_id_of};
use crate::plan::pay_in_reference;
use crate::routes;
use corridor_connector_kit::bindings::corridor::connector::clock;
use corridor_connector_kit::bindings::corridor::connector::types::{
    AccountPayment, ApprovePrompt, CallbackOutcome, Failure, InboundRequest, OfferAnswer,
    OfferReading, OfferVerdict, PayInInstruction, PayInOffer, PayInQuery, PayInRequest,
    PayInStatus, PayerAction, Reply, UnreadableOffer,
};
use corridor_connector_kit::failure::{failed, misconfigured, read_only};
use corridor_connector_kit::money::{format_whole, money};
use corridor_rail_mpesa::c2b::notification::NotificationKind;
use corridor_rail_mpesa::c2b::register::{self, Registered, Urls};
use corridor_rail_mpesa::c2b::{self, C2bForm, C2bSettings};
use corridor_rail_mpesa::pay_in::{CheckoutSettings, ExpressSettings, MpesaPayInSettings};
use corridor_rail_mpesa::status::Acknowledged;
use corridor_rail_mpesa::{MpesaSettings, checkout, express};

fn request_key(reference: &str) -> String {
    format!("pay-in/{reference}/request")
}

fn receipt_key(reference: &str) -> String {
    format!("pay-in/{reference}/receipt")
}

const REGISTERED_KEY: &str = "c2b/registered";

/// A prompt sent: what the push or checkout was, to query it later.
struct Prompted {
    id: String,
    payer: String,
    amount_cents: i64,
}

impl Prompted {
    fn store(&self, reference: &str) -> Result<(), Failure> {
        let json = serde_json::json!({
            "id": self.id, "payer": self.payer, "amount_cents": self.amount_cents,
        });
        set_text(&request_key(reference), &json.to_string())
    }

    fn load(reference: &str) -> Result<Option<Prompted>, Failure> {
        let Some(text) = get_text(&request_key(reference))? else {
            return Ok(None);
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        Ok(Some(Prompted {
            id: json["id"].as_str().unwrap_or_default().to_string(),
            payer: json["payer"].as_str().unwrap_or_default().to_string(),
            amount_cents: json["amount_cents"].as_i64().unwrap_or_default(),
        }))
    }

    fn instruction(&self, reference: &str, id_key: &str) -> PayInInstruction {
        PayInInstruction {
            payment_url: None,
            order_string: None,
            provider_reference: Some(self.id.clone()),
            action: Some(PayerAction::ApprovePrompt(ApprovePrompt {
                payer: self.payer.clone(),
                message: format!(
                    "Enter your M-PESA PIN to pay KES {}",
                    format_whole(self.amount_cents)
                ),
            })),
            details: vec![
                (id_key.to_string(), self.id.clone()),
                ("account_reference".into(), reference.to_string()),
            ],
        }
    }
}

fn protocol() -> Result<MpesaPayInSettings, Failure> {
    MpesaPayInSettings::from_settings(&settings())
}

fn payer(request: &PayInRequest) -> Result<String, Failure> {
    request
        .payer
        .clone()
        .ok_or_else(|| failed("invalid-payer", "a prompt needs the payer's M-PESA number"))
}

pub(super) fn begin(request: &PayInRequest) -> Result<PayInInstruction, Failure> {
    match protocol()? {
        MpesaPayInSettings::Express(express) => begin_express(&express, request),
        MpesaPayInSettings::Checkout(checkout) => begin_checkout(&checkout, request),
        MpesaPayInSettings::Paybill => begin_paybill(request),
    }
}

/// One STK push per pay-in: a second call returns the first push's prompt.
fn begin_express(
    settings: &ExpressSettings,
    request: &PayInRequest,
) -> Result<PayInInstruction, Failure> {
    if let Some(prompted) = Prompted::load(&request.reference)? {
        return Ok(prompted.instruction(&request.reference, "checkout_request_id"));
    }
    let mpesa = MpesaSettings::from_settings(&super::settings())?;
    let push = express::Push {
        payer_msisdn: payer(request)?,
        amount: request.amount.clone(),
        account_reference: request.reference.clone(),
        description: "Corridor".into(),
        callback_url: request.notify_url.clone(),
    };
    let pushed = with_daraja(
        &mpesa,
        |token| express::push_request(settings, token, &push, clock::now_ms()),
        express::push_parse,
    )?;
    let prompted = Prompted {
        id: pushed.checkout_request_id,
        payer: push.payer_msisdn,
        amount_cents: request.amount.amount_minor,
    };
    prompted.store(&request.reference)?;
    Ok(prompted.instruction(&request.reference, "checkout_request_id"))
}

/// `processCheckOut` once, then `confirmTransaction`, which sends the prompt.
fn begin_checkout(
    settings: &CheckoutSettings,
    request: &PayInRequest,
) -> Result<PayInInstruction, Failure> {
    let prompted = match Prompted::load(&request.reference)? {
        Some(prompted) => prompted,
        None => {
            let order = checkout::Order {
                merchant_transaction_id: request.reference.clone(),
                reference_id: request.transfer_id.clone(),
                amount: request.amount.clone(),
                payer_msisdn: payer(request)?,
                callback_url: request.notify_url.clone(),
                enc_params: String::new(),
            };
            let soap = checkout::process_request(settings, &order, clock::now_ms())?;
            let processed = checkout::process_parse(&send(&soap)?)?;
            let prompted = Prompted {
                id: processed.trx_id,
                payer: order.payer_msisdn,
                amount_cents: request.amount.amount_minor,
            };
            prompted.store(&request.reference)?;
            prompted
        }
    };
    let confirmed_key = format!("pay-in/{}/confirmed", request.reference);
    if get_text(&confirmed_key)?.is_none() {
        let soap =
            checkout::confirm_request(settings, &prompted.id, &request.reference, clock::now_ms());
        checkout::confirm_parse(&send(&soap)?, &prompted.id)?;
        set_text(&confirmed_key, "1")?;
    }
    Ok(prompted.instruction(&request.reference, "trx_id"))
}

fn route_url<'a>(request: &'a PayInRequest, route: &str) -> Result<&'a str, Failure> {
    request
        .connector_routes
        .iter()
        .find(|url| url.route == route)
        .map(|url| url.url.as_str())
        .ok_or_else(|| misconfigured(format!("the host handed out no {route} route")))
}

/// The payer pays the Paybill by hand; the URLs are registered first, once.
fn begin_paybill(request: &PayInRequest) -> Result<PayInInstruction, Failure> {
    let c2b = C2bSettings::from_settings(&settings())?;
    let urls = Urls {
        validation_url: route_url(request, routes::C2B_VALIDATION)?,
        confirmation_url: route_url(request, routes::C2B_CONFIRMATION)?,
    };
    let registration = format!(
        "{:?}\n{}\n{}\n{}",
        c2b.form, c2b.shortcode, urls.validation_url, urls.confirmation_url
    );
    if get_text(REGISTERED_KEY)?.as_deref() != Some(registration.as_str()) {
        register_urls(&c2b, &urls)?;
        set_text(REGISTERED_KEY, &registration)?;
    }
    let amount = format_whole(request.amount.amount_minor);
    Ok(PayInInstruction {
        payment_url: None,
        order_string: None,
        provider_reference: None,
        action: Some(PayerAction::PayToAccount(AccountPayment {
            account: format!("Paybill {}", c2b.shortcode),
            reference: request.reference.clone(),
            amount: request.amount.clone(),
            message: format!(
                "Pay KES {amount} to Paybill {}, account number {}",
                c2b.shortcode, request.reference
            ),
        })),
        details: vec![
            ("paybill".into(), c2b.shortcode.clone()),
            ("account_reference".into(), request.reference.clone()),
        ],
    })
}

fn register_urls(c2b: &C2bSettings, urls: &Urls<'_>) -> Result<(), Failure> {
    let registered = match c2b.form {
        C2bForm::Soap => {
            let originator = format!("{}_COR{}", c2b.shortcode, clock::now_ms());
            let soap = register::soap_request(c2b, urls, &originator, clock::now_ms())?;
            register::soap_parse(&send(&soap)?)?
        }
        C2bForm::DarajaV1 | C2bForm::DarajaV2 => {
            let mpesa = MpesaSettings::from_settings(&settings())?;
            with_daraja(
                &mpesa,
                |token| register::daraja_request(&mpesa, c2b, token, urls),
                register::daraja_parse,
            )?
        }
    };
    if registered == Registered::Already {
        super::warn("M-PESA says the C2B URLs were registered before; keeping them");
    }
    Ok(())
}

/// The pay-in reference of the transfer a per-transfer callback is for.
fn reference_of(request: &InboundRequest) -> Option<String> {
    transfer_id_of(&request.path).map(pay_in_reference)
}

/// The STK push's or the checkout's callback on the transfer's `notify-url`.
/// Unsigned: the host confirms it with `query-pay-in`.
/// The prompt recorded for `reference`. A payer can approve a prompt, and
/// M-PESA call back, before `begin-pay-in` has stored the prompt's id (the
/// push's answer and the callback race), so a missing record is waited for,
/// up to two seconds, before the callback is taken for another pay-in's.
fn recorded_prompt(reference: &str) -> Result<Option<Prompted>, Failure> {
    for _ in 0..100 {
        if let Some(prompted) = Prompted::load(reference)? {
            return Ok(Some(prompted));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(None)
}

pub(super) fn prompt_callback(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    let Some(reference) = reference_of(request) else {
        return Ok(ignored(
            super::plain(404, "not found"),
            "no transfer in the path".into(),
        ));
    };
    let (reply, notified) = match protocol()? {
        MpesaPayInSettings::Express(_) => (
            express::callback_reply(),
            express::callback(&request.body).map(|n| (n.checkout_request_id, n.outcome)),
        ),
        MpesaPayInSettings::Checkout(_) => (
            checkout::callback_reply(),
            checkout::callback(request).map(|n| (n.trx_id, n.outcome)),
        ),
        MpesaPayInSettings::Paybill => {
            return Ok(ignored(
                express::callback_reply(),
                "a prompt's callback, but the pay-in is a Paybill".into(),
            ));
        }
    };
    let (id, outcome) = match notified {
        Ok(notified) => notified,
        Err(unreadable) => return Ok(ignored(reply, unreadable.to_string())),
    };
    if recorded_prompt(&reference)?.is_none_or(|prompted| prompted.id != id) {
        return Ok(ignored(
            reply,
            format!("a callback for {id}, not this pay-in's"),
        ));
    }
    if let corridor_rail_mpesa::pay_in::PayInOutcome::Paid(paid) = &outcome
        && let Some(receipt) = &paid.receipt
    {
        set_text(&receipt_key(&reference), receipt)?;
    }
    Ok(CallbackOutcome {
        reply,
        events: events::pay_in_event(&reference, &outcome)
            .into_iter()
            .collect(),
        ignored: None,
        authenticated: false,
    })
}

/// Transaction Status's answer about a Paybill receipt (`pay-in-status`).
pub(super) fn status_callback(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    let reply = corridor_rail_mpesa::callback::reply();
    let Some(reference) = reference_of(request) else {
        return Ok(ignored(reply, "no transfer in the path".into()));
    };
    match c2b::status::result(&request.body) {
        Ok(status) => Ok(CallbackOutcome {
            reply,
            events: events::c2b_pay_in_event(&reference, status)
                .into_iter()
                .collect(),
            ignored: None,
            authenticated: false,
        }),
        Err(error) => Ok(ignored(reply, error.to_string())),
    }
}

/// A Paybill confirmation: evidence of a payment, confirmed by query.
pub(super) fn confirmation(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    let c2b = C2bSettings::from_settings(&settings())?;
    let payment =
        match c2b::notification::parse(&c2b, NotificationKind::Confirmation, &request.body) {
            Ok(payment) => payment,
            Err(error) => {
                let reason = error.to_string();
                return Ok(ignored(c2b::reply::refuse(c2b.form, &reason), reason));
            }
        };
    let reference = &payment.bill_ref_number;
    if reference.len() <= 64 && reference.chars().all(|c| c.is_ascii_alphanumeric()) {
        set_text(&receipt_key(reference), &payment.trans_id)?;
    }
    Ok(CallbackOutcome {
        reply: c2b::reply::acknowledge(c2b.form, &payment.trans_id),
        events: vec![events::confirmation_event(&payment)],
        ignored: None,
        authenticated: false,
    })
}

pub(super) fn query(request: &PayInQuery) -> Result<PayInStatus, Failure> {
    let reference = &request.reference;
    let known_receipt = get_text(&receipt_key(reference))?;
    match protocol()? {
        MpesaPayInSettings::Express(settings) => {
            let Some(prompted) = Prompted::load(reference)? else {
                return Ok(PayInStatus::AwaitingPayment);
            };
            let mpesa = MpesaSettings::from_settings(&super::settings())?;
            let push = express::Push {
                payer_msisdn: prompted.payer.clone(),
                amount: money(prompted.amount_cents, "KES"),
                account_reference: reference.clone(),
                description: String::new(),
                callback_url: String::new(),
            };
            let outcome = with_daraja(
                &mpesa,
                |token| {
                    Ok(express::query_request(
                        &settings,
                        token,
                        &prompted.id,
                        clock::now_ms(),
                    ))
                },
                |response| express::query_parse(response, &prompted.id, &push),
            )
            .map_err(read_only)?;
            events::pay_in_status(reference, outcome, known_receipt)
        }
        MpesaPayInSettings::Checkout(settings) => {
            let Some(prompted) = Prompted::load(reference)? else {
                return Ok(PayInStatus::AwaitingPayment);
            };
            let soap =
                checkout::status_request(&settings, &prompted.id, reference, clock::now_ms());
            let notified = checkout::status_parse(&send(&soap).map_err(read_only)?, &prompted.id)?;
            events::pay_in_status(reference, notified.outcome, known_receipt)
        }
        MpesaPayInSettings::Paybill => query_receipt(request, known_receipt),
    }
}

/// Transaction Status on the receipt the report named (or the one kept for
/// the reference); the answer comes on `pay-in-status`.
fn query_receipt(
    request: &PayInQuery,
    known_receipt: Option<String>,
) -> Result<PayInStatus, Failure> {
    let Some(receipt) = request.provider_reference.clone().or(known_receipt) else {
        return Ok(PayInStatus::AwaitingPayment);
    };
    let mpesa = MpesaSettings::from_settings(&settings())?;
    let c2b = C2bSettings::from_settings(&settings())?;
    let credential = super::security_credential(&mpesa)?;
    let callbacks = c2b::status::Callbacks {
        result_url: &request.result_url,
        timeout_url: &request.timeout_url,
        occasion: &request.transfer_id,
    };
    let acknowledged = with_daraja(
        &mpesa,
        |token| {
            Ok(c2b::status::request(
                &mpesa,
                &c2b,
                token,
                &credential,
                &receipt,
                &callbacks,
            ))
        },
        corridor_rail_mpesa::status::acknowledged,
    )
    .map_err(read_only)?;
    Ok(match acknowledged {
        Acknowledged::Pending => PayInStatus::Pending,
        Acknowledged::NotFound => PayInStatus::NotFound,
    })
}

/// A Paybill validation: the payment M-PESA will complete if we agree.
pub(super) fn read_offer(request: &InboundRequest) -> Result<OfferReading, Failure> {
    let c2b = C2bSettings::from_settings(&settings())?;
    Ok(
        match c2b::notification::parse(&c2b, NotificationKind::Validation, &request.body) {
            Ok(payment) => OfferReading::Offer(PayInOffer {
                reference: payment.bill_ref_number,
                amount: money(payment.amount_cents, "KES"),
                provider_transaction_id: Some(payment.trans_id),
            }),
            Err(error) => {
                let reason = error.to_string();
                OfferReading::Unreadable(UnreadableOffer {
                    reply: c2b::reply::refuse(c2b.form, &reason),
                    reason,
                })
            }
        },
    )
}

/// The validation's reply, from the host's verdict. An accepted payment's
/// receipt is kept for its reference, so a confirmation that never comes
/// (the host was down; M-PESA gave up resending) is found by the host's
/// query when the pay-in window closes.
pub(super) fn answer_offer(answer: &OfferAnswer) -> Result<Reply, Failure> {
    let c2b = C2bSettings::from_settings(&settings())?;
    Ok(match answer.verdict {
        OfferVerdict::Accept => {
            if let Some(receipt) = &answer.offer.provider_transaction_id {
                set_text(&receipt_key(&answer.offer.reference), receipt)?;
            }
            c2b::reply::accept(c2b.form, Some(&answer.offer.reference))
        }
        OfferVerdict::Reject(reason) => c2b::reply::reject(c2b.form, events::rejection(reason)),
    })
}
