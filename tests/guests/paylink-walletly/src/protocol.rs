//! PayLink's and Walletly's messages and rules, with no I/O: what the
//! component sends, and what it makes of the answers.

use corridor_connector_kit::bindings::corridor::connector::types::{
    Decimal, Failure, FxQuote, PayInReceipt, PayInStatus, PayOutReceipt, PayOutStarted,
    PayOutStatus, QuoteRequest, TransferDraft, TransferPlan,
};
use corridor_connector_kit::failure::{failed, unknown};
use corridor_connector_kit::money::{convert_half_up, money, parse_decimal};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The one currency each leg speaks.
pub const SEND_CURRENCY: &str = "EUR";
/// Walletly pays Ghana cedis.
pub const PAY_OUT_CURRENCY: &str = "GHS";

/// The recipient as Walletly takes it: `WL-` and eight digits. Accepts lower
/// case and a missing dash, as people type them.
pub fn wallet_account(text: &str) -> Result<String, String> {
    let upper = text.trim().to_ascii_uppercase();
    let digits = upper
        .strip_prefix("WL-")
        .or_else(|| upper.strip_prefix("WL"))
        .filter(|digits| digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()));
    match digits {
        Some(digits) => Ok(format!("WL-{digits}")),
        None => Err(format!(
            "{text:?} is not a Walletly account such as WL-12345678"
        )),
    }
}

/// The plan of a transfer: the account, and references derived from the
/// transfer id, so asking twice gives the same plan.
pub fn plan(draft: &TransferDraft) -> Result<TransferPlan, String> {
    let account = wallet_account(&draft.recipient)?;
    let tail = draft
        .transfer_id
        .strip_prefix("tr_")
        .unwrap_or(&draft.transfer_id)
        .to_ascii_uppercase();
    Ok(TransferPlan {
        pay_in_reference: format!("PL-{tail}"),
        pay_out_reference: format!("WP-{tail}"),
        refund_reference: format!("PLR-{tail}"),
        pay_in_details: vec![("checkout_reference".into(), format!("PL-{tail}"))],
        pay_out_details: vec![("wallet".into(), account.clone())],
        recipient: account,
        payer: None,
    })
}

/// A quote at the configured rate: the fee is added to what the payer pays.
pub fn quote(
    request: &QuoteRequest,
    rate_text: &str,
    fee_minor: i64,
    now_ms: u64,
    ttl_ms: u64,
) -> Result<FxQuote, Failure> {
    let rate: Decimal = parse_decimal(rate_text).ok_or_else(|| {
        failed(
            "misconfigured",
            format!("rate = {rate_text:?} is not a decimal"),
        )
    })?;
    let receive = convert_half_up(request.send.amount_minor, &rate)
        .ok_or_else(|| failed("amount-too-large", "the amount overflows at this rate"))?;
    Ok(FxQuote {
        send: request.send.clone(),
        pay_in: money(request.send.amount_minor + fee_minor, SEND_CURRENCY),
        receive: money(receive, PAY_OUT_CURRENCY),
        fee: money(fee_minor, SEND_CURRENCY),
        rate,
        pay_in_rate: Decimal {
            digits: 1,
            scale: 0,
        },
        expires_at_ms: now_ms + ttl_ms,
        rate_source: "paylink-walletly fixed rate".into(),
    })
}

// ---- PayLink ----

/// `POST /checkouts`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NewCheckout {
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
    pub notify_url: String,
    pub expires_at_ms: u64,
}

/// A checkout, as `POST /checkouts` and `GET /checkouts/{reference}` answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkout {
    pub checkout_id: String,
    pub reference: String,
    /// `open`, `paid` or `expired`.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub pay_url: String,
}

