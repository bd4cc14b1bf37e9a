//! `GenericAPIRequest` as built, and `GenericAPIResponse` from the reference's
//! captured and specified samples (§2.2, §2.4), verbatim.

use super::*;
use crate::broker::testing::settings;
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
use corridor_connector_kit::money::money;

/// The captured request of §2.2, as on the wire (credential shortened there).
const CAPTURED_REQUEST: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:req="http://api-v1.gen.mm.vodafone.com/mminterface/request">
   <soapenv:Header>
      <tns:RequestSOAPHeader xmlns:tns="http://www.huawei.com/schema/osg/common/v2_1">
         <tns:spId>151515</tns:spId>
         <tns:spPassword>ODExNERCMDlCNjVDRkYxQUFCNzE5MkE1OEQyMjJDMzk1RUFCNzgwMjk2ODE4Rjk1OTE2MEFGNDU1QkRCMDkyMg==</tns:spPassword>
         <tns:timeStamp>20140730093620</tns:timeStamp>
         <tns:serviceId>151515000</tns:serviceId>
      </tns:RequestSOAPHeader>
   </soapenv:Header>
   <soapenv:Body>
      <req:RequestMsg><![CDATA[<?xml version=''1.0'' encoding=''UTF-8''?><request xmlns=''http://api-v1.gen.mm.vodafone.com/mminterface/request''>
<Transaction>
	<CommandID>SalaryPayment</CommandID>
	<LanguageCode>0</LanguageCode>
	<OriginatorConversationID>R9I1-0000-4225-g64153</OriginatorConversationID>
	<ConversationID></ConversationID>
	<Remark>0</Remark>
	<EncryptedParameters>EncryptedParameters0</EncryptedParameters>
<Parameters><Parameter>
	<Key>Amount</Key>
	<Value>70.00</Value>
</Parameter>
</Parameters>
<ReferenceData>
	<ReferenceItem>
		<Key>QueueTimeoutURL</Key>
		<Value>http://10.66.49.201:8989/</Value>
	</ReferenceItem></ReferenceData>
	<Timestamp>2014-09-27T12:53:19.0000521Z</Timestamp>
</Transaction>
<Identity>
	<Caller>
		<CallerType>2</CallerType>
		<ThirdPartyID>898941</ThirdPartyID>
		<Password>Password0</Password>
		<CheckSum>CheckSum0</CheckSum>
		<ResultURL>http://10.66.49.201:8097/</ResultURL>
	</Caller>
	<Initiator>
		<IdentifierType>11</IdentifierType>
		<Identifier>b2c2b</Identifier>
		<SecurityCredential>bJJbCA4QT/W7pVT9g+3dctjQIFU2kFQ==</SecurityCredential>
		<ShortCode>898947</ShortCode>
	</Initiator>
		<PrimaryParty>
			<IdentifierType>4</IdentifierType>
			<Identifier>898946</Identifier>
			<ShortCode></ShortCode>
		</PrimaryParty>
	<ReceiverParty>
		<IdentifierType>1</IdentifierType>
		<Identifier>254707163605</Identifier>
		<ShortCode></ShortCode>
	</ReceiverParty>
	<AccessDevice>
		<IdentifierType>1</IdentifierType>
		<Identifier>Identifier3</Identifier>
		</AccessDevice></Identity>
		<KeyOwner>1</KeyOwner>
	</request>]]></req:RequestMsg>
   </soapenv:Body>
</soapenv:Envelope>"#;

/// The captured CoreAPI answer of §2.4.
const CAPTURED_RESPONSE: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><ResponseMsg xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/request"><![CDATA[<Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/response"><ResponseCode>0</ResponseCode><ConversationID>e0e968f5-8cea-4313-aacf-079c5ca47d01</ConversationID><OriginatorConversationID>R9I1-0000-4225-g64153</OriginatorConversationID><ServiceStatus>0</ServiceStatus></Response>]]></ResponseMsg></s:Body></s:Envelope>"#;

fn enveloped(document: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ResponseMsg><![CDATA[{document}]]></ResponseMsg></soapenv:Body></soapenv:Envelope>"#
    )
}

fn payout(reference: &str) -> PayOutRequest {
    PayOutRequest {
        transfer_id: "t1".into(),
        reference: reference.into(),
        recipient: "254708374149".into(),
        amount: money(100_000, "KES"),
        remarks: "Corridor transfer".into(),
        result_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/pay-out/t1/x".into(),
        timeout_url: "http://127.0.0.1:9/callbacks/alipay-mpesa/pay-out-timeout/t1/x".into(),
    }
}

