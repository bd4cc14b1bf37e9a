//! M-PESA Express against Daraja's samples (payment-apis.md §1.8).

use super::*;
use crate::pay_in::{DarajaApp, TransactionType};
use crate::testing::response;
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
use corridor_connector_kit::money::money;

/// 2021-06-28 09:24:08 EAT, the timestamp of Daraja's sample password.
const SAMPLE_MS: u64 = 1_624_861_448_000;

fn settings() -> ExpressSettings {
    ExpressSettings {
        app: DarajaApp {
            base_url: "http://127.0.0.1:1".into(),
            consumer_key: "key".into(),
            consumer_secret: "secret".into(),
        },
        shortcode: "174379".into(),
        passkey: "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919".into(),
        transaction_type: TransactionType::PayBill,
        party_b: "174379".into(),
    }
}

fn push() -> Push {
    Push {
        payer_msisdn: "254722000000".into(),
        amount: money(100, "KES"),
        account_reference: "accountref".into(),
        description: "txndesc".into(),
        callback_url: "https://mydomain.com/path".into(),
    }
}

const PAID: &str = r#"{ "Body": { "stkCallback": { "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": "ws_CO_191220191020363925",
  "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
  "CallbackMetadata": { "Item": [ { "Name": "Amount", "Value": 1.00 }, { "Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV" },
    { "Name": "Balance" },
    { "Name": "TransactionDate", "Value": 20191219102115 }, { "Name": "PhoneNumber", "Value": 254708374149 } ] } } } }"#;

const CANCELLED: &str = r#"{ "Body": { "stkCallback": { "MerchantRequestID": "f1e2-4b95-a71d-b30d3cdbb7a7942864",
  "CheckoutRequestID": "ws_CO_21072024125243250722943992", "ResultCode": 1032, "ResultDesc": "Request cancelled by user" } } }"#;

