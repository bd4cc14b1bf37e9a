//! The reversal request against Daraja's sample, and its results.

use super::*;
use crate::c2b::{C2bForm, ResponseType};
use crate::testing::{response, settings};
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;

fn c2b() -> C2bSettings {
    C2bSettings {
        form: C2bForm::DarajaV2,
        shortcode: "603021".into(),
        response_type: ResponseType::Cancelled,
        sp: None,
    }
}

fn callbacks() -> Callbacks<'static> {
    Callbacks {
        result_url: "https://mydomain.com/reversal/result",
        timeout_url: "https://mydomain.com/reversal/queue",
        occasion: "t1",
    }
}

#[test]
fn the_request_has_darajas_fields_and_its_misspelling() {
    let reversal = Reversal {
        receipt: "PDU91HIVIT",
        amount_cents: 20_000,
        callbacks: callbacks(),
        remarks: "Payment reversal",
    };
    let request = request(&settings(), &c2b(), "tok", "cred", &reversal).expect("a request");
    assert!(request.url.ends_with("/mpesa/reversal/v1/request"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({
            "Initiator": "testapi", "SecurityCredential": "cred", "CommandID": "TransactionReversal",
            "TransactionID": "PDU91HIVIT", "Amount": "200", "ReceiverParty": "603021",
            "RecieverIdentifierType": "11", "ResultURL": "https://mydomain.com/reversal/result",
            "QueueTimeOutURL": "https://mydomain.com/reversal/queue", "Remarks": "Payment reversal",
            "Occasion": "t1",
        })
    );
    let cents = Reversal {
        amount_cents: 20_050,
        ..reversal
    };
    assert!(super::request(&settings(), &c2b(), "tok", "cred", &cents).is_err());
}

#[test]
fn an_acknowledgement_keeps_the_ids_and_a_server_error_is_unknown() {
    let accepted = response(
        200,
        r#"{"OriginatorConversationID":"f1e2-4b95-a71d-b30d3cdbb7a7","ConversationID":"AG_20240706_2010","ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}"#,
    );
    assert_eq!(
        parse(&accepted).expect("accepted"),
        Accepted {
            conversation_id: "AG_20240706_2010".into(),
            originator_conversation_id: "f1e2-4b95-a71d-b30d3cdbb7a7".into(),
        }
    );
    let server = response(
        500,
        r#"{"requestId":"1","errorCode":"500.001.1001","errorMessage":"Server error"}"#,
    );
    assert!(
        matches!(parse(&server), Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Unknown)
    );
    let invalid = response(
        400,
        r#"{"requestId":"1","errorCode":"400.002.02","errorMessage":"Bad Request - Invalid TransactionID"}"#,
    );
    assert!(
        matches!(parse(&invalid), Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Failed)
    );
}

#[test]
fn a_successful_result_names_the_reversal_receipt_and_the_amount_in_cents() {
    let body = r#"{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"The service request is processed successfully.",
        "OriginatorConversationID":"f1e2-4b95","ConversationID":"AG_1","TransactionID":"SKA1234567",
        "ResultParameters":{"ResultParameter":[{"Key":"DebitAccountBalance","Value":"Utility Account|KES|51661.00|51661.00|0.00|0.00"},
        {"Key":"Amount","Value":200},{"Key":"TransCompletedTime","Value":20240706224852},
        {"Key":"OriginalTransactionID","Value":"PDU91HIVIT"},{"Key":"Charge","Value":0},
        {"Key":"CreditPartyPublicName","Value":"254708374149 - John Doe"},{"Key":"DebitPartyPublicName","Value":"603021 - Org"}]}}}"#;
    let read = result(body.as_bytes()).expect("a result");
    assert_eq!(read.originator_conversation_id, "f1e2-4b95");
    assert_eq!(read.conversation_id.as_deref(), Some("AG_1"));
    assert!(matches!(
        read.outcome,
        ReversalOutcome::Reversed { reversal_receipt, original_receipt, amount_cents: 20_000 }
            if reversal_receipt == "SKA1234567" && original_receipt.as_deref() == Some("PDU91HIVIT")
    ));
}

#[test]
fn already_reversed_is_its_own_outcome_and_an_invalid_original_is_failed() {
    let with = |code: &str| {
        format!(
            r#"{{"Result":{{"ResultType":0,"ResultCode":"{code}","ResultDesc":"x","OriginatorConversationID":"o-1","ConversationID":"AG_1","TransactionID":"PDU91HIVIT"}}}}"#
        )
    };
    assert!(matches!(
        result(with("R000001").as_bytes()).map(|result| result.outcome),
        Ok(ReversalOutcome::AlreadyReversed)
    ));
    assert!(matches!(
        result(with("R000002").as_bytes()).map(|result| result.outcome),
        Ok(ReversalOutcome::Failed(failure)) if failure.kind == FailureKind::Failed
    ));
    assert!(matches!(
        result(with("17").as_bytes()).map(|result| result.outcome),
        Ok(ReversalOutcome::Failed(failure)) if failure.kind == FailureKind::Unknown
    ));
}

#[test]
fn a_lost_result_is_queried_by_the_reversals_originator_id() {
    let accepted = Accepted {
        conversation_id: "AG_1".into(),
        originator_conversation_id: "f1e2-4b95".into(),
    };
    let request = status_request(&settings(), &c2b(), "tok", "cred", &accepted, &callbacks());
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(body["OriginalConversationID"], "f1e2-4b95");
    assert_eq!(body["PartyA"], "603021");
    assert!(body.get("TransactionID").is_none());
}
