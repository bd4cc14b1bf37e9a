//! Confirming a C2B payment with M-PESA before releasing value: Transaction
//! Status by receipt (`TransactionID`, `PartyA` the Paybill shortcode,
//! `IdentifierType` 4). The acknowledgement comes now
//! ([`crate::status::acknowledged`]), the answer later as a `Result` on the
//! query's `ResultURL`, read by [`result`].
//!
//! The same reader serves a reversal's status ([`crate::reversal::status_request`]):
//! `Completed` then means the reversal completed.

use super::{C2bError, C2bSettings, C2bStatus};
use crate::MpesaSettings;
use crate::messages::{ResultCallback, TransactionStatus};
use crate::status::{Query, Target, query_request};
use corridor_connector_kit::bindings::corridor::connector::http::Request;
use corridor_connector_kit::failure::{failed, retryable};
use corridor_connector_kit::money::parse_minor;

/// Where the answer goes.
pub struct Callbacks<'a> {
    /// The query's `ResultURL`.
    pub result_url: &'a str,
    /// Its `QueueTimeOutURL`.
    pub timeout_url: &'a str,
    /// Echoed back as `Occasion`: the transfer's id.
    pub occasion: &'a str,
}

/// The query for the payment with M-PESA receipt `receipt`.
pub fn request(
    mpesa: &MpesaSettings,
    c2b: &C2bSettings,
    token: &str,
    credential: &str,
    receipt: &str,
    callbacks: &Callbacks<'_>,
) -> Request {
    let query = Query {
        target: Target::Receipt(receipt),
        party_a: &c2b.shortcode,
        result_url: callbacks.result_url,
        timeout_url: callbacks.timeout_url,
        occasion: callbacks.occasion,
    };
    query_request(mpesa, token, credential, &query)
}

/// Reads the `Result` of a Transaction Status query.
pub fn result(body: &[u8]) -> Result<C2bStatus, C2bError> {
    let callback: ResultCallback =
        serde_json::from_slice(body).map_err(|error| C2bError::Malformed(error.to_string()))?;
    let result = callback.result.ok_or(C2bError::Missing("Result"))?;
    let code = result
        .result_code
        .clone()
        .ok_or(C2bError::Missing("ResultCode"))?;
    if code != "0" {
        let description = result.result_desc.clone().unwrap_or_default();
        return Ok(C2bStatus::Failed(retryable(
            &code,
            format!("the status query itself failed: {description}"),
        )));
    }
    let status = result
        .parameter("TransactionStatus")
        .ok_or(C2bError::Missing("TransactionStatus"))?;
    Ok(match status.as_str() {
        "Reversed" => C2bStatus::Reversed,
        _ => match TransactionStatus::parse(&status) {
            TransactionStatus::Completed => {
                let amount = result
                    .parameter("Amount")
                    .ok_or(C2bError::Missing("Amount"))?;
                C2bStatus::Completed {
                    receipt: result
                        .parameter("ReceiptNo")
                        .ok_or(C2bError::Missing("ReceiptNo"))?,
                    amount_cents: parse_minor(&amount).ok_or(C2bError::BadAmount(amount))?,
                    debit_party: result.parameter("DebitPartyName").unwrap_or_default(),
                    credit_party: result.parameter("CreditPartyName").unwrap_or_default(),
                    finalised_time: result.parameter("FinalisedTime").unwrap_or_default(),
                }
            }
            TransactionStatus::Cancelled
            | TransactionStatus::Declined
            | TransactionStatus::Expired => {
                C2bStatus::Failed(failed(&status, format!("Transaction Status says {status}")))
            }
            TransactionStatus::Pending | TransactionStatus::Unknown(_) => C2bStatus::Pending,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c2b::{C2bForm, ResponseType};
    use crate::testing::settings;
    use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;

    fn c2b() -> C2bSettings {
        C2bSettings {
            form: C2bForm::DarajaV2,
            shortcode: "600984".into(),
            response_type: ResponseType::Cancelled,
            sp: None,
        }
    }

    #[test]
    fn the_query_names_the_receipt_and_the_paybill_not_an_originator_id() {
        let callbacks = Callbacks {
            result_url: "http://127.0.0.1:9/r",
            timeout_url: "http://127.0.0.1:9/t",
            occasion: "t1",
        };
        let request = request(&settings(), &c2b(), "tok", "cred", "RKL51ZDR4F", &callbacks);
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(body["TransactionID"], "RKL51ZDR4F");
        assert_eq!(body["PartyA"], "600984");
        assert_eq!(body["IdentifierType"], "4");
        assert!(body.get("OriginalConversationID").is_none());
    }

    #[test]
    fn a_completed_receipt_carries_its_amount_in_cents() {
        // The reference's Transaction Status sample, on a C2B receipt.
        let body = r#"{ "Result": {
          "ConversationID": "AG_20180223_0000493344ae97d86f75", "OriginatorConversationID": "3213-416199-2",
          "ReferenceData": { "ReferenceItem": { "Key": "Occasion" } },
          "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
          "ResultParameters": { "ResultParameter": [
            { "Key": "DebitPartyName", "Value": "254708374149 - John Doe" },
            { "Key": "CreditPartyName", "Value": "600984 - Corridor" },
            { "Key": "InitiatedTime", "Value": "20180223054112" },
            { "Key": "TransactionStatus", "Value": "Completed" },
            { "Key": "FinalisedTime", "Value": "20180223054112" },
            { "Key": "Amount", "Value": "300.50" },
            { "Key": "ReceiptNo", "Value": "MBN31H462N" } ] },
          "ResultType": 0, "TransactionID": "MBN0000000" } }"#;
        let C2bStatus::Completed {
            receipt,
            amount_cents,
            debit_party,
            credit_party,
            finalised_time,
        } = result(body.as_bytes()).expect("a status")
        else {
            panic!("completed");
        };
        assert_eq!(
            (receipt.as_str(), amount_cents, debit_party.as_str()),
            ("MBN31H462N", 30_050, "254708374149 - John Doe")
        );
        assert_eq!(
            (credit_party.as_str(), finalised_time.as_str()),
            ("600984 - Corridor", "20180223054112")
        );
    }

    #[test]
    fn reversed_cancelled_and_a_failed_query_are_told_apart() {
        let with = |code: &str, status: &str| {
            format!(
                r#"{{"Result":{{"ResultCode":{code},"ResultDesc":"x","ResultParameters":{{"ResultParameter":[{{"Key":"TransactionStatus","Value":"{status}"}}]}}}}}}"#
            )
        };
        assert!(matches!(
            result(with("0", "Reversed").as_bytes()),
            Ok(C2bStatus::Reversed)
        ));
        assert!(matches!(
            result(with("0", "Cancelled").as_bytes()),
            Ok(C2bStatus::Failed(failure)) if failure.kind == FailureKind::Failed
        ));
        assert!(matches!(
            result(with("2001", "Completed").as_bytes()),
            Ok(C2bStatus::Failed(failure)) if failure.kind == FailureKind::Retryable
        ));
        assert!(matches!(
            result(with("0", "Authorized").as_bytes()),
            Ok(C2bStatus::Pending)
        ));
    }
}
