//! The validation and confirmation requests M-PESA sends to the registered
//! URLs, in the organisation's form, read into one [`C2bPayment`].
//!
//! The JSON forms are unsigned: only the host's secret path and the checks
//! here stand between a forger and a validation. The SOAP form carries the
//! broker's `RequestSOAPHeader`: a missing or wrong `spPassword` is a forgery.
//! The samples in seed 003 show an empty header; a broker that sends none
//! cannot be told from a forger, so the SOAP form refuses it.

use serde::Deserialize;

use super::soap::{self, Envelope};
use super::{C2bError, C2bForm, C2bPayment, C2bSettings};
use crate::messages::text_or_number;
use corridor_connector_kit::money::parse_minor;

/// Which of the two requests: the route it arrived on says, since the JSON
/// forms send the same body to both URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// Asks whether to complete the payment; the reply decides.
    Validation,
    /// Says the payment completed; the reply is only logged.
    Confirmation,
}

/// The Daraja JSON body (v1 and v2 alike; only the `MSISDN` differs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct JsonNotification {
    /// `Pay Bill`, `CustomerPayBillOnline`, …
    #[serde(deserialize_with = "text_or_number")]
    pub transaction_type: Option<String>,
    /// The receipt.
    #[serde(rename = "TransID", deserialize_with = "text_or_number")]
    pub trans_id: Option<String>,
    /// `yyyyMMddHHmmss`.
    #[serde(deserialize_with = "text_or_number")]
    pub trans_time: Option<String>,
    /// `"5.00"`.
    #[serde(deserialize_with = "text_or_number")]
    pub trans_amount: Option<String>,
    /// The shortcode paid.
    #[serde(deserialize_with = "text_or_number")]
    pub business_short_code: Option<String>,
    /// The account number.
    #[serde(deserialize_with = "text_or_number")]
    pub bill_ref_number: Option<String>,
    /// Reserved, blank.
    #[serde(deserialize_with = "text_or_number")]
    pub invoice_number: Option<String>,
    /// The organisation's balance after the payment; confirmations only.
    #[serde(deserialize_with = "text_or_number")]
    pub org_account_balance: Option<String>,
    /// Echo of the validation reply's, if any.
    #[serde(rename = "ThirdPartyTransID", deserialize_with = "text_or_number")]
    pub third_party_trans_id: Option<String>,
    /// Hashed (v1) or masked (v2).
    #[serde(rename = "MSISDN", deserialize_with = "text_or_number")]
    pub msisdn: Option<String>,
    /// The customer's names.
    #[serde(deserialize_with = "text_or_number")]
    pub first_name: Option<String>,
    /// The customer's names.
    #[serde(deserialize_with = "text_or_number")]
    pub middle_name: Option<String>,
    /// The customer's names.
    #[serde(deserialize_with = "text_or_number")]
    pub last_name: Option<String>,
}

/// `soapenv:Body` of a notification: one of the two WSDL elements.
#[derive(Debug, Deserialize)]
struct SoapBody {
    #[serde(rename = "$value")]
    operation: SoapOperation,
}

#[derive(Debug, Deserialize)]
enum SoapOperation {
    C2BPaymentValidationRequest(SoapPayment),
    C2BPaymentConfirmationRequest(SoapPayment),
}

