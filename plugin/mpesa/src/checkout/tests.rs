//! The SOAP checkout against seed 004's samples, verbatim where the seed
//! gives one.

use super::*;
use crate::pay_in::{CallbackMethod, PayInOutcome, Unreadable};
use crate::testing::response;
use corridor_connector_kit::bindings::corridor::connector::types::{FailureKind, InboundRequest};
use corridor_connector_kit::money::money;

/// 2014-11-28 17:47:17 EAT, the samples' `TIMESTAMP`.
const SAMPLE_MS: u64 = 1_417_186_037_000;

fn settings() -> CheckoutSettings {
    CheckoutSettings {
        url: "http://127.0.0.1:1/mpesa_online/lnmo_checkout_server.php".into(),
        merchant_id: "898945".into(),
        passkey: "passkey-from-the-sag".into(),
        callback_method: CallbackMethod::Xml,
    }
}

fn order() -> Order {
    Order {
        merchant_transaction_id: "911-000".into(),
        reference_id: "1112254500".into(),
        amount: money(5_400, "KES"),
        payer_msisdn: "254720471865".into(),
        callback_url: "http://172.21.20.215:8080/test".into(),
        enc_params: String::new(),
    }
}

const PROCESS_RESPONSE: &str = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="tns:ns">
<SOAP-ENV:Body>
<ns1:processCheckOutResponse>
<RETURN_CODE>00</RETURN_CODE>
<DESCRIPTION>Success</DESCRIPTION>
<TRX_ID>cce3d32e0159c1e62a9ec45b67676200</TRX_ID>
<ENC_PARAMS/>
<CUST_MSG>To complete this transaction, enter your Bonga PIN on your handset. if you don't have one dial *126*5# for instructions</CUST_MSG>
</ns1:processCheckOutResponse>
</SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;

const CONFIRM_RESPONSE: &str = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="tns:ns">
<SOAP-ENV:Body>
<ns1:transactionConfirmResponse>
<RETURN_CODE>00</RETURN_CODE>
<DESCRIPTION>Success</DESCRIPTION>
<MERCHANT_TRANSACTION_ID/>
<TRX_ID>5f6af12be0800c4ffabb4cf2608f0808</TRX_ID>
</ns1:transactionConfirmResponse>
</SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;

const RESULT_MSG: &str = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="tns:ns">
<SOAP-ENV:Body>
<ns1:ResultMsg>
<MSISDN ns1:type="xsd:string">254720471865</MSISDN>
<AMOUNT ns1:type="xsd:string">54.0</AMOUNT>
<M-PESA_TRX_DATE ns1:type="xsd:string">2014-12-01 16:24:06</M-PESA_TRX_DATE>
<M-PESA_TRX_ID ns1:type="xsd:string">null</M-PESA_TRX_ID>
<TRX_STATUS ns1:type="xsd:string">Success</TRX_STATUS>
<RETURN_CODE ns1:type="xsd:string">00</RETURN_CODE>
<DESCRIPTION ns1:type="xsd:string">Success</DESCRIPTION>
<MERCHANT_TRANSACTION_ID ns1:type="xsd:string">911-000</MERCHANT_TRANSACTION_ID>
<ENC_PARAMS ns1:type="xsd:string"></ENC_PARAMS>
<TRX_ID ns1:type="xsd:string">cce3d32e0159c1e62a9ec45b67676200</TRX_ID>
</ns1:ResultMsg>
</SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;

const STATUS_RESPONSE: &str = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="tns:ns">
<SOAP-ENV:Body>
<ns1:transactionStatusResponse>
<MSISDN>254720471865</MSISDN>
<AMOUNT>54000</AMOUNT>
<M-PESA_TRX_DATE>2014-12-01 16:59:07</M-PESA_TRX_DATE>
<M-PESA_TRX_ID>N/A</M-PESA_TRX_ID>
<TRX_STATUS>Failed</TRX_STATUS>
<RETURN_CODE>01</RETURN_CODE>
<DESCRIPTION>InsufficientFunds</DESCRIPTION>
<MERCHANT_TRANSACTION_ID/>
<ENC_PARAMS/>
<TRX_ID>ddd396509b168297141a747cd2dc1748</TRX_ID>
</ns1:transactionStatusResponse>
</SOAP-ENV:Body>
</SOAP-ENV:Envelope>"#;

const GET_QUERY: &str = "MSISDN=254700000000&MERCHANT_TRANSACTION_ID= FG232FT0&USERNAME=&PASSWORD=&AMOUNT=100&TRX_STATUS=Success &RETURN_CODE=00&DESCRIPTION=Transaction successful&M-PESA_TRX_DATE=2014-08-01 15:30:00&M-PESA_TRX_ID=FG232FT0&TRX_ID=1448&ENC_PARAMS=XXXXXXXXXXX";

const POST_LINES: &str = "MSISDN:254700000000\nAMOUNT:100\nM-PESA_TRX_DATE:2014-08-01 15:30:00\nM-PESA_TRX_ID:FG232FT0\nTRX_STATUS:Success\nRETURN_CODE:00\nDESCRIPTION:Transaction successful\nMERCHANT_TRANSACTION_ID:134562\nENC_PARAMS:XXXXXXXXXXX\nTRX_ID:1448\n";

