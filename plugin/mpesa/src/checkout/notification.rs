//! The SAG's word on a transaction: the merchant callback in its three forms
//! (seed 004 §Payment Notification: HTTP GET, HTTP POST, XML result message)
//! and the status query's answer, which carries the same fields.

use std::collections::BTreeMap;

use super::messages::{ReplyContent, ReplyEnvelope, TransactionResult};
use crate::pay_in::{PaidIn, PayInOutcome, Unreadable, reported_cents};
use corridor_connector_kit::bindings::corridor::connector::types::InboundRequest;
use corridor_connector_kit::failure::{failed, unknown};

/// What the SAG says of which transaction.
#[derive(Debug, Clone)]
pub struct Notified {
    /// The SAG's `TRX_ID`.
    pub trx_id: String,
    /// Ours, as echoed (`MERCHANT_TRANSACTION_ID`), when not empty.
    pub merchant_transaction_id: Option<String>,
    /// `ENC_PARAMS`, as echoed, when not empty.
    pub enc_params: Option<String>,
    /// What became of it.
    pub outcome: PayInOutcome,
}

/// Reads a callback in whichever form it came: a SOAP `ResultMsg` (a body
/// that starts with `<`), a GET query string, or a POST body of fields,
/// form-encoded or in the `NAME:value` lines seed 004 prints.
pub fn callback(request: &InboundRequest) -> Result<Notified, Unreadable> {
    let body = String::from_utf8_lossy(&request.body);
    let result = if request.method.eq_ignore_ascii_case("GET") || body.trim().is_empty() {
        from_fields(&form_fields(&request.query))
    } else if body.trim_start().starts_with('<') {
        from_xml(&body)?
    } else if is_colon_lines(&body) {
        from_fields(&colon_fields(&body))
    } else {
        from_fields(&form_fields(&body))
    };
    notified(&result)
}

/// A `ResultMsg` (or `transactionStatusResponse`) envelope.
pub(super) fn from_xml(body: &str) -> Result<TransactionResult, Unreadable> {
    let envelope: ReplyEnvelope =
        quick_xml::de::from_str(body).map_err(|error| Unreadable::Malformed(error.to_string()))?;
    match envelope.body.content {
        ReplyContent::Result(result) | ReplyContent::Status(result) => Ok(result),
        other => Err(Unreadable::Malformed(format!(
            "a SOAP body that is not a transaction result: {other:?}"
        ))),
    }
}

/// Seed 004's `NAME:value` lines: a line whose text before the first `:`
/// is a field name (upper case, `_`, `-`).
fn is_colon_lines(body: &str) -> bool {
    body.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, _)| {
            !name.trim().is_empty()
                && name
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c == '-')
        })
    })
}

fn colon_fields(body: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// A query string or form body. Seed 004's GET sample has stray spaces
/// around values (`MERCHANT_TRANSACTION_ID= FG232FT0`): every value is trimmed.
fn form_fields(text: &str) -> BTreeMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(text.trim())
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// The fields by seed 004's names; the WSDL's unhyphenated `MPESA_TRX_*`
/// are read too (§4.2).
fn from_fields(fields: &BTreeMap<String, String>) -> TransactionResult {
    let field = |names: &[&str]| names.iter().find_map(|name| fields.get(*name)).cloned();
    TransactionResult {
        msisdn: field(&["MSISDN"]),
        amount: field(&["AMOUNT"]),
        mpesa_trx_date: field(&["M-PESA_TRX_DATE", "MPESA_TRX_DATE"]),
        mpesa_trx_id: field(&["M-PESA_TRX_ID", "MPESA_TRX_ID"]),
        trx_status: field(&["TRX_STATUS"]),
        return_code: field(&["RETURN_CODE"]),
        description: field(&["DESCRIPTION"]),
        merchant_transaction_id: field(&["MERCHANT_TRANSACTION_ID"]),
        enc_params: field(&["ENC_PARAMS"]),
        trx_id: field(&["TRX_ID"]),
    }
}

/// A value that is there: not empty, not the samples' placeholders.
fn present(value: Option<&String>) -> Option<String> {
    value
        .map(|value| value.trim())
        .filter(|value| !value.is_empty() && *value != "null" && *value != "N/A")
        .map(str::to_string)
}

/// The outcome the fields establish. `TRX_STATUS` decides; `RETURN_CODE`
/// must agree with it. A `Failed` status is the SAG's final word whatever
/// the code (seed 004 gives the payer's cancellation and wrong PIN no code
/// of their own); `Error` and statuses not listed stay `unknown`.
pub(super) fn notified(result: &TransactionResult) -> Result<Notified, Unreadable> {
    let trx_id = present(result.trx_id.as_ref()).ok_or(Unreadable::Missing("TRX_ID"))?;
    let code = present(result.return_code.as_ref()).unwrap_or_default();
    let description = present(result.description.as_ref()).unwrap_or_default();
    let status = present(result.trx_status.as_ref()).ok_or(Unreadable::Missing("TRX_STATUS"))?;
    let outcome = match status.to_ascii_lowercase().as_str() {
        "success" if code == super::codes::SUCCESS => PayInOutcome::Paid(paid(result, &trx_id)?),
        "success" => {
            return Err(Unreadable::Contradictory(format!(
                "TRX_STATUS Success with RETURN_CODE {code:?}"
            )));
        }
        "pending" => PayInOutcome::Pending,
        "failed" if code == super::codes::SUCCESS => {
            return Err(Unreadable::Contradictory(
                "TRX_STATUS Failed with RETURN_CODE 00".into(),
            ));
        }
        "failed" => PayInOutcome::Failed(failed(&code, description)),
        _ => PayInOutcome::Failed(unknown(
            &code,
            format!("TRX_STATUS {status}: {description}"),
        )),
    };
    Ok(Notified {
        trx_id,
        merchant_transaction_id: present(result.merchant_transaction_id.as_ref()),
        enc_params: present(result.enc_params.as_ref()),
        outcome,
    })
}

fn paid(result: &TransactionResult, trx_id: &str) -> Result<PaidIn, Unreadable> {
    let amount = present(result.amount.as_ref()).ok_or(Unreadable::Missing("AMOUNT"))?;
    Ok(PaidIn {
        receipt: present(result.mpesa_trx_id.as_ref()),
        amount_cents: reported_cents("AMOUNT", &amount)?,
        msisdn: present(result.msisdn.as_ref()),
        account_reference: present(result.merchant_transaction_id.as_ref()),
        provider_reference: trx_id.to_string(),
    })
}
