//! The component glue: settings through `config`, requests through `http`.

// `export!` expands to the canonical-ABI export glue, which is unsafe code.
#![allow(unsafe_code)]

use crate::CONNECTOR_ID;
use crate::protocol::{self, Checkout, NewCheckout, NewPayout, NewRefund, Notification, Payout};
use corridor_connector_kit::bindings::corridor::connector::http::{
    self, Method, Request, Response,
};
use corridor_connector_kit::bindings::corridor::connector::types::{
    AmountLimit, CallbackOutcome, Descriptor, Event, Failure, FailureKind, FxQuote, InboundRequest,
    OfferAnswer, OfferReading, PayInInstruction, PayInQuery, PayInRequest, PayInStatus,
    PayOutFailure, PayOutQuery, PayOutRequest, PayOutStarted, PayOutStatus, PlanRefusal,
    QuoteRequest, RefundQuery, RefundReceipt, RefundRequest, RefundStarted, RefundStatus, Reply,
    Setting, TransferDraft, TransferPlan,
};
use corridor_connector_kit::bindings::corridor::connector::{clock, config};
use corridor_connector_kit::bindings::exports::connector::Guest;
use corridor_connector_kit::failure::{
    failed, from_http, not_supported, read_only, retryable, unknown,
};
use corridor_connector_kit::money::money;
use corridor_connector_kit::settings::Settings;
use serde::Serialize;
use serde::de::DeserializeOwned;

struct PaylinkWalletly;

fn lookup(key: &str) -> Option<String> {
    config::get(key)
}

fn setting(key: &str) -> Result<String, Failure> {
    Settings::new(&lookup).required(key)
}

/// One JSON request with the bearer key of `key_setting`.
fn call(
    method: Method,
    url: String,
    key_setting: &str,
    body: Option<&impl Serialize>,
) -> Result<Response, Failure> {
    let body = match body {
        Some(body) => {
            serde_json::to_vec(body).map_err(|error| failed("encode", error.to_string()))?
        }
        None => Vec::new(),
    };
    let request = Request {
        method,
        url,
        headers: vec![
            (
                "authorization".into(),
                format!("Bearer {}", setting(key_setting)?),
            ),
            ("content-type".into(), "application/json".into()),
        ],
        body,
        timeout_ms: None,
    };
    http::send(&request).map_err(|error| from_http(&error))
}

/// A 2xx body as `T`; a garbled one after the provider may have acted is unknown.
fn parse<T: DeserializeOwned>(response: &Response) -> Result<T, Failure> {
    serde_json::from_slice(&response.body)
        .map_err(|error| unknown("bad-response", format!("unreadable answer: {error}")))
}

/// A 4xx is the provider's definitive no; a 5xx may be anything.
fn refused(response: &Response, five_hundred: impl Fn(&str, String) -> Failure) -> Failure {
    let text = String::from_utf8_lossy(&response.body).into_owned();
    match serde_json::from_slice::<protocol::WalletlyError>(&response.body) {
        Ok(error) if response.status < 500 => failed(&error.code, error.message),
        _ if response.status < 500 => failed(&response.status.to_string(), text),
        _ => five_hundred(&response.status.to_string(), text),
    }
}