fn inbound(method: &str, query: &str, body: &str) -> InboundRequest {
    InboundRequest {
        route: "pay-in".into(),
        method: method.into(),
        path: "/callbacks/x/pay-in/t1/secret".into(),
        query: query.into(),
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn the_password_is_base64_of_the_lower_case_hex_digest_as_the_seed_s_sample_is() {
    let sample =
        "MmRmNTliMjIzNjJhNmI5ODVhZGU5OTAxYWQ4NDJkZmI2MWE4ODg1ODFhMTQ3ZmZmNTFjMjg4M2UyYWQ5NTU3Yw==";
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(sample)
        .expect("base64");
    let hex_text = String::from_utf8(decoded).expect("text");
    assert_eq!(
        hex_text,
        "2df59b22362a6b985ade9901ad842dfb61a888581a147fff51c2883e2ad9557c"
    );
    assert!(
        hex_text
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    );
    // sha256("898945" + "passkey-from-the-sag" + "20141128174717"), computed apart.
    let ours = password("898945", "passkey-from-the-sag", "20141128174717");
    let ours = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&ours)
            .expect("base64"),
    )
    .expect("text");
    assert_eq!(
        ours,
        hex::encode(Sha256::digest("898945passkey-from-the-sag20141128174717"))
    );
    assert_eq!((ours.len(), sample.len()), (64, 88), "the sample's shape");
}

#[test]
fn process_check_out_is_the_seed_s_sample_request() {
    let request = process_request(&settings(), &order(), SAMPLE_MS).expect("request");
    let xml = String::from_utf8(request.body).expect("utf-8");
    for part in [
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="tns:ns">"#,
        "<soapenv:Header><tns:CheckOutHeader><MERCHANT_ID>898945</MERCHANT_ID><PASSWORD>",
        "<TIMESTAMP>20141128174717</TIMESTAMP></tns:CheckOutHeader></soapenv:Header>",
        "<soapenv:Body><tns:processCheckOutRequest><MERCHANT_TRANSACTION_ID>911-000</MERCHANT_TRANSACTION_ID>",
        "<REFERENCE_ID>1112254500</REFERENCE_ID><AMOUNT>54</AMOUNT><MSISDN>254720471865</MSISDN>",
        "<CALL_BACK_URL>http://172.21.20.215:8080/test</CALL_BACK_URL><CALL_BACK_METHOD>xml</CALL_BACK_METHOD>",
        "<TIMESTAMP>20141128174717</TIMESTAMP></tns:processCheckOutRequest></soapenv:Body></soapenv:Envelope>",
    ] {
        assert!(xml.contains(part), "{part}\nnot in\n{xml}");
    }
    let mut cents = order();
    cents.amount = money(5_450, "KES");
    assert!(process_request(&settings(), &cents, SAMPLE_MS).is_err());
}

#[test]
fn the_seed_s_responses_read_as_accepted_and_confirmed() {
    let processed = process_parse(&response(200, PROCESS_RESPONSE)).expect("accepted");
    assert_eq!(processed.trx_id, "cce3d32e0159c1e62a9ec45b67676200");
    assert!(processed.customer_message.contains("Bonga PIN"));
    assert!(
        confirm_parse(
            &response(200, CONFIRM_RESPONSE),
            "5f6af12be0800c4ffabb4cf2608f0808"
        )
        .is_ok()
    );
    assert_eq!(
        confirm_parse(&response(200, CONFIRM_RESPONSE), "another")
            .map_err(|f| f.kind)
            .err(),
        Some(FailureKind::Unknown)
    );
    let confirm = confirm_request(
        &settings(),
        "5f6af12be0800c4ffabb4cf2608f0808",
        "911-000",
        SAMPLE_MS,
    );
    let xml = String::from_utf8(confirm.body).expect("utf-8");
    assert!(xml.contains(
        "<tns:transactionConfirmRequest><TRX_ID>5f6af12be0800c4ffabb4cf2608f0808</TRX_ID>"
    ));
}

#[test]
fn a_refused_request_takes_its_kind_from_the_return_code() {
    let refused = |code: &str| {
        response(
            200,
            &PROCESS_RESPONSE.replace("<RETURN_CODE>00", &format!("<RETURN_CODE>{code}")),
        )
    };
    let kind = |code: &str| {
        process_parse(&refused(code))
            .err()
            .map(|failure| failure.kind)
    };
    assert_eq!(kind("36"), Some(FailureKind::Failed));
    assert_eq!(kind("29"), Some(FailureKind::Retryable));
    assert_eq!(
        kind("35"),
        Some(FailureKind::Unknown),
        "a duplicate: the first reached the SAG"
    );
    let fault = r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>Bad Request</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
    assert_eq!(
        process_parse(&response(500, fault)).err().map(|f| f.kind),
        Some(FailureKind::Failed)
    );
    let server = fault.replace("SOAP-ENV:Client", "SOAP-ENV:Server");
    assert_eq!(
        confirm_parse(&response(500, &server), "x")
            .err()
            .map(|f| f.kind),
        Some(FailureKind::Unknown),
        "a confirm that failed at the server may have sent the prompt"
    );
}

