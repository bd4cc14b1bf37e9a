//! M-PESA Express (Daraja's STK push): the payer gets a prompt on the handset
//! and enters the M-PESA PIN (payment-apis.md §1.8).
//!
//! 1. [`push_request`] / [`push_parse`]: `processrequest` with an OAuth token
//!    ([`crate::oauth::request_for`]); Daraja answers with a `CheckoutRequestID`.
//! 2. [`callback`]: the `stkCallback` POSTed to `CallBackURL` once the payer
//!    acted; answer it with [`callback_reply`].
//! 3. [`query_request`] / [`query_parse`]: `stkpushquery`, for a callback that
//!    never came (Daraja does not retry callbacks, §1.10).
//!
//! A push has no idempotency key: Daraja names it only in its answer, so a
//! push whose answer was lost cannot be queried. The callback, on the
//! transfer's own URL, still tells.

use base64::Engine as _;

use crate::Rejection;
use crate::messages::DarajaError;
use crate::msisdn::is_canonical as is_msisdn;
use crate::pay_in::{
    ExpressSettings, PaidIn, PayInOutcome, Unreadable, reported_cents, timestamp, whole_shillings,
};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{Failure, Money, Reply};
use corridor_connector_kit::failure::{failed, read_only, retryable, unknown};
use corridor_connector_kit::money::format_whole;

#[path = "express_messages.rs"]
pub mod messages;

use messages::{
    StkCallbackBody, StkPushAcknowledgement, StkPushRequest, StkQueryAnswer, StkQueryRequest,
};

/// Longest `AccountReference` Daraja takes.
pub const ACCOUNT_REFERENCE_MAX_CHARS: usize = 12;
/// Longest `TransactionDesc` Daraja takes.
pub const DESCRIPTION_MAX_CHARS: usize = 13;

/// STK result codes that mean no money moved and none will for this push
/// (payment-apis.md §1.8). Any other non-zero code stays `unknown`.
const DEFINITIVE_FAILURES: &[&str] = &[
    "1",    // insufficient balance
    "2",    // below the minimum
    "3",    // above the maximum
    "4",    // the daily limit
    "8",    // the payer's maximum balance
    "17",   // the same amount to the same customer within 2 minutes
    "1001", // subscriber locked: another prompt is in progress
    "1019", // the request expired
    "1025", // the prompt could not be sent
    "9999", // the prompt could not be sent
    "1032", // cancelled by the payer
    "1037", // the payer's handset did not answer in time
    "2001", // wrong PIN
];

/// One pay-in to push.
#[derive(Debug, Clone)]
pub struct Push {
    /// The payer's MSISDN, canonical (`2547…`, `2541…`).
    pub payer_msisdn: String,
    /// Whole KES.
    pub amount: Money,
    /// Shown to the payer; 1 to 12 letters and digits.
    pub account_reference: String,
    /// Cut to 13 characters.
    pub description: String,
    /// The host's `notify-url`.
    pub callback_url: String,
}

/// An accepted push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// What the callback and the query name it by.
    pub checkout_request_id: String,
    /// Daraja's id of the merchant request.
    pub merchant_request_id: String,
    /// What the merchant may show the payer.
    pub customer_message: String,
}

/// `base64(BusinessShortCode + Passkey + Timestamp)`: no hash, unlike the
/// SOAP checkout's (mobile-money-apis.md §4.3).
pub fn password(settings: &ExpressSettings, timestamp: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!(
        "{}{}{timestamp}",
        settings.shortcode, settings.passkey
    ))
}

/// The push. What Daraja would refuse is refused here, before anything is sent.
pub fn push_request(
    settings: &ExpressSettings,
    token: &str,
    push: &Push,
    now_ms: u64,
) -> Result<Request, Failure> {
    let amount_cents = whole_shillings(&push.amount)?;
    if !is_msisdn(&push.payer_msisdn) {
        return Err(failed(
            "400.002.02",
            format!("Bad Request - Invalid PhoneNumber: {:?}", push.payer_msisdn),
        ));
    }
    let reference = &push.account_reference;
    if reference.is_empty()
        || reference.chars().count() > ACCOUNT_REFERENCE_MAX_CHARS
        || !reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(failed(
            "400.002.02",
            format!(
                "Bad Request - Invalid AccountReference: {reference:?} (1 to 12 letters and digits)"
            ),
        ));
    }
    let timestamp = timestamp(now_ms);
    let body = StkPushRequest {
        business_short_code: settings.shortcode.clone(),
        password: password(settings, &timestamp),
        timestamp,
        transaction_type: settings.transaction_type.as_str().to_string(),
        amount: format_whole(amount_cents),
        party_a: push.payer_msisdn.clone(),
        party_b: settings.party_b.clone(),
        phone_number: push.payer_msisdn.clone(),
        call_back_url: push.callback_url.clone(),
        account_reference: reference.clone(),
        transaction_desc: described(&push.description),
    };
    Ok(post(
        settings,
        token,
        "/mpesa/stkpush/v1/processrequest",
        &body,
    ))
}

