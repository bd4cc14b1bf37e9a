//! Daraja's documented sample bodies, verbatim (the Daraja 3.0 pages, as
//! quoted in the corridor's payment-API notes), parse into the types.

use super::*;

const B2C_REQUEST: &str = r#"{
    "OriginatorConversationID": "600997_Test_32et3241ed8yu",
    "InitiatorName": "testapi",
    "SecurityCredential": "RC6E9WDxXR4b9X2c6z3gp0oC5Th ==",
    "CommandID": "BusinessPayment",
    "Amount": "10",
    "PartyA": "600992",
    "PartyB": "254705912645",
    "Remarks": "remarked",
    "QueueTimeOutURL": "https://mydomain.com/path",
    "ResultURL": "https://mydomain.com/path",
    "Occassion": "ChristmasPay"
}"#;

const B2C_ACKNOWLEDGEMENT: &str = r#"{
    "ConversationID": "AG_20240706_20106e9209f64bebd05b",
    "OriginatorConversationID": "600997_Test_32et3241ed8yu",
    "ResponseCode": "0",
    "ResponseDescription": "Accept the service request successfully."
}"#;

const DUPLICATE: &str = r#"{ "requestId": "1c5b-4ba8-815c-ac45c57a3db01469899",
  "errorCode": "500.002.1001",
  "errorMessage": "Duplicate OriginatorConversationID." }"#;

const B2C_SUCCESS: &str = r#"{
    "Result": {
        "ResultType": 0,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": "53e3-4aa8-9fe0-8fb5e4092cdd3533373",
        "ConversationID": "AG_20240706_2010364430d9bbdaf872",
        "TransactionID": "SG632NMUAB",
        "ResultParameters": {
            "ResultParameter": [
                { "Key": "TransactionAmount", "Value": 10 },
                { "Key": "TransactionReceipt", "Value": "SG632NMUAB" },
                { "Key": "ReceiverPartyPublicName", "Value": "254705912645 - NICHOLAS JOHN SONGOK" },
                { "Key": "TransactionCompletedDateTime", "Value": "06.07.2024 22:48:52" },
                { "Key": "B2CUtilityAccountAvailableFunds", "Value": 8959269.60 },
                { "Key": "B2CWorkingAccountAvailableFunds", "Value": 1199371.00 },
                { "Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y" },
                { "Key": "B2CChargesPaidAccountAvailableFunds", "Value": -1980.00 }
            ]
        },
        "ReferenceData": {
            "ReferenceItem": {
                "Key": "QueueTimeoutURL",
                "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit"
            }
        }
    }
}"#;

const B2C_FAILURE: &str = r#"{
    "Result": {
        "ResultType": 0,
        "ResultCode": 2001,
        "ResultDesc": "The initiator information is invalid.",
        "OriginatorConversationID": "53e3-4aa8-9fe0-8fb5e4092cdd3544366",
        "ConversationID": "AG_20240707_201062f6f6f5804f7a33",
        "TransactionID": "SG722NMVXQ",
        "ReferenceData": { "ReferenceItem": { "Key": "QueueTimeoutURL",
            "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit" } }
    }
}"#;

const STATUS_QUERY: &str = r#"{
    "Initiator": "testapiuser",
    "SecurityCredential": "ClONZiMYBpc65lmpJ7nvnrDmUe0WvHvA5QbOsPjEo92B6IGFwDdvdeJIFL0kgwsEKWu6SQKG4ZZUxjC",
    "CommandID": "TransactionStatusQuery",
    "TransactionID": "NEF61H8J60",
    "OriginalConversationID": "7071-4170-a0e5-8345632bad442144258",
    "PartyA": "600782",
    "IdentifierType": "4",
    "ResultURL": "http://myservice:8080/transactionstatus/result",
    "QueueTimeOutURL": "http://myservice:8080/timeout",
    "Remarks": "OK",
    "Occasion": "OK"
}"#;