fn declared(name: &str, secret: bool, required: bool, description: &str) -> Setting {
    Setting {
        name: name.into(),
        secret,
        required,
        description: description.into(),
    }
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn outcome(status: u16, events: Vec<Event>, ignored: Option<String>) -> CallbackOutcome {
    CallbackOutcome {
        reply: reply(status, if status == 200 { "ok" } else { "rejected" }),
        events,
        ignored,
        authenticated: false,
    }
}

fn header<'a>(request: &'a InboundRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn paylink_notification(request: &InboundRequest) -> Result<CallbackOutcome, Failure> {
    let secret = setting("paylink_webhook_secret")?;
    let signature = header(request, "paylink-signature").unwrap_or_default();
    if !protocol::signed_by_paylink(&secret, &request.body, signature) {
        return Ok(outcome(401, Vec::new(), Some("bad signature".into())));
    }
    let Ok(note) = serde_json::from_slice::<Notification>(&request.body) else {
        return Ok(outcome(
            400,
            Vec::new(),
            Some("unreadable notification".into()),
        ));
    };
    if note.event != "checkout.paid" {
        return Ok(outcome(
            200,
            Vec::new(),
            Some(format!("event {}", note.event)),
        ));
    }
    let receipt = protocol::pay_in_receipt(
        &note.checkout_id,
        &note.reference,
        note.amount_minor,
        &note.currency,
    );
    // The signature checked out: PayLink's own word.
    Ok(CallbackOutcome {
        authenticated: true,
        ..outcome(200, vec![Event::PayInSucceeded(receipt)], None)
    })
}

fn walletly_result(request: &InboundRequest) -> CallbackOutcome {
    let Ok(payout) = serde_json::from_slice::<Payout>(&request.body) else {
        return outcome(400, Vec::new(), Some("unreadable pay-out result".into()));
    };
    let event = match payout.status.as_str() {
        "completed" => Event::PayOutSucceeded(protocol::pay_out_receipt(&payout)),
        "failed" => Event::PayOutFailed(PayOutFailure {
            reference: Some(payout.reference.clone()),
            provider_reference: Some(payout.payout_id.clone()),
            failure: failed("payout-failed", payout.reason.clone().unwrap_or_default()),
        }),
        other => return outcome(200, Vec::new(), Some(format!("status {other}"))),
    };
    outcome(200, vec![event], None)
}

impl Guest for PaylinkWalletly {
    fn describe() -> Descriptor {
        Descriptor {
            id: CONNECTOR_ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            rails: vec!["paylink".into(), "walletly".into()],
            send_currencies: vec![protocol::SEND_CURRENCY.into()],
            pay_in_currencies: vec![protocol::SEND_CURRENCY.into()],
            pay_out_currencies: vec![protocol::PAY_OUT_CURRENCY.into()],
            limits: vec![AmountLimit {
                min: money(100, protocol::SEND_CURRENCY),
                max: money(1_000_000, protocol::SEND_CURRENCY),
            }],
            settings: vec![
                declared("paylink_url", false, true, "PayLink's API base URL"),
                declared("walletly_url", false, true, "Walletly's API base URL"),
                declared("rate", false, true, "GHS per EUR, exact decimal text"),
                declared("fee_minor", false, false, "a fixed fee in euro cents"),
                declared("paylink_api_key", true, true, "PayLink's API key"),
                declared(
                    "paylink_webhook_secret",
                    true,
                    true,
                    "PayLink's webhook signing secret",
                ),
                declared("walletly_api_key", true, true, "Walletly's API key"),
            ],
            inbound_routes: vec![],
        }
    }

    fn quote(request: QuoteRequest) -> Result<FxQuote, Failure> {
        let settings = Settings::new(&lookup);
        let fee = settings.number("fee_minor", 0)?;
        let fee =
            i64::try_from(fee).map_err(|_| failed("misconfigured", "fee_minor is too large"))?;
        protocol::quote(
            &request,
            &settings.required("rate")?,
            fee,
            clock::now_ms(),
            600_000,
        )
    }

    fn plan_transfer(draft: TransferDraft) -> Result<TransferPlan, PlanRefusal> {
        protocol::plan(&draft).map_err(PlanRefusal::InvalidRecipient)
    }

    fn begin_pay_in(request: PayInRequest) -> Result<PayInInstruction, Failure> {
        let body = NewCheckout {
            reference: request.reference,
            amount_minor: request.amount.amount_minor,
            currency: request.amount.currency,
            notify_url: request.notify_url,
            expires_at_ms: request.expires_at_ms,
        };
        let url = format!("{}/checkouts", setting("paylink_url")?);
        let response = call(Method::Post, url, "paylink_api_key", Some(&body))?;
        if !(200..300).contains(&response.status) {
            // Checkouts are idempotent by reference: asking again is safe.
            return Err(refused(&response, |code, text| retryable(code, text)));
        }
        let checkout: Checkout = parse(&response).map_err(read_only)?;
        Ok(PayInInstruction {
            payment_url: Some(checkout.pay_url),
            order_string: None,
            provider_reference: Some(checkout.checkout_id.clone()),
            action: None,
            details: vec![("checkout_id".into(), checkout.checkout_id)],
        })
    }

    fn handle_callback(request: InboundRequest) -> Result<CallbackOutcome, Failure> {
        match request.route.as_str() {
            "pay-in" => paylink_notification(&request),
            "pay-out" => Ok(walletly_result(&request)),
            other => Ok(outcome(
                404,
                Vec::new(),
                Some(format!("no use for route {other}")),
            )),
        }
    }

    fn begin_pay_out(request: PayOutRequest) -> Result<PayOutStarted, Failure> {
        let body = NewPayout {
            reference: request.reference,
            account: request.recipient,
            amount_minor: request.amount.amount_minor,
            currency: request.amount.currency,
            callback_url: request.result_url,
        };
        let url = format!("{}/payouts", setting("walletly_url")?);
        let response = call(Method::Post, url, "walletly_api_key", Some(&body))?;
        if !(200..300).contains(&response.status) {
            return Err(refused(&response, |code, text| unknown(code, text)));
        }
        protocol::pay_out_started(&parse(&response)?)
    }

    fn query_pay_out(request: PayOutQuery) -> Result<PayOutStatus, Failure> {
        let url = format!("{}/payouts/{}", setting("walletly_url")?, request.reference);
        let response =
            call(Method::Get, url, "walletly_api_key", None::<&()>).map_err(read_only)?;
        match response.status {
            200 => Ok(protocol::pay_out_status(
                &parse(&response).map_err(read_only)?,
            )),
            404 => Ok(PayOutStatus::NotFound),
            _ => Err(read_only(refused(&response, |code, text| {
                unknown(code, text)
            }))),
        }
    }

    fn query_pay_in(request: PayInQuery) -> Result<PayInStatus, Failure> {
        let url = format!(
            "{}/checkouts/{}",
            setting("paylink_url")?,
            request.reference
        );
        let response = call(Method::Get, url, "paylink_api_key", None::<&()>).map_err(read_only)?;
        match response.status {
            200 => Ok(protocol::pay_in_status(
                &parse(&response).map_err(read_only)?,
            )),
            404 => Ok(PayInStatus::NotFound),
            _ => Err(read_only(refused(&response, |code, text| {
                unknown(code, text)
            }))),
        }
    }

    fn refund_pay_in(request: RefundRequest) -> Result<RefundStarted, Failure> {
        refund(request).map(RefundStarted::Succeeded)
    }

    /// PayLink refunds are idempotent by reference: asking again answers
    /// with the refund made, and makes no second one.
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
        match refund(request) {
            Ok(receipt) => Ok(RefundStatus::Succeeded(receipt)),
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

fn refund(request: RefundRequest) -> Result<RefundReceipt, Failure> {
    {
        let body = NewRefund {
            checkout_reference: request.pay_in_reference,
            reference: request.reference,
            amount_minor: request.amount.amount_minor,
            currency: request.amount.currency,
        };
        let url = format!("{}/refunds", setting("paylink_url")?);
        let response = call(Method::Post, url, "paylink_api_key", Some(&body))?;
        if !(200..300).contains(&response.status) {
            // Refunds are idempotent by reference: asking again is safe.
            return Err(refused(&response, |code, text| retryable(code, text)));
        }
        let done: protocol::RefundDone = parse(&response).map_err(read_only)?;
        Ok(RefundReceipt {
            reference: done.reference,
            amount: money(done.amount_minor, &done.currency),
            details: vec![("refund_id".into(), done.refund_id)],
        })
    }
}

corridor_connector_kit::export!(PaylinkWalletly with_types_in corridor_connector_kit::bindings);