fn response(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn the_captured_request_reads_into_the_request_types() {
    let envelope: RequestEnvelope = from_xml(CAPTURED_REQUEST).expect("envelope");
    assert_eq!(envelope.header.request_soap_header.sp_id, "151515");
    assert_eq!(envelope.header.request_soap_header.service_id, "151515000");
    let document: GenericApiRequest = from_xml(&envelope.body.request_msg).expect("document");
    assert_eq!(
        document.transaction.originator_conversation_id,
        "R9I1-0000-4225-g64153"
    );
    assert_eq!(document.transaction.parameters.parameter[0].value, "70.00");
    assert_eq!(document.identity.caller.third_party_id, "898941");
    assert_eq!(document.identity.receiver_party.identifier, "254707163605");
    assert_eq!(document.identity.initiator.identifier_type, "11");
}

#[test]
fn the_request_names_the_reference_the_amount_and_the_host_urls() {
    // 2014-09-27 12:53:19.052 UTC.
    let now_ms = 1_411_822_399_052;
    let built = request(&settings(), "cred==", &payout("COR-t1-B2C"), now_ms).expect("request");
    assert_eq!(built.url, "http://127.0.0.1:1/mminterface/request");
    let text = String::from_utf8(built.body).expect("utf-8");
    assert!(
        text.starts_with("<soapenv:Envelope xmlns:soapenv="),
        "{text}"
    );
    let envelope: RequestEnvelope = from_xml(&text).expect("our envelope reads back");
    let header = &envelope.header.request_soap_header;
    assert_eq!(header.time_stamp, "20140927125319");
    assert_eq!(
        header.sp_password,
        sp_password("151515", "sp-secret", "20140927125319")
    );
    let document: GenericApiRequest = from_xml(&envelope.body.request_msg).expect("document");
    let transaction = &document.transaction;
    assert_eq!(transaction.originator_conversation_id, "COR-t1-B2C");
    assert_eq!(transaction.command_id, "BusinessPayment");
    assert_eq!(
        transaction.parameters.parameter,
        vec![KeyValue {
            key: "Amount".into(),
            value: "1000.00".into()
        }]
    );
    assert_eq!(transaction.timestamp, "2014-09-27T12:53:19.052Z");
    assert!(
        transaction.reference_data.reference_item[0]
            .value
            .ends_with("/pay-out-timeout/t1/x")
    );
    let identity = &document.identity;
    assert!(identity.caller.result_url.ends_with("/pay-out/t1/x"));
    assert_eq!(identity.initiator.security_credential, "cred==");
    assert_eq!(
        (
            identity.primary_party.identifier.as_str(),
            identity.receiver_party.identifier.as_str()
        ),
        ("600992", "254708374149")
    );
}

#[test]
fn what_the_broker_would_refuse_is_failed_before_anything_is_sent() {
    let mut cents = payout("COR-t1-B2C");
    cents.amount = money(100_050, "KES");
    let mut dollars = payout("COR-t1-B2C");
    dollars.amount = money(1_000, "USD");
    let mut landline = payout("COR-t1-B2C");
    landline.recipient = "0201234567".into();
    for refused in [cents, dollars, landline] {
        let failure = request(&settings(), "cred", &refused, 0).expect_err("refused");
        assert_eq!(failure.kind, FailureKind::Failed);
    }
}

#[test]
fn the_captured_answer_is_accepted_with_its_conversation_id() {
    let started = parse(
        &response(200, CAPTURED_RESPONSE),
        &payout("R9I1-0000-4225-g64153"),
    )
    .expect("accepted");
    let PayOutStarted::Accepted(accepted) = started else {
        panic!("not accepted: {started:?}");
    };
    assert_eq!(
        accepted.provider_reference,
        "e0e968f5-8cea-4313-aacf-079c5ca47d01"
    );
    let other =
        parse(&response(200, CAPTURED_RESPONSE), &payout("COR-other")).expect_err("another id");
    assert_eq!(other.kind, FailureKind::Unknown);
}

#[test]
fn refusals_map_to_failed_retryable_or_unknown() {
    let answer = |document: &str| {
        parse(&response(200, &enveloped(document)), &payout("COR-t1-B2C")).expect_err("refused")
    };
    // The spec's authentication failure: lower-case root, no ConversationID.
    let authentication = answer(
        r#"<response xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/response"><ResponseCode>100000007</ResponseCode><ResponseDesc>Authentication failed</ResponseDesc></response>"#,
    );
    assert_eq!(
        (authentication.kind, authentication.code.as_str()),
        (FailureKind::Failed, "100000007")
    );
    let cached = answer(
        "<Response><ResponseCode>100000000</ResponseCode><ResponseDesc>Request was cached, waiting for resending</ResponseDesc></Response>",
    );
    assert_eq!(cached.kind, FailureKind::Unknown);
    let throttled = answer(
        "<Response><ResponseCode>100000002</ResponseCode><ResponseDesc>Throttling error</ResponseDesc></Response>",
    );
    assert_eq!(throttled.kind, FailureKind::Retryable);
    let client_fault = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>malformed</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
    let fault = parse(&response(500, client_fault), &payout("COR-t1-B2C")).expect_err("fault");
    assert_eq!(fault.kind, FailureKind::Failed);
    let server_fault = client_fault.replace("soapenv:Client", "soapenv:Server");
    let fault = parse(&response(500, &server_fault), &payout("COR-t1-B2C")).expect_err("fault");
    assert_eq!(fault.kind, FailureKind::Unknown);
    let gateway = parse(&response(502, "Bad Gateway"), &payout("COR-t1-B2C")).expect_err("502");
    assert_eq!(gateway.kind, FailureKind::Unknown);
}
