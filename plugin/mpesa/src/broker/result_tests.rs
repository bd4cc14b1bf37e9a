//! `ResultMsg` from the reference's capture and the spec's April 2015
//! example (§2.5), verbatim, and the caller's answers.

use super::*;
use crate::broker::messages::InboundEnvelope;
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;

/// The captured failure of §2.5: the request's Timestamp was three days old.
const CAPTURED_RESULT: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><ResultMsg xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/result"><![CDATA[<Result xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/result"><ResultType>Completed</ResultType><ResultCode>19</ResultCode><ResultDesc>ApiRequestMessageExpiryFailure</ResultDesc><OriginatorConversationID>R9I1-0000-4225-g64153</OriginatorConversationID><ConversationID>e0e968f5-8cea-4313-aacf-079c5ca47d01</ConversationID><ResultParameters><Parameter><Key xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/request">Transaction DateTime</Key><Value xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/request">30.09.2014 12:52:31</Value></Parameter></ResultParameters><ReferenceData><ReferenceItem><Key xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/request">QueueTimeoutURL</Key><Value xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/request">http://10.66.49.201:8989/</Value></ReferenceItem></ReferenceData></Result>]]></ResultMsg></s:Body></s:Envelope>"#;

/// The spec's April 2015 success example of §2.5.
pub(crate) const SPEC_SUCCESS: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/><soapenv:Body>
<req:ResultMsg xmlns:req="http://cps.huawei.com/cpsinterface/result"><![CDATA[<?xml version="1.0" encoding="UTF-8"?>
<Result>
 <ResultType>0</ResultType>
 <ResultCode>0</ResultCode>
 <ResultDesc>The service request is processed successfully.</ResultDesc>
 <OriginatorConversationID>D7866050-CE7C-46B9-BE97-D9FBACC69041</OriginatorConversationID>
 <ConversationId>B72AC018-86E4-477A-B4B0-9EC65AE8A2FE</ConversationId>
 <TransactionId>2782728972</TransactionId>
 <ResultParameters>
  <ResultParameter><Key>TransactionReceipt</Key><Value>2782728972</Value></ResultParameter>
  <ResultParameter><Key>TransactionAmount</Key><Value>100.00</Value></ResultParameter>
  <ResultParameter><Key>TransactionCompletedDateTime</Key><Value>22.03.2012 12:20:20</Value></ResultParameter>
  <ResultParameter><Key>ReceiverPartyPublicName</Key><Value>254778866553868-Kip Keino</Value></ResultParameter>
  <ResultParameter><Key>B2CWorkingAccountAvailableFunds</Key><Value>10000.00</Value></ResultParameter>
  <ResultParameter><Key>B2CUtilityAccountAvailableFunds</Key><Value>100000.00</Value></ResultParameter>
  <ResultParameter><Key>B2CChargesPaidAccountAvailableFunds</Key><Value>1000.00</Value></ResultParameter>
  <ResultParameter><Key>B2CRecipientIsRegisteredCustomer</Key><Value>Y</Value></ResultParameter>
  <ResultParameter><Key>B2CWithdrawalChargeAmount</Key><Value>12.00</Value></ResultParameter>
 </ResultParameters>
 <ReferenceData><ReferenceItem><Key>Occasion</Key><Value>Christmas</Value></ReferenceItem></ReferenceData>
</Result>]]></req:ResultMsg></soapenv:Body></soapenv:Envelope>"#;

