//! Lipa Na M-PESA Online Checkout: the SAG's SOAP API (seed 004), the
//! predecessor of Daraja's STK push (mobile-money-apis.md §4.5).
//!
//! 1. [`process_request`] / [`process_parse`]: `processCheckOut` registers
//!    the transaction; the SAG answers with its `TRX_ID` and `CUST_MSG`, the
//!    text to show the payer. No prompt yet, no money.
//! 2. [`confirm_request`] / [`confirm_parse`]: `confirmTransaction` sends the
//!    payer the USSD prompt (Bonga PIN).
//! 3. [`callback`]: the SAG calls `CALL_BACK_URL` when M-PESA is done, as
//!    a SOAP `ResultMsg`, a GET or a POST; answer with [`callback_reply`].
//! 4. [`status_request`] / [`status_parse`]: `transactionStatusQuery`, for a
//!    callback that never came.
//!
//! One SOAP endpoint serves all three operations; every request carries the
//! `CheckOutHeader` with a fresh password.

pub mod codes;
pub mod messages;
mod notification;

#[cfg(test)]
mod tests;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::msisdn::is_canonical as is_msisdn;
use crate::pay_in::{CheckoutSettings, timestamp, whole_shillings};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{Failure, Money, Reply};
use corridor_connector_kit::failure::{failed, read_only, retryable, unknown};
use corridor_connector_kit::money::format_whole;
use messages::{
    CheckOutHeader, ConfirmBody, ProcessCheckOutBody, ProcessCheckOutRequest, ReplyContent,
    ReplyEnvelope, RequestEnvelope, RequestHeader, SOAP_ENVELOPE_NS, StatusBody, TARGET_NS,
    TransactionRequest,
};
pub use notification::{Notified, callback};

/// One pay-in to register.
#[derive(Debug, Clone)]
pub struct Order {
    /// Our pay-in reference (`MERCHANT_TRANSACTION_ID`).
    pub merchant_transaction_id: String,
    /// What is paid for (`REFERENCE_ID`).
    pub reference_id: String,
    /// Whole KES.
    pub amount: Money,
    /// The payer's MSISDN, canonical.
    pub payer_msisdn: String,
    /// The host's `notify-url`.
    pub callback_url: String,
    /// Echoed back by the SAG (`ENC_PARAMS`); empty for none.
    pub enc_params: String,
}

/// A registered transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The SAG's id, which confirm and the status query name.
    pub trx_id: String,
    /// What to show the payer (`CUST_MSG`): how to complete the payment.
    pub customer_message: String,
}

/// `base64(lowercase_hex(sha256(MERCHANT_ID + passkey + TIMESTAMP)))`.
///
/// Seed 004 says `base64_encode(hash("sha256", …))` and that the hash should
/// be "in capital letters"; its own sample decodes to 64 lower-case hex
/// characters (mobile-money-apis.md §4.3), so it is base64 of the hex text,
/// in lower case.
pub fn password(merchant_id: &str, passkey: &str, timestamp: &str) -> String {
    let digest = Sha256::digest(format!("{merchant_id}{passkey}{timestamp}"));
    base64::engine::general_purpose::STANDARD.encode(hex::encode(digest))
}

fn header(settings: &CheckoutSettings, now_ms: u64) -> RequestHeader {
    let timestamp = timestamp(now_ms);
    RequestHeader {
        check_out_header: CheckOutHeader {
            merchant_id: settings.merchant_id.clone(),
            password: password(&settings.merchant_id, &settings.passkey, &timestamp),
            timestamp,
        },
    }
}

fn soap<B: serde::Serialize>(
    settings: &CheckoutSettings,
    header: RequestHeader,
    body: B,
) -> Request {
    let envelope = RequestEnvelope {
        soapenv: SOAP_ENVELOPE_NS,
        tns: TARGET_NS,
        header,
        body,
    };
    let xml =
        quick_xml::se::to_string(&envelope).expect("an envelope of strings always serializes");
    Request {
        method: Method::Post,
        url: settings.url.clone(),
        headers: vec![
            // SOAP 1.1 over HTTP with `soapAction=""` (the WSDL binding, §4.1).
            ("content-type".into(), "text/xml; charset=utf-8".into()),
            ("soapaction".into(), "\"\"".into()),
        ],
        body: xml.into_bytes(),
        timeout_ms: None,
    }
}

/// `processCheckOut`. What the SAG would refuse (`31`, `41`) is refused here.
pub fn process_request(
    settings: &CheckoutSettings,
    order: &Order,
    now_ms: u64,
) -> Result<Request, Failure> {
    let amount_cents = whole_shillings(&order.amount)?;
    if !is_msisdn(&order.payer_msisdn) {
        return Err(failed(
            "41",
            format!("MSISDN is in incorrect format: {:?}", order.payer_msisdn),
        ));
    }
    if order.merchant_transaction_id.trim().is_empty() || order.reference_id.trim().is_empty() {
        return Err(failed("30", "the request is missing a reference"));
    }
    let header = header(settings, now_ms);
    let body = ProcessCheckOutBody {
        request: ProcessCheckOutRequest {
            merchant_transaction_id: order.merchant_transaction_id.clone(),
            reference_id: order.reference_id.clone(),
            amount: format_whole(amount_cents),
            msisdn: order.payer_msisdn.clone(),
            enc_params: order.enc_params.clone(),
            call_back_url: order.callback_url.clone(),
            call_back_method: settings.callback_method.as_str().to_string(),
            timestamp: header.check_out_header.timestamp.clone(),
        },
    };
    Ok(soap(settings, header, body))
}