const STATUS_RESULT: &str = r#"{ "Result": {
  "ConversationID": "AG_20180223_0000493344ae97d86f75",
  "OriginatorConversationID": "3213-416199-2",
  "ReferenceData": { "ReferenceItem": { "Key": "Occasion" } },
  "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
  "ResultParameters": { "ResultParameter": [
    { "Key": "DebitPartyName", "Value": "600310 - Safaricom333" },
    { "Key": "DebitPartyName", "Value": "254708374149 - John Doe" },
    { "Key": "OriginatorConversationID", "Value": "3211-416020-3" },
    { "Key": "InitiatedTime", "Value": "20180223054112" },
    { "Key": "DebitAccountType", "Value": "Utility Account" },
    { "Key": "DebitPartyCharges", "Value": "Fee For B2C Payment|KES|22.40" },
    { "Key": "TransactionReason" },
    { "Key": "ReasonType", "Value": "Business Payment to Customer via API" },
    { "Key": "TransactionStatus", "Value": "Completed" },
    { "Key": "FinalisedTime", "Value": "20180223054112" },
    { "Key": "Amount", "Value": "300" },
    { "Key": "ConversationID", "Value": "AG_20180223_000041b09c22e613d6c9" },
    { "Key": "ReceiptNo", "Value": "MBN31H462N" } ] },
  "ResultType": 0, "TransactionID": "MBN0000000" } }"#;

fn result_of(body: &str) -> B2cResult {
    serde_json::from_str::<ResultCallback>(body)
        .expect("a Result callback")
        .result
        .expect("a Result object")
}

#[test]
fn the_documented_b2c_request_reads_and_writes_the_same_fields() {
    let request: B2cPaymentRequest = serde_json::from_str(B2C_REQUEST).expect("a B2C request");
    assert_eq!(
        request.originator_conversation_id.as_deref(),
        Some("600997_Test_32et3241ed8yu")
    );
    assert_eq!(
        (request.amount.as_str(), request.party_b.as_str()),
        ("10", "254705912645")
    );
    assert_eq!(request.occassion, "ChristmasPay");
    let written: serde_json::Value = serde_json::to_value(&request).expect("serializes");
    let documented: serde_json::Value = serde_json::from_str(B2C_REQUEST).expect("json");
    assert_eq!(written, documented);
}

#[test]
fn a_v1_b2c_request_carries_no_originator_conversation_id() {
    let mut request: B2cPaymentRequest = serde_json::from_str(B2C_REQUEST).expect("a B2C request");
    request.originator_conversation_id = None;
    let written = serde_json::to_string(&request).expect("serializes");
    assert!(!written.contains("OriginatorConversationID"), "{written}");
}