#[test]
fn the_push_is_daraja_s_sample_with_its_password() {
    let request = push_request(&settings(), "tok", &push(), SAMPLE_MS).expect("request");
    assert!(request.url.ends_with("/mpesa/stkpush/v1/processrequest"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(
        body["Password"],
        "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjEwNjI4MDkyNDA4",
        "the sample's password"
    );
    assert_eq!(body["Timestamp"], "20210628092408");
    assert_eq!(body["Amount"], "1");
    assert_eq!(body["TransactionType"], "CustomerPayBillOnline");
    assert_eq!(body["PartyA"], body["PhoneNumber"]);
    assert_eq!(body["CallBackURL"], "https://mydomain.com/path");
}

#[test]
fn what_daraja_would_refuse_is_refused_before_sending() {
    let mut cents = push();
    cents.amount = money(150, "KES");
    let mut long = push();
    long.account_reference = "COR-tr_0123456789".into();
    let mut foreign = push();
    foreign.payer_msisdn = "255708374149".into();
    for refused in [cents, long, foreign] {
        let failure = push_request(&settings(), "tok", &refused, SAMPLE_MS).expect_err("refused");
        assert_eq!(failure.kind, FailureKind::Failed, "{failure:?}");
    }
}

#[test]
fn the_acknowledgement_names_the_checkout_request() {
    let accepted = response(
        200,
        r#"{"MerchantRequestID":"2654-4b64-97ff-b827b542881d3130","CheckoutRequestID":"ws_CO_1007202409152617172396192","ResponseCode":"0","ResponseDescription":"Success. Request accepted for processing","CustomerMessage":"Success. Request accepted for processing"}"#,
    );
    let pushed = push_parse(&accepted).expect("accepted");
    assert_eq!(
        pushed.checkout_request_id,
        "ws_CO_1007202409152617172396192"
    );
}

#[test]
fn a_refused_push_is_retryable_when_busy_or_locked_and_failed_when_misconfigured() {
    let envelope = |status: u16, code: &str, message: &str| {
        response(
            status,
            &format!(r#"{{"requestId":"1","errorCode":"{code}","errorMessage":"{message}"}}"#),
        )
    };
    let kind = |answer: &Response| match push_parse(answer) {
        Err(Rejection::Failed(failure)) => Some(failure.kind),
        _ => None,
    };
    assert_eq!(
        kind(&envelope(500, "500.003.02", "Spike arrest")),
        Some(FailureKind::Retryable)
    );
    assert_eq!(
        kind(&envelope(
            500,
            "500.001.1001",
            "Unable to lock subscriber, a transaction is already in process for the current subscriber"
        )),
        Some(FailureKind::Retryable)
    );
    assert_eq!(
        kind(&envelope(500, "500.001.1001", "Wrong credentials")),
        Some(FailureKind::Failed)
    );
    assert_eq!(
        kind(&envelope(400, "400.002.02", "Bad Request - Invalid Amount")),
        Some(FailureKind::Failed)
    );
    assert_eq!(
        kind(&response(503, "<html>busy</html>")),
        Some(FailureKind::Retryable)
    );
    assert!(matches!(
        push_parse(&envelope(404, "404.001.03", "Invalid Access Token")),
        Err(Rejection::TokenRejected)
    ));
}

#[test]
fn a_paid_callback_carries_the_receipt_amount_and_phone_whatever_their_json_types() {
    let notified = callback(PAID.as_bytes()).expect("readable");
    assert_eq!(notified.checkout_request_id, "ws_CO_191220191020363925");
    let PayInOutcome::Paid(paid) = notified.outcome else {
        panic!("paid");
    };
    assert_eq!(paid.receipt.as_deref(), Some("NLJ7RT61SV"));
    assert_eq!(paid.amount_cents, 100);
    assert_eq!(paid.msisdn.as_deref(), Some("254708374149"));
    assert_eq!(paid.provider_reference, "ws_CO_191220191020363925");
}

#[test]
fn a_cancelled_callback_is_a_definitive_failure_and_an_unknown_code_is_not() {
    let notified = callback(CANCELLED.as_bytes()).expect("readable");
    assert!(matches!(
        notified.outcome,
        PayInOutcome::Failed(ref failure) if failure.kind == FailureKind::Failed && failure.code == "1032"
    ));
    for (code, kind) in [
        ("1", FailureKind::Failed),
        ("1037", FailureKind::Failed),
        ("2001", FailureKind::Failed),
        ("1019", FailureKind::Failed),
        ("4999", FailureKind::Unknown),
    ] {
        assert_eq!(result_failure(code, "x").kind, kind, "{code}");
    }
}

#[test]
fn a_success_without_its_receipt_or_amount_establishes_nothing() {
    let bare = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":0,"ResultDesc":"ok"}}}"#;
    assert_eq!(
        callback(bare.as_bytes()).err(),
        Some(Unreadable::Missing("Amount"))
    );
    assert!(matches!(
        callback(b"not json"),
        Err(Unreadable::Malformed(_))
    ));
}

#[test]
fn the_query_is_pending_while_being_processed_then_says_what_the_payer_did() {
    let processing = response(
        500,
        r#"{"requestId":"1","errorCode":"500.001.1001","errorMessage":"The transaction is being processed"}"#,
    );
    assert!(matches!(
        query_parse(&processing, "ws_CO_13012021093521236557", &push()),
        Ok(PayInOutcome::Pending)
    ));
    let done = response(
        200,
        r#"{"ResponseCode":"0","ResponseDescription":"The service request has been accepted successfully","MerchantRequestID":"22205-34066-1","CheckoutRequestID":"ws_CO_13012021093521236557","ResultCode":"0","ResultDesc":"The service request is processed successfully."}"#,
    );
    let Ok(PayInOutcome::Paid(paid)) = query_parse(&done, "ws_CO_13012021093521236557", &push())
    else {
        panic!("paid");
    };
    assert_eq!((paid.amount_cents, paid.receipt), (100, None));
    let wrong_pin = response(
        200,
        r#"{"ResponseCode":"0","CheckoutRequestID":"ws_CO_1","ResultCode":"2001","ResultDesc":"The initiator information is invalid."}"#,
    );
    assert!(matches!(
        query_parse(&wrong_pin, "ws_CO_1", &push()),
        Ok(PayInOutcome::Failed(failure)) if failure.kind == FailureKind::Failed
    ));
    assert!(
        matches!(
            query_parse(&wrong_pin, "ws_CO_2", &push()),
            Err(Rejection::Failed(_))
        ),
        "an answer about another push is not believed"
    );
    let busy = response(
        500,
        r#"{"requestId":"1","errorCode":"500.003.02","errorMessage":"Spike arrest"}"#,
    );
    assert!(matches!(
        query_parse(&busy, "ws_CO_1", &push()),
        Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Retryable
    ));
    let query = query_request(&settings(), "tok", "ws_CO_1", SAMPLE_MS);
    let body: serde_json::Value = serde_json::from_slice(&query.body).expect("json");
    assert_eq!(body["CheckoutRequestID"], "ws_CO_1");
}
