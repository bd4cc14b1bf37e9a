//! `GET /disbursement/v1_0/transfer/{referenceId}`: 200 for every transfer
//! MoMo has, failed ones included (the `status` says which); 404 for an id it
//! never received.

use super::amount::from_wire;
use super::messages::{TransferResult, TransferStatus};
use super::transfer::reference_id;
use super::{MomoSettings, Rejection, rejection};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Failure, PayOutReceipt, PayOutStatus,
};
use corridor_connector_kit::failure::{failed, read_only, retryable};
use corridor_connector_kit::money::money;

/// What MoMo says of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It has the transfer, in this state.
    Found(Box<TransferResult>),
    /// 404: it never received a transfer with this id.
    NotFound,
}

/// The query, by the `X-Reference-Id` derived from our pay-out reference.
pub fn request(settings: &MomoSettings, token: &str, reference: &str) -> Request {
    Request {
        method: Method::Get,
        url: format!(
            "{}/disbursement/v1_0/transfer/{}",
            settings.base_url,
            reference_id(reference)
        ),
        headers: settings.product_headers(token),
        body: vec![],
        timeout_ms: None,
    }
}

/// Reads the answer. A status read changes nothing, so a lost or garbled one
/// is `retryable`.
pub fn parse(response: &Response) -> Result<Answer, Rejection> {
    match response.status {
        200 => serde_json::from_slice(&response.body)
            .map(|result| Answer::Found(Box::new(result)))
            .map_err(|error| {
                Rejection::Failed(retryable(
                    "bad-response",
                    format!("the transfer status is not understood: {error}"),
                ))
            }),
        404 => Ok(Answer::NotFound),
        _ => match rejection(response) {
            Rejection::Failed(failure) => Err(Rejection::Failed(read_only(failure))),
            Rejection::TokenRejected => Err(Rejection::TokenRejected),
        },
    }
}

/// The failure a `FAILED` transfer stands for: definitive, nothing was paid.
pub fn failure(result: &TransferResult) -> Failure {
    let (code, message) = match &result.reason {
        Some(reason) => (
            reason.code.as_str().to_string(),
            reason
                .message
                .clone()
                .unwrap_or_else(|| format!("MoMo failed the transfer: {}", reason.code.as_str())),
        ),
        None => (
            "FAILED".into(),
            "MoMo failed the transfer, no reason given".into(),
        ),
    };
    let code = if code.is_empty() {
        "FAILED".into()
    } else {
        code
    };
    failed(&code, message)
}

/// The host's view of a transfer MoMo reported, for the pay-out with
/// `reference`. `PENDING` and any undocumented status (`CREATED`) are
/// `pending`: ask again later.
pub fn to_pay_out_status(result: &TransferResult, reference: &str) -> PayOutStatus {
    match result.status {
        TransferStatus::Successful => match receipt(result, reference) {
            Ok(receipt) => PayOutStatus::Succeeded(receipt),
            // A success the rail cannot read is not yet a success it can
            // report; asking again is harmless.
            Err(_) => PayOutStatus::Pending,
        },
        TransferStatus::Failed => PayOutStatus::Failed(failure(result)),
        TransferStatus::Pending | TransferStatus::Unknown(_) => PayOutStatus::Pending,
    }
}