fn described(description: &str) -> String {
    let cut: String = description.chars().take(DESCRIPTION_MAX_CHARS).collect();
    if cut.trim().is_empty() {
        "Payment".into()
    } else {
        cut
    }
}

fn post(
    settings: &ExpressSettings,
    token: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> Request {
    Request {
        method: Method::Post,
        url: format!("{}{path}", settings.app.base_url),
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body: serde_json::to_vec(body).expect("a struct of strings always serializes"),
        timeout_ms: None,
    }
}

/// Reads the push's answer. A refusal names no `CheckoutRequestID`, so no
/// prompt can be paid against it: 5xx and throttling are `retryable`.
pub fn push_parse(response: &Response) -> Result<Pushed, Rejection> {
    if response.status != 200 {
        return Err(refusal(response, Call::Push));
    }
    let acknowledgement: StkPushAcknowledgement =
        serde_json::from_slice(&response.body).map_err(|error| {
            Rejection::Failed(unknown(
                "bad-response",
                format!("the push acknowledgement is not understood: {error}"),
            ))
        })?;
    let code = acknowledgement.response_code.unwrap_or_default();
    if code != "0" {
        return Err(Rejection::Failed(failed(
            &code,
            acknowledgement.response_description,
        )));
    }
    if acknowledgement.checkout_request_id.trim().is_empty() {
        return Err(Rejection::Failed(unknown(
            "bad-response",
            "the push was accepted without a CheckoutRequestID",
        )));
    }
    Ok(Pushed {
        checkout_request_id: acknowledgement.checkout_request_id,
        merchant_request_id: acknowledgement.merchant_request_id,
        customer_message: acknowledgement.customer_message,
    })
}

/// Which call a refusal answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Push,
    Query,
}

/// Daraja's error envelope as a rejection. `500.001.1001` is several things:
/// "Unable to lock subscriber" (a prompt already in progress) is retryable;
/// "Wrong credentials" and "Merchant does not exist" are not; on the query,
/// "being processed" is no error at all (handled by the caller).
fn refusal(response: &Response, call: Call) -> Rejection {
    let Ok(envelope) = serde_json::from_slice::<DarajaError>(&response.body) else {
        let code = format!("http-{}", response.status);
        return Rejection::Failed(if response.status >= 500 {
            retryable(&code, "Daraja answered with a server error and no envelope")
        } else {
            failed(&code, "Daraja refused the request with no envelope")
        });
    };
    let (code, message) = (envelope.error_code.as_str(), envelope.error_message);
    let failure = match code {
        "404.001.03" | "401.002.01" | "400.003.01" => return Rejection::TokenRejected,
        "500.001.1001" if message.to_ascii_lowercase().contains("lock") => retryable(code, message),
        "500.001.1001" => failed(code, message),
        _ if code.starts_with('5') || response.status >= 500 => retryable(code, message),
        _ => failed(code, message),
    };
    Rejection::Failed(match call {
        Call::Push => failure,
        Call::Query => read_only(failure),
    })
}

/// The query for a push whose callback never came.
pub fn query_request(
    settings: &ExpressSettings,
    token: &str,
    checkout_request_id: &str,
    now_ms: u64,
) -> Request {
    let timestamp = timestamp(now_ms);
    let body = StkQueryRequest {
        business_short_code: settings.shortcode.clone(),
        password: password(settings, &timestamp),
        timestamp,
        checkout_request_id: checkout_request_id.to_string(),
    };
    post(settings, token, "/mpesa/stkpushquery/v1/query", &body)
}