/// How a failure to get an answer is read, by operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    /// Registers only: no prompt, no money; a server error is retryable.
    Process,
    /// Sends the prompt: a server error may hide a sent prompt.
    Confirm,
    /// Reads: never worse than retryable.
    Status,
}

/// The reply's body element, or why there is none.
fn reply(response: &Response, operation: Operation) -> Result<ReplyContent, Failure> {
    let text = String::from_utf8_lossy(&response.body);
    let envelope: Result<ReplyEnvelope, _> = quick_xml::de::from_str(&text);
    let failure = match envelope {
        Ok(envelope) => match envelope.body.content {
            ReplyContent::Fault(fault) => {
                let code = fault.faultcode.unwrap_or_default();
                let reason = fault.faultstring.unwrap_or_default();
                if code.ends_with("Client") {
                    failed("soap-client-fault", reason)
                } else {
                    server_failure("soap-server-fault", reason, operation)
                }
            }
            content if response.status < 300 => return Ok(content),
            _ => server_failure(
                &format!("http-{}", response.status),
                "an error status",
                operation,
            ),
        },
        Err(error) if response.status >= 500 || response.status == 429 => server_failure(
            &format!("http-{}", response.status),
            format!("no SOAP envelope: {error}"),
            operation,
        ),
        Err(error) if response.status >= 300 => failed(
            &format!("http-{}", response.status),
            format!("no SOAP envelope: {error}"),
        ),
        Err(error) => unknown(
            "bad-response",
            format!("the reply is not understood: {error}"),
        ),
    };
    Err(match operation {
        Operation::Status => read_only(failure),
        _ => failure,
    })
}

fn server_failure(code: &str, reason: impl Into<String>, operation: Operation) -> Failure {
    match operation {
        Operation::Confirm => unknown(code, reason),
        Operation::Process | Operation::Status => retryable(code, reason),
    }
}

/// Reads `processCheckOutResponse`.
pub fn process_parse(response: &Response) -> Result<Processed, Failure> {
    let ReplyContent::ProcessCheckOut(answer) = reply(response, Operation::Process)? else {
        return Err(unknown("bad-response", "not a processCheckOutResponse"));
    };
    let code = answer.return_code.unwrap_or_default();
    if code.trim() != codes::SUCCESS {
        return Err(codes::request_failure(
            &code,
            &answer.description.unwrap_or_default(),
        ));
    }
    let trx_id = answer
        .trx_id
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| unknown("bad-response", "accepted without a TRX_ID"))?;
    Ok(Processed {
        trx_id: trx_id.trim().to_string(),
        customer_message: answer.cust_msg.unwrap_or_default(),
    })
}

fn transaction(trx_id: &str, merchant_transaction_id: &str) -> TransactionRequest {
    TransactionRequest {
        trx_id: trx_id.to_string(),
        merchant_transaction_id: merchant_transaction_id.to_string(),
    }
}

/// `confirmTransaction`: the payer's prompt goes out.
pub fn confirm_request(
    settings: &CheckoutSettings,
    trx_id: &str,
    merchant_transaction_id: &str,
    now_ms: u64,
) -> Request {
    let body = ConfirmBody {
        request: transaction(trx_id, merchant_transaction_id),
    };
    soap(settings, header(settings, now_ms), body)
}

/// Reads `transactionConfirmResponse`. A duplicate (`35`) says an earlier
/// confirm went through: `unknown`, so the host waits and queries.
pub fn confirm_parse(response: &Response, trx_id: &str) -> Result<(), Failure> {
    let ReplyContent::Confirm(answer) = reply(response, Operation::Confirm)? else {
        return Err(unknown("bad-response", "not a transactionConfirmResponse"));
    };
    let code = answer.return_code.unwrap_or_default();
    if code.trim() != codes::SUCCESS {
        return Err(codes::request_failure(
            &code,
            &answer.description.unwrap_or_default(),
        ));
    }
    match answer.trx_id.as_deref().map(str::trim) {
        Some(named) if !named.is_empty() && named != trx_id => Err(unknown(
            "bad-response",
            "the confirmation names another TRX_ID",
        )),
        _ => Ok(()),
    }
}

/// `transactionStatusQuery`, by the SAG's id and ours.
pub fn status_request(
    settings: &CheckoutSettings,
    trx_id: &str,
    merchant_transaction_id: &str,
    now_ms: u64,
) -> Request {
    let body = StatusBody {
        request: transaction(trx_id, merchant_transaction_id),
    };
    soap(settings, header(settings, now_ms), body)
}

/// Reads `transactionStatusResponse`: `Ok` is what the SAG says of the
/// transaction; `Err` that the query itself failed (downtime `29` is
/// retryable; an unknown `TRX_ID`, `12`, is failed).
pub fn status_parse(response: &Response, trx_id: &str) -> Result<Notified, Failure> {
    let ReplyContent::Status(result) = reply(response, Operation::Status)? else {
        return Err(retryable("bad-response", "not a transactionStatusResponse"));
    };
    let code = result.return_code.clone().unwrap_or_default();
    let has_status = result
        .trx_status
        .as_deref()
        .is_some_and(|status| !status.trim().is_empty());
    if !has_status {
        let failure =
            codes::request_failure(&code, result.description.as_deref().unwrap_or_default());
        return Err(read_only(failure));
    }
    let notified = notification::notified(&result)
        .map_err(|unreadable| retryable("bad-response", unreadable.to_string()))?;
    if notified.trx_id != trx_id {
        return Err(retryable("bad-response", "the status names another TRX_ID"));
    }
    Ok(notified)
}

/// The callback's acknowledgement: seed 004 asks the merchant to echo `ok`
/// or `success`.
pub fn callback_reply() -> Reply {
    Reply {
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: b"ok".to_vec(),
    }
}