/// The WSDL's fields, unqualified. `TransType` is the WSDL's name and
/// `TransactionType` the samples'; both are read.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(non_snake_case, reason = "the WSDL's element names")]
struct SoapPayment {
    TransType: Option<String>,
    TransactionType: Option<String>,
    TransID: String,
    TransTime: String,
    TransAmount: String,
    BusinessShortCode: String,
    BillRefNumber: String,
    OrgAccountBalance: Option<String>,
    MSISDN: String,
    KYCInfo: Vec<Kyc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
#[allow(non_snake_case, reason = "the WSDL's element names")]
struct Kyc {
    KYCName: String,
    KYCValue: String,
}

/// Reads a notification in `settings`' form and checks it is for our
/// shortcode with a real amount.
pub fn parse(
    settings: &C2bSettings,
    kind: NotificationKind,
    body: &[u8],
) -> Result<C2bPayment, C2bError> {
    let payment = match settings.form {
        C2bForm::DarajaV1 | C2bForm::DarajaV2 => from_json(body)?,
        C2bForm::Soap => from_soap(settings, kind, body)?,
    };
    if payment.business_short_code != settings.shortcode {
        return Err(C2bError::WrongShortcode(payment.business_short_code));
    }
    Ok(payment)
}

fn from_json(body: &[u8]) -> Result<C2bPayment, C2bError> {
    let json: JsonNotification =
        serde_json::from_slice(body).map_err(|error| C2bError::Malformed(error.to_string()))?;
    let required = |value: Option<String>, name: &'static str| {
        value
            .filter(|value| !value.trim().is_empty())
            .ok_or(C2bError::Missing(name))
    };
    let amount = required(json.trans_amount, "TransAmount")?;
    let names = [json.first_name, json.middle_name, json.last_name];
    Ok(C2bPayment {
        trans_id: required(json.trans_id, "TransID")?,
        trans_type: json.transaction_type.unwrap_or_default(),
        trans_time: required(json.trans_time, "TransTime")?,
        amount_cents: amount_cents(&amount)?,
        business_short_code: required(json.business_short_code, "BusinessShortCode")?,
        bill_ref_number: json.bill_ref_number.unwrap_or_default().trim().to_string(),
        msisdn: required(json.msisdn, "MSISDN")?,
        payer_name: joined(names.iter().flatten().map(String::as_str)),
        org_account_balance: balance(json.org_account_balance),
    })
}

fn from_soap(
    settings: &C2bSettings,
    kind: NotificationKind,
    body: &[u8],
) -> Result<C2bPayment, C2bError> {
    let envelope: Envelope<SoapBody> = soap::read(body).map_err(C2bError::Malformed)?;
    let sp = settings.sp.as_ref().ok_or(C2bError::Malformed(
        "no SP credentials for the soap form".into(),
    ))?;
    let header = envelope.request_header().ok_or(C2bError::Unsigned)?;
    if !header.verifies(sp) {
        return Err(C2bError::Forged);
    }
    let payment = match (envelope.body.operation, kind) {
        (SoapOperation::C2BPaymentValidationRequest(payment), NotificationKind::Validation)
        | (SoapOperation::C2BPaymentConfirmationRequest(payment), NotificationKind::Confirmation) => {
            payment
        }
        (_, kind) => {
            return Err(C2bError::Malformed(format!(
                "a {kind:?} route received the other request"
            )));
        }
    };
    let required = |value: String, name: &'static str| {
        let value = value.trim().to_string();
        if value.is_empty() {
            Err(C2bError::Missing(name))
        } else {
            Ok(value)
        }
    };
    let kyc = |name: &str| {
        payment
            .KYCInfo
            .iter()
            .find(|info| info.KYCName.ends_with(&format!("[{name}]")))
            .map(|info| info.KYCValue.trim())
    };
    let payer_name = joined(
        ["First Name", "Middle Name", "Last Name"]
            .into_iter()
            .filter_map(kyc),
    );
    Ok(C2bPayment {
        amount_cents: amount_cents(&payment.TransAmount)?,
        trans_type: payment
            .TransactionType
            .or(payment.TransType)
            .unwrap_or_default(),
        trans_id: required(payment.TransID, "TransID")?,
        trans_time: required(payment.TransTime, "TransTime")?,
        business_short_code: required(payment.BusinessShortCode, "BusinessShortCode")?,
        bill_ref_number: payment.BillRefNumber.trim().to_string(),
        msisdn: required(payment.MSISDN, "MSISDN")?,
        payer_name,
        org_account_balance: balance(payment.OrgAccountBalance),
    })
}

/// A positive amount with at most two decimals, as cents.
fn amount_cents(text: &str) -> Result<i64, C2bError> {
    parse_minor(text)
        .filter(|cents| *cents > 0)
        .ok_or_else(|| C2bError::BadAmount(text.to_string()))
}

/// The balance, when one is filled in (Daraja sends `""` in v2 samples).
fn balance(text: Option<String>) -> Option<i64> {
    text.and_then(|text| parse_minor(&text))
}

fn joined<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "notification_tests.rs"]
mod tests;