/// The receipt of a `SUCCESSFUL` transfer.
pub fn receipt(result: &TransferResult, reference: &str) -> Result<PayOutReceipt, Failure> {
    let bad = |what: &str| {
        retryable(
            "bad-response",
            format!("the successful transfer has {what}"),
        )
    };
    let currency = result.currency.clone().ok_or_else(|| bad("no currency"))?;
    let amount = result
        .amount
        .as_deref()
        .and_then(|amount| from_wire(amount, &currency))
        .ok_or_else(|| bad("no amount in its currency's units"))?;
    let payee = result.payee.as_ref().ok_or_else(|| bad("no payee"))?;
    let transaction_id = result
        .financial_transaction_id
        .clone()
        .ok_or_else(|| bad("no financialTransactionId"))?;
    Ok(PayOutReceipt {
        reference: reference.to_string(),
        provider_transaction_id: transaction_id.clone(),
        recipient: payee.party_id.clone(),
        amount: money(amount, &currency),
        fee: None,
        details: vec![
            ("financial_transaction_id".into(), transaction_id),
            ("reference_id".into(), reference_id(reference)),
            ("payee".into(), payee.party_id.clone()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::ReasonCode;
    use crate::testing::{response, settings};
    use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;

    fn found(body: &str) -> TransferResult {
        match parse(&response(200, body)) {
            Ok(Answer::Found(result)) => *result,
            other => panic!("{body} is a transfer, not {other:?}"),
        }
    }

    #[test]
    fn the_query_names_the_derived_reference_id() {
        let request = request(&settings(), "tok", "COR-t1-MOMO");
        assert!(request.url.ends_with(&format!(
            "/disbursement/v1_0/transfer/{}",
            reference_id("COR-t1-MOMO")
        )));
    }

    #[test]
    fn the_portal_example_with_numbers_for_strings_is_a_receipt() {
        // [OFF] portal example (momoapi.mtn.co.rw), verbatim.
        let result = found(
            r#"{ "amount": 100, "currency": "UGX", "financialTransactionId": 363440463, "externalId": 83453,
  "payee": { "partyIdType": "MSISDN", "partyId": 4609274685 }, "status": "SUCCESSFUL" }"#,
        );
        let PayOutStatus::Succeeded(receipt) = to_pay_out_status(&result, "COR-t1-MOMO") else {
            panic!("a successful transfer is a receipt");
        };
        assert_eq!(
            (
                receipt.amount.amount_minor,
                receipt.amount.currency.as_str()
            ),
            (100, "UGX")
        );
        assert_eq!(receipt.provider_transaction_id, "363440463");
        assert_eq!(receipt.recipient, "4609274685");
        assert_eq!(result.external_id.as_deref(), Some("83453"));
    }

    #[test]
    fn a_failure_reason_is_read_as_a_bare_string_or_an_object() {
        // [OFF] MTN community post, production shape, verbatim.
        let string = found(
            r#"{ "externalId": "c1f4687688585858a173f12", "amount": "500", "currency": "UGX",
  "payer": { "partyIdType": "MSISDN", "partyId": "25677000000" },
  "payerMessage": "Debit RequesttoPay", "payeeNote": "Debit  RequesttoPay",
  "status": "FAILED", "reason": "NOT_ENOUGH_FUNDS" }"#,
        );
        assert_eq!(
            string.reason.as_ref().map(|reason| &reason.code),
            Some(&ReasonCode::NotEnoughFunds)
        );
        let PayOutStatus::Failed(failure) = to_pay_out_status(&string, "r") else {
            panic!("FAILED is a failure");
        };
        assert_eq!(
            (failure.kind, failure.code.as_str()),
            (FailureKind::Failed, "NOT_ENOUGH_FUNDS")
        );
        let object = found(
            r#"{"status":"FAILED","reason":{"code":"PAYEE_NOT_FOUND","message":"Payee does not exist"}}"#,
        );
        let refused = super::failure(&object);
        assert_eq!(
            (refused.code.as_str(), refused.message.as_str()),
            ("PAYEE_NOT_FOUND", "Payee does not exist")
        );
        let novel = found(
            r#"{"status":"FAILED","reason":"LOW_BALANCE_OR_PAYEE_LIMIT_REACHED_OR_NOT_ALLOWED"}"#,
        );
        assert_eq!(
            super::failure(&novel).code,
            "LOW_BALANCE_OR_PAYEE_LIMIT_REACHED_OR_NOT_ALLOWED"
        );
    }

    #[test]
    fn pending_and_undocumented_statuses_are_pending_and_404_is_not_found() {
        let pending = found(
            r#"{"amount":"5.0","currency":"EUR","externalId":"x","payee":{"partyIdType":"MSISDN","partyId":"46733123454"},"status":"PENDING"}"#,
        );
        assert!(matches!(
            to_pay_out_status(&pending, "x"),
            PayOutStatus::Pending
        ));
        let created = found(r#"{"status":"CREATED"}"#);
        assert_eq!(created.status, TransferStatus::Unknown("CREATED".into()));
        assert!(matches!(
            to_pay_out_status(&created, "x"),
            PayOutStatus::Pending
        ));
        let missing = response(
            404,
            r#"{"code":"RESOURCE_NOT_FOUND","message":"Requested resource was not found."}"#,
        );
        assert_eq!(parse(&missing).expect("answer"), Answer::NotFound);
        let broken = parse(&response(500, "")).expect_err("500");
        assert!(
            matches!(broken, Rejection::Failed(failure) if failure.kind == FailureKind::Retryable)
        );
    }
}
