//! C2B Paybill: a customer pays the organisation's shortcode with an account
//! number (our reference), M-PESA asks us to validate it, completes it, and
//! confirms it. Three forms of the same messages:
//!
//! | form | register | validation / confirmation | MSISDN as sent |
//! |---|---|---|---|
//! | `daraja-v1` | `POST /mpesa/c2b/v1/registerurl` (JSON) | JSON | SHA-256 hex |
//! | `daraja-v2` | `POST /mpesa/c2b/v2/registerurl` (JSON) | JSON | masked, `2547 ***** 126` |
//! | `soap` | the broker's `/mminterface/registerURL` (seed 003) | SOAP, `RequestSOAPHeader` signed with `spPassword` | plain |
//!
//! - [`register`]: RegisterURL in each form, and its answer.
//! - [`notification`]: the validation and confirmation requests, read into
//!   one [`C2bPayment`].
//! - [`reply`]: accept or reject a validation ([`Rejection`] picks the
//!   code), and acknowledge a confirmation.
//! - [`status`]: Transaction Status for a receipt, read into [`C2bStatus`].
//! - [`soap`]: the broker's envelope and `spPassword`.
//!
//! The confirmation is not proof of payment (it is unsigned in the JSON forms
//! and "has no effect in the processing of the transaction", seed 003): a
//! connector confirms the receipt with [`status`] before releasing value.

pub mod notification;
pub mod register;
pub mod reply;
pub mod soap;
pub mod status;

use corridor_connector_kit::bindings::corridor::connector::types::{Failure, Setting};
use corridor_connector_kit::failure::misconfigured;
use corridor_connector_kit::settings::Settings;

/// Which form of the C2B interface the organisation is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum C2bForm {
    /// Daraja JSON, v1 URLs: the MSISDN arrives hashed.
    DarajaV1,
    /// Daraja JSON, v2 URLs: the MSISDN arrives masked.
    DarajaV2,
    /// The G2 broker's SOAP interface of seed 003: the MSISDN arrives plain.
    Soap,
}

impl C2bForm {
    /// Reads `mpesa_c2b_form`.
    pub fn parse(text: &str) -> Option<C2bForm> {
        match text {
            "daraja-v1" => Some(C2bForm::DarajaV1),
            "daraja-v2" => Some(C2bForm::DarajaV2),
            "soap" => Some(C2bForm::Soap),
            _ => None,
        }
    }
}

/// What M-PESA does with a payment when our validation URL cannot be reached
/// (about 8 s): the `ResponseType` registered with the URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// Complete it anyway.
    Completed,
    /// Cancel it: the customer keeps the money.
    Cancelled,
}

impl ResponseType {
    /// The word on the wire, sentence case as Daraja requires.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Completed => "Completed",
            ResponseType::Cancelled => "Cancelled",
        }
    }
}

/// The broker's credentials for the SOAP form: the same `spId` and password
/// sign RegisterURL and the notifications M-PESA sends us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpCredentials {
    /// `spId`, allocated by the broker.
    pub sp_id: String,
    /// The SP password: only its `spPassword` hash is ever sent.
    pub sp_password: String,
    /// `serviceId`, when the broker allocated one.
    pub service_id: Option<String>,
    /// The broker's RegisterURL endpoint, `…/mminterface/registerURL`.
    pub register_url: String,
}

/// What the policy grants for C2B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2bSettings {
    /// The form the organisation is registered for.
    pub form: C2bForm,
    /// The Paybill shortcode customers pay.
    pub shortcode: String,
    /// What M-PESA does when validation cannot be reached.
    pub response_type: ResponseType,
    /// The broker's credentials; `Some` exactly for the SOAP form.
    pub sp: Option<SpCredentials>,
}

impl C2bSettings {
    /// Reads the `mpesa_c2b_*` and `mpesa_paybill_shortcode` keys.
    pub fn from_settings(settings: &Settings<'_>) -> Result<C2bSettings, Failure> {
        let form_text = settings
            .optional("mpesa_c2b_form")
            .unwrap_or_else(|| "daraja-v2".into());
        let form = C2bForm::parse(&form_text).ok_or_else(|| {
            misconfigured(format!(
                "mpesa_c2b_form = {form_text:?}: use daraja-v1, daraja-v2 or soap"
            ))
        })?;
        let response_type = match settings.optional("mpesa_c2b_response_type").as_deref() {
            None | Some("Cancelled") => ResponseType::Cancelled,
            Some("Completed") => ResponseType::Completed,
            Some(other) => {
                return Err(misconfigured(format!(
                    "mpesa_c2b_response_type = {other:?}: use Completed or Cancelled"
                )));
            }
        };
        let sp = match form {
            C2bForm::Soap => Some(SpCredentials {
                sp_id: settings.required("mpesa_c2b_sp_id")?,
                sp_password: settings.required("mpesa_c2b_sp_password")?,
                service_id: settings.optional("mpesa_c2b_service_id"),
                register_url: settings.required("mpesa_c2b_register_url")?,
            }),
            C2bForm::DarajaV1 | C2bForm::DarajaV2 => None,
        };
        Ok(C2bSettings {
            form,
            shortcode: settings.required("mpesa_paybill_shortcode")?,
            response_type,
            sp,
        })
    }
}