#[test]
fn the_documented_acknowledgement_and_error_envelope_parse() {
    let acknowledgement: B2cAcknowledgement =
        serde_json::from_str(B2C_ACKNOWLEDGEMENT).expect("an acknowledgement");
    assert_eq!(acknowledgement.response_code, "0");
    assert_eq!(
        acknowledgement.conversation_id,
        "AG_20240706_20106e9209f64bebd05b"
    );
    let numeric: B2cAcknowledgement =
        serde_json::from_str(r#"{"ConversationID":"AG_1","ResponseCode":0}"#).expect("numeric");
    assert_eq!(numeric.response_code, "0");
    let error: DarajaError = serde_json::from_str(DUPLICATE).expect("an error envelope");
    assert_eq!(error.error_code, "500.002.1001");
    assert_eq!(error.error_message, "Duplicate OriginatorConversationID.");
}

#[test]
fn the_documented_oauth_token_has_its_lifetime_as_a_string() {
    let token: OAuthToken = serde_json::from_str(
        r#"{ "access_token": "c9SQxWWhmdVRlyh0zh8gZDTkubVF", "expires_in": "3599" }"#,
    )
    .expect("a token");
    assert_eq!(token.expires_in, "3599");
    assert_eq!(token.access_token, "c9SQxWWhmdVRlyh0zh8gZDTkubVF");
}

#[test]
fn the_documented_b2c_success_keeps_every_parameter_as_text() {
    let result = result_of(B2C_SUCCESS);
    assert_eq!(result.result_code.as_deref(), Some("0"));
    assert_eq!(result.transaction_id.as_deref(), Some("SG632NMUAB"));
    assert_eq!(result.parameters().len(), 8);
    assert_eq!(result.parameter("TransactionAmount").as_deref(), Some("10"));
    assert_eq!(
        result
            .parameter("B2CUtilityAccountAvailableFunds")
            .as_deref(),
        Some("8959269.6")
    );
    assert_eq!(
        result
            .parameter("B2CChargesPaidAccountAvailableFunds")
            .as_deref(),
        Some("-1980.0")
    );
    let reference = result.reference_data.expect("reference data");
    assert_eq!(reference.reference_item.len(), 1);
}

#[test]
fn the_documented_b2c_failure_has_no_parameters() {
    let result = result_of(B2C_FAILURE);
    assert_eq!(result.result_code.as_deref(), Some("2001"));
    assert!(result.parameters().is_empty());
    assert_eq!(result.parameter("TransactionAmount"), None);
}

#[test]
fn the_documented_status_query_and_result_parse() {
    let query: TransactionStatusQuery = serde_json::from_str(STATUS_QUERY).expect("a query");
    assert_eq!(query.transaction_id.as_deref(), Some("NEF61H8J60"));
    assert_eq!(query.occasion, "OK");
    let result = result_of(STATUS_RESULT);
    assert_eq!(result.parameter("ReceiptNo").as_deref(), Some("MBN31H462N"));
    assert_eq!(result.parameter("TransactionReason"), None);
    assert_eq!(
        TransactionStatus::parse(&result.parameter("TransactionStatus").expect("a status")),
        TransactionStatus::Completed
    );
    let reference = result.reference_data.expect("reference data");
    assert_eq!(reference.reference_item[0].value, None);
}

#[test]
fn a_status_not_understood_is_kept_as_unknown() {
    assert_eq!(
        TransactionStatus::parse("Expired"),
        TransactionStatus::Expired
    );
    assert_eq!(
        TransactionStatus::parse("Reversed"),
        TransactionStatus::Unknown("Reversed".into())
    );
}

#[test]
fn a_queue_timeout_reads_as_an_envelope_or_as_an_echo() {
    let echo: QueueTimeout =
        serde_json::from_str(r#"{"OriginatorConversationID":"COR-t1-B2C","Amount":"1000"}"#)
            .expect("an echo");
    assert_eq!(
        echo.ids().originator_conversation_id.as_deref(),
        Some("COR-t1-B2C")
    );
    let envelope: QueueTimeout = serde_json::from_str(
        r#"{"Result":{"OriginatorConversationID":"COR-t2-B2C","ConversationID":"AG_2"}}"#,
    )
    .expect("an envelope");
    let ids = envelope.ids();
    assert_eq!(
        ids.originator_conversation_id.as_deref(),
        Some("COR-t2-B2C")
    );
    assert_eq!(ids.conversation_id.as_deref(), Some("AG_2"));
}

#[test]
fn the_documented_samples_become_the_events_they_mean() {
    use crate::callback::{ResultKind, result_events};
    use corridor_connector_kit::bindings::corridor::connector::types::Event;
    match &result_events(B2C_SUCCESS.as_bytes(), ResultKind::B2c).expect("events")[..] {
        [Event::PayOutSucceeded(receipt)] => {
            assert_eq!(receipt.amount.amount_minor, 1_000);
            assert_eq!(receipt.recipient, "254705912645");
            assert_eq!(receipt.provider_transaction_id, "SG632NMUAB");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &result_events(B2C_FAILURE.as_bytes(), ResultKind::B2c).expect("events")[..],
        [Event::PayOutFailed(failure)] if failure.failure.code == "2001"
    ));
}