#[test]
fn the_spec_success_is_a_pay_out_success_in_cents() {
    let events = result_events(SPEC_SUCCESS.as_bytes()).expect("events");
    let [Event::PayOutSucceeded(receipt)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(receipt.reference, "D7866050-CE7C-46B9-BE97-D9FBACC69041");
    assert_eq!(receipt.amount.amount_minor, 10_000);
    assert_eq!(receipt.amount.currency, "KES");
    assert_eq!(receipt.provider_transaction_id, "2782728972");
    assert_eq!(receipt.recipient, "254778866553868");
    assert!(receipt.details.contains(&(
        "conversation_id".into(),
        "B72AC018-86E4-477A-B4B0-9EC65AE8A2FE".into()
    )));
}

#[test]
fn the_captured_expiry_19_is_a_definitive_failure() {
    let events = result_events(CAPTURED_RESULT.as_bytes()).expect("events");
    let [Event::PayOutFailed(failure)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(failure.reference.as_deref(), Some("R9I1-0000-4225-g64153"));
    assert_eq!(
        failure.provider_reference.as_deref(),
        Some("e0e968f5-8cea-4313-aacf-079c5ca47d01")
    );
    assert_eq!(failure.failure.code, "19");
    assert_eq!(failure.failure.kind, FailureKind::Failed);
}

#[test]
fn a_duplicate_or_an_internal_failure_is_unknown_and_a_waiting_result_is_nothing() {
    for (code, kind) in [
        ("15", FailureKind::Unknown),
        ("17", FailureKind::Unknown),
        ("41", FailureKind::Unknown),
        ("1", FailureKind::Failed),
        ("18", FailureKind::Failed),
    ] {
        let body = CAPTURED_RESULT.replace("<ResultCode>19<", &format!("<ResultCode>{code}<"));
        let events = result_events(body.as_bytes()).expect("events");
        let (Event::PayOutFailed(failure) | Event::PayOutUnknown(failure)) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(failure.failure.kind, kind, "{code}");
    }
    let waiting = SPEC_SUCCESS.replace("<ResultType>0<", "<ResultType>1<");
    assert!(result_events(waiting.as_bytes()).is_err());
    assert!(result_events(b"{\"Result\":{}}").is_err(), "not SOAP");
    let no_receipt = SPEC_SUCCESS.replace("TransactionAmount", "Something");
    assert!(result_events(no_receipt.as_bytes()).is_err());
}

#[test]
fn the_acknowledgement_is_the_specified_success_response() {
    let reply = acknowledgement();
    assert_eq!(reply.status, 200);
    let text = String::from_utf8(reply.body).expect("utf-8");
    let envelope: InboundEnvelope = from_xml(&text).expect("envelope");
    let document = envelope.body.response_msg.expect("ResponseMsg");
    assert!(
        document.contains("<ResponseCode>00000000</ResponseCode>")
            && document.contains("<ResponseDesc>success</ResponseDesc>"),
        "{document}"
    );
}

#[test]
fn a_queue_timeout_is_unknown_and_answered_success() {
    let body = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:loc="http://www.csapi.org/schema/timeoutnotification/data/v1_0/local"><soapenv:Header/><soapenv:Body><loc:notifyQueueTimeout><loc:originatorConversationID>COR-t1-B2C</loc:originatorConversationID><loc:originRequest>PHJlcXVlc3Q+</loc:originRequest></loc:notifyQueueTimeout></soapenv:Body></soapenv:Envelope>"#;
    let events = queue_timeout_events(body.as_bytes()).expect("events");
    assert!(
        matches!(&events[..], [Event::PayOutUnknown(failure)] if failure.reference.as_deref() == Some("COR-t1-B2C"))
    );
    let reply = String::from_utf8(queue_timeout_reply().body).expect("utf-8");
    assert!(
        reply.contains("<res:ResultCode>00000000</res:ResultCode>"),
        "{reply}"
    );
}

#[test]
fn a_body_that_is_not_soap_is_answered_with_a_client_fault() {
    let reply = reply_to(b"not xml at all <").expect("a fault");
    assert_eq!(reply.status, 500);
    let text = String::from_utf8(reply.body).expect("utf-8");
    assert!(
        text.contains("<faultcode>soapenv:Client</faultcode>"),
        "{text}"
    );
    assert!(
        reply_to(SPEC_SUCCESS.as_bytes()).is_none(),
        "a readable envelope is acknowledged"
    );
}