/// Reads the query's answer: `Ok` is what Daraja says of the push, `Err`
/// that the query itself failed (ask again; refresh the token first when
/// it was refused).
///
/// The answer names no receipt and no amount: a paid push is reported with
/// the amount pushed, which is the amount charged (the payer only enters a
/// PIN; the prompt's amount cannot be changed).
pub fn query_parse(
    response: &Response,
    checkout_request_id: &str,
    push: &Push,
) -> Result<PayInOutcome, Rejection> {
    if response.status != 200 {
        if let Ok(envelope) = serde_json::from_slice::<DarajaError>(&response.body)
            && envelope.error_code == "500.001.1001"
            && envelope
                .error_message
                .to_ascii_lowercase()
                .contains("being processed")
        {
            return Ok(PayInOutcome::Pending);
        }
        return Err(refusal(response, Call::Query));
    }
    let answer: StkQueryAnswer = serde_json::from_slice(&response.body).map_err(|error| {
        Rejection::Failed(retryable(
            "bad-response",
            format!("the query's answer is not understood: {error}"),
        ))
    })?;
    if !answer.checkout_request_id.is_empty() && answer.checkout_request_id != checkout_request_id {
        return Err(Rejection::Failed(retryable(
            "bad-response",
            "the query's answer names another CheckoutRequestID",
        )));
    }
    let Some(code) = answer.result_code.filter(|code| !code.is_empty()) else {
        return Ok(PayInOutcome::Pending);
    };
    if code != "0" {
        return Ok(PayInOutcome::Failed(result_failure(
            &code,
            &answer.result_desc,
        )));
    }
    Ok(PayInOutcome::Paid(PaidIn {
        receipt: None,
        amount_cents: push.amount.amount_minor,
        msisdn: Some(push.payer_msisdn.clone()),
        account_reference: None,
        provider_reference: checkout_request_id.to_string(),
    }))
}

/// An STK result code other than `0` as a failure: definitive for the codes
/// that say the payer did not pay, `unknown` for any other.
pub fn result_failure(code: &str, description: &str) -> Failure {
    if DEFINITIVE_FAILURES.contains(&code) {
        failed(code, description.to_string())
    } else {
        unknown(
            code,
            format!("STK result {code} is not understood as final: {description}"),
        )
    }
}

/// What a callback says of which push.
#[derive(Debug, Clone)]
pub struct Notified {
    /// The push it is about.
    pub checkout_request_id: String,
    /// Its merchant request.
    pub merchant_request_id: String,
    /// What became of it.
    pub outcome: PayInOutcome,
}

/// Reads the `stkCallback`. A success must carry its amount and receipt;
/// one that does not establishes nothing (query instead).
pub fn callback(body: &[u8]) -> Result<Notified, Unreadable> {
    let body: StkCallbackBody =
        serde_json::from_slice(body).map_err(|error| Unreadable::Malformed(error.to_string()))?;
    let callback = body.body.stk_callback;
    let checkout_request_id = callback.checkout_request_id.trim().to_string();
    if checkout_request_id.is_empty() {
        return Err(Unreadable::Missing("CheckoutRequestID"));
    }
    let code = callback
        .result_code
        .clone()
        .ok_or(Unreadable::Missing("ResultCode"))?;
    let outcome = if code == "0" {
        let amount = callback
            .item("Amount")
            .ok_or(Unreadable::Missing("Amount"))?;
        let receipt = callback
            .item("MpesaReceiptNumber")
            .ok_or(Unreadable::Missing("MpesaReceiptNumber"))?;
        PayInOutcome::Paid(PaidIn {
            receipt: Some(receipt),
            amount_cents: reported_cents("Amount", &amount)?,
            msisdn: callback.item("PhoneNumber"),
            account_reference: None,
            provider_reference: checkout_request_id.clone(),
        })
    } else {
        PayInOutcome::Failed(result_failure(&code, &callback.result_desc))
    };
    Ok(Notified {
        checkout_request_id,
        merchant_request_id: callback.merchant_request_id,
        outcome,
    })
}

/// The reply to a callback. Daraja specifies none (any 2xx, inferred from
/// mobile-money-apis.md §4.5); this is the B2C callbacks' reply.
pub fn callback_reply() -> Reply {
    crate::callback::reply()
}

#[cfg(test)]
#[path = "express_tests.rs"]
mod tests;