/// `(name, secret, required, description)` of every key C2B reads.
const SETTINGS: &[(&str, bool, bool, &str)] = &[
    (
        "mpesa_c2b_form",
        false,
        false,
        "daraja-v2 (default), daraja-v1 or soap (the G2 broker of seed 003)",
    ),
    (
        "mpesa_paybill_shortcode",
        false,
        true,
        "the Paybill shortcode customers pay (BusinessShortCode)",
    ),
    (
        "mpesa_c2b_response_type",
        false,
        false,
        "Cancelled (default) or Completed: what M-PESA does when validation cannot be reached",
    ),
    (
        "mpesa_c2b_sp_id",
        false,
        false,
        "the broker's spId; required for the soap form",
    ),
    (
        "mpesa_c2b_sp_password",
        true,
        false,
        "the broker's SP password, hashed into spPassword; required for the soap form",
    ),
    (
        "mpesa_c2b_service_id",
        false,
        false,
        "the broker's serviceId, when it allocated one",
    ),
    (
        "mpesa_c2b_register_url",
        false,
        false,
        "the broker's RegisterURL endpoint (…/mminterface/registerURL); required for the soap form",
    ),
];

/// The settings C2B reads, for a connector's descriptor.
pub fn settings() -> Vec<Setting> {
    SETTINGS
        .iter()
        .map(|&(name, secret, required, description)| Setting {
            name: name.to_string(),
            secret,
            required,
            description: description.to_string(),
        })
        .collect()
}

/// A customer's Paybill payment, as a validation or confirmation request
/// names it, whatever the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2bPayment {
    /// M-PESA's receipt (`TransID`).
    pub trans_id: String,
    /// `Pay Bill`, `PayBill`, `CustomerPayBillOnline`, … as sent.
    pub trans_type: String,
    /// `yyyyMMddHHmmss`, East Africa Time.
    pub trans_time: String,
    /// The amount, KES cents.
    pub amount_cents: i64,
    /// The shortcode paid.
    pub business_short_code: String,
    /// The account number the customer typed: our reference.
    pub bill_ref_number: String,
    /// The customer's MSISDN as sent: SHA-256 hex (v1), masked (v2) or plain
    /// (SOAP). Only the plain form identifies a customer.
    pub msisdn: String,
    /// The customer's names, joined; empty when none were sent.
    pub payer_name: String,
    /// The organisation's balance after the payment, KES cents: confirmations
    /// only (and not always filled in).
    pub org_account_balance: Option<i64>,
}

/// Why we refuse a payment at validation; each has its result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The account number names nothing of ours (`C2B00012`).
    UnknownAccount,
    /// The amount is not what the account expects (`C2B00013`).
    WrongAmount,
    /// The account exists but is not waiting for a payment now: paid
    /// already, expired (`C2B00012`, as Safaricom has no closer code).
    NotAwaitingPayment,
    /// Anything else (`C2B00016`).
    Other,
}

impl Rejection {
    /// The `ResultCode` of the validation reply (mobile-money notes §3.2).
    pub fn code(self) -> &'static str {
        match self {
            Rejection::UnknownAccount | Rejection::NotAwaitingPayment => "C2B00012",
            Rejection::WrongAmount => "C2B00013",
            Rejection::Other => "C2B00016",
        }
    }

    /// The `ResultDesc`, for M-PESA's log.
    pub fn description(self) -> &'static str {
        match self {
            Rejection::UnknownAccount => "Invalid Account number",
            Rejection::NotAwaitingPayment => "Account is not awaiting a payment",
            Rejection::WrongAmount => "Invalid Amount",
            Rejection::Other => "Other Error",
        }
    }
}

/// What Transaction Status says of a C2B receipt (or of a reversal).
#[derive(Debug, Clone)]
pub enum C2bStatus {
    /// The transaction completed.
    Completed {
        /// Its receipt.
        receipt: String,
        /// Its amount, KES cents.
        amount_cents: i64,
        /// The paying party as M-PESA names it: `254708374149 - John Doe`.
        debit_party: String,
        /// The receiving party: `600984 - Organisation`.
        credit_party: String,
        /// `yyyyMMddHHmmss`, when it completed.
        finalised_time: String,
    },
    /// It completed and was reversed since: the money is back with the payer.
    Reversed,
    /// M-PESA knows no such transaction (the query's acknowledgement said
    /// `404.003.01`).
    NotFound,
    /// Not final yet: ask again later.
    Pending,
    /// `failed`: it was cancelled, declined or expired, and no money moved.
    /// `retryable`: the query itself failed (its credential, throttling) and
    /// nothing is known: ask again.
    Failed(Failure),
}

/// Why a C2B message establishes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C2bError {
    /// Not the message expected, or not parseable: the parser's reason.
    #[error("not a C2B message: {0}")]
    Malformed(String),
    /// A field that must be there is missing or blank.
    #[error("no {0}")]
    Missing(&'static str),
    /// A SOAP message without the broker's `RequestSOAPHeader`.
    #[error("the SOAP message is not signed (no RequestSOAPHeader)")]
    Unsigned,
    /// A SOAP message whose `spPassword` is not ours: a forgery.
    #[error("the spPassword does not match: a forgery")]
    Forged,
    /// For another organisation's shortcode.
    #[error("the payment is to shortcode {0}, not ours")]
    WrongShortcode(String),
    /// An amount that is not a positive decimal with at most two places.
    #[error("{0:?} is not an amount")]
    BadAmount(String),
}