#[test]
fn the_xml_callback_is_paid_even_with_the_seed_s_null_receipt() {
    let notified = callback(&inbound("POST", "", RESULT_MSG)).expect("readable");
    assert_eq!(notified.trx_id, "cce3d32e0159c1e62a9ec45b67676200");
    let PayInOutcome::Paid(paid) = notified.outcome else {
        panic!("paid");
    };
    assert_eq!(paid.amount_cents, 5_400);
    assert_eq!(paid.receipt, None, "M-PESA_TRX_ID is the string null");
    assert_eq!(paid.account_reference.as_deref(), Some("911-000"));
    assert_eq!(paid.msisdn.as_deref(), Some("254720471865"));
    let unhyphenated = RESULT_MSG
        .replace("M-PESA_TRX_ID", "MPESA_TRX_ID")
        .replace(">null<", ">LGR019G3J2<");
    let PayInOutcome::Paid(paid) = callback(&inbound("POST", "", &unhyphenated))
        .expect("readable")
        .outcome
    else {
        panic!("paid");
    };
    assert_eq!(
        paid.receipt.as_deref(),
        Some("LGR019G3J2"),
        "the WSDL's name is read too"
    );
}

#[test]
fn the_get_and_post_callbacks_read_the_same_fields() {
    for request in [
        inbound("GET", GET_QUERY, ""),
        inbound("POST", "", POST_LINES),
        inbound("POST", "", GET_QUERY),
    ] {
        let notified = callback(&request).expect("readable");
        assert_eq!(notified.trx_id, "1448");
        let PayInOutcome::Paid(paid) = notified.outcome else {
            panic!("paid: {request:?}");
        };
        assert_eq!(
            (paid.amount_cents, paid.receipt.as_deref()),
            (10_000, Some("FG232FT0"))
        );
    }
    assert_eq!(callback_reply().body, b"ok");
}

#[test]
fn a_failed_callback_is_definitive_and_a_contradiction_establishes_nothing() {
    let failed = POST_LINES
        .replace("TRX_STATUS:Success", "TRX_STATUS:Failed")
        .replace("RETURN_CODE:00", "RETURN_CODE:05");
    assert!(matches!(
        callback(&inbound("POST", "", &failed)).expect("readable").outcome,
        PayInOutcome::Failed(failure) if failure.kind == FailureKind::Failed && failure.code == "05"
    ));
    let contradictory = POST_LINES.replace("RETURN_CODE:00", "RETURN_CODE:01");
    assert!(matches!(
        callback(&inbound("POST", "", &contradictory)),
        Err(Unreadable::Contradictory(_))
    ));
    let error = POST_LINES
        .replace("TRX_STATUS:Success", "TRX_STATUS:Error")
        .replace("RETURN_CODE:00", "RETURN_CODE:11");
    assert!(matches!(
        callback(&inbound("POST", "", &error)).expect("readable").outcome,
        PayInOutcome::Failed(failure) if failure.kind == FailureKind::Unknown
    ));
    assert!(matches!(
        callback(&inbound("POST", "", "<not-soap")),
        Err(Unreadable::Malformed(_))
    ));
}

#[test]
fn the_status_sample_is_a_definitive_insufficient_funds_and_pending_is_pending() {
    let trx_id = "ddd396509b168297141a747cd2dc1748";
    let notified = status_parse(&response(200, STATUS_RESPONSE), trx_id).expect("answered");
    assert!(matches!(
        notified.outcome,
        PayInOutcome::Failed(ref failure) if failure.kind == FailureKind::Failed && failure.code == "01"
    ));
    let pending = STATUS_RESPONSE.replace("<TRX_STATUS>Failed", "<TRX_STATUS>Pending");
    assert!(matches!(
        status_parse(&response(200, &pending), trx_id)
            .expect("answered")
            .outcome,
        PayInOutcome::Pending
    ));
    let down = STATUS_RESPONSE
        .replace("<TRX_STATUS>Failed</TRX_STATUS>", "<TRX_STATUS/>")
        .replace("<RETURN_CODE>01", "<RETURN_CODE>29");
    assert_eq!(
        status_parse(&response(200, &down), trx_id)
            .err()
            .map(|f| f.kind),
        Some(FailureKind::Retryable)
    );
    assert!(status_parse(&response(200, STATUS_RESPONSE), "another").is_err());
    let request = status_request(&settings(), trx_id, "911-100", SAMPLE_MS);
    let xml = String::from_utf8(request.body).expect("utf-8");
    assert!(xml.contains("<tns:transactionStatusRequest><TRX_ID>ddd396509b168297141a747cd2dc1748</TRX_ID><MERCHANT_TRANSACTION_ID>911-100</MERCHANT_TRANSACTION_ID>"));
}