/// The payment notification PayLink POSTs to the notify URL.
#[derive(Debug, Serialize, Deserialize)]
pub struct Notification {
    /// `checkout.paid`.
    pub event: String,
    pub checkout_id: String,
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// `POST /refunds`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NewRefund {
    pub checkout_reference: String,
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// A refund, as `POST /refunds` answers.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefundDone {
    pub refund_id: String,
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// Whether `signature` (hex) is PayLink's HMAC-SHA256 of `body` under `secret`.
pub fn signed_by_paylink(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The receipt of a paid checkout.
pub fn pay_in_receipt(
    checkout_id: &str,
    reference: &str,
    amount_minor: i64,
    currency: &str,
) -> PayInReceipt {
    PayInReceipt {
        reference: reference.to_string(),
        provider_transaction_id: checkout_id.to_string(),
        amount: money(amount_minor, currency),
        charged: None,
        details: vec![("checkout_id".into(), checkout_id.to_string())],
    }
}

/// Where a checkout stands.
pub fn pay_in_status(checkout: &Checkout) -> PayInStatus {
    match checkout.status.as_str() {
        "paid" => PayInStatus::Succeeded(pay_in_receipt(
            &checkout.checkout_id,
            &checkout.reference,
            checkout.amount_minor,
            &checkout.currency,
        )),
        "expired" => PayInStatus::Failed(failed("expired", "the checkout expired unpaid")),
        _ => PayInStatus::AwaitingPayment,
    }
}

// ---- Walletly ----

/// `POST /payouts`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NewPayout {
    pub reference: String,
    pub account: String,
    pub amount_minor: i64,
    pub currency: String,
    pub callback_url: String,
}

/// A pay-out, as `POST /payouts`, `GET /payouts/{reference}` and the result
/// callback carry it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Payout {
    pub payout_id: String,
    pub reference: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    pub account: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Why it failed, when it did.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Walletly's error body (4xx).
#[derive(Debug, Serialize, Deserialize)]
pub struct WalletlyError {
    pub code: String,
    pub message: String,
}

/// The receipt of a completed pay-out.
pub fn pay_out_receipt(payout: &Payout) -> PayOutReceipt {
    PayOutReceipt {
        reference: payout.reference.clone(),
        provider_transaction_id: payout.payout_id.clone(),
        recipient: payout.account.clone(),
        amount: money(payout.amount_minor, &payout.currency),
        fee: None,
        details: vec![("payout_id".into(), payout.payout_id.clone())],
    }
}

fn payout_failure(payout: &Payout) -> Failure {
    failed(
        "payout-failed",
        payout
            .reason
            .clone()
            .unwrap_or_else(|| "Walletly failed the pay-out".into()),
    )
}

/// What `POST /payouts` answered.
pub fn pay_out_started(payout: &Payout) -> Result<PayOutStarted, Failure> {
    match payout.status.as_str() {
        "completed" => Ok(PayOutStarted::Succeeded(pay_out_receipt(payout))),
        "pending" => Ok(PayOutStarted::Accepted(
            corridor_connector_kit::bindings::corridor::connector::types::PayOutAccepted {
                provider_reference: payout.payout_id.clone(),
                details: vec![("payout_id".into(), payout.payout_id.clone())],
            },
        )),
        "failed" => Err(payout_failure(payout)),
        other => Err(unknown("bad-response", format!("pay-out status {other:?}"))),
    }
}

/// What `GET /payouts/{reference}` answered.
pub fn pay_out_status(payout: &Payout) -> PayOutStatus {
    match payout.status.as_str() {
        "completed" => PayOutStatus::Succeeded(pay_out_receipt(payout)),
        "failed" => PayOutStatus::Failed(payout_failure(payout)),
        _ => PayOutStatus::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_account_is_normalised_and_anything_else_refused() {
        assert_eq!(
            wallet_account(" wl-12345678 ").as_deref(),
            Ok("WL-12345678")
        );
        assert_eq!(wallet_account("WL12345678").as_deref(), Ok("WL-12345678"));
        for bad in [
            "",
            "254708374149",
            "WL-1234567",
            "WL-1234567X",
            "XX-12345678",
        ] {
            assert!(wallet_account(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_paylink_signature_is_checked_over_the_raw_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec").expect("any key length");
        mac.update(b"{}");
        let signature = hex::encode(mac.finalize().into_bytes());
        assert!(signed_by_paylink("whsec", b"{}", &signature));
        assert!(!signed_by_paylink("whsec", b"{ }", &signature));
        assert!(!signed_by_paylink("other", b"{}", &signature));
        assert!(!signed_by_paylink("whsec", b"{}", "not hex"));
    }
}
