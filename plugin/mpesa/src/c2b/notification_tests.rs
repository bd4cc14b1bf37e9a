//! Seed 003's SOAP samples and Daraja's documented v2 payload, read into
//! one payment.

use super::*;
use crate::c2b::soap::RequestSoapHeader;
use crate::c2b::{ResponseType, SpCredentials};

/// Seed 003's confirmation sample, verbatim but for the curly quotes of its
/// typesetting and the signed header (its sample's header is empty).
fn seed_confirmation(header: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c2b="http://cps.huawei.com/cpsinterface/c2bpayment">
<soapenv:Header>{header}</soapenv:Header>
<soapenv:Body>
<c2b:C2BPaymentConfirmationRequest>
<TransactionType>PayBill</TransactionType>
<TransID>1234560000007031</TransID>
<TransTime>20140227082020</TransTime>
<TransAmount>123.00</TransAmount>
<BusinessShortCode>12345</BusinessShortCode>
<BillRefNumber>TX1001</BillRefNumber>
<InvoiceNumber></InvoiceNumber>
<OrgAccountBalance>12345.00</OrgAccountBalance>
<ThirdPartyTransID></ThirdPartyTransID>
<MSISDN>254722703614</MSISDN>
<KYCInfo>
<KYCName>[Personal Details][First Name]</KYCName>
<KYCValue>Hoiyor</KYCValue>
</KYCInfo>
<KYCInfo>
<KYCName>[Personal Details][Middle Name]</KYCName>
<KYCValue>G</KYCValue>
</KYCInfo>
<KYCInfo>
<KYCName>[Personal Details][Last Name]</KYCName>
<KYCValue>Chen</KYCValue>
</KYCInfo>
</c2b:C2BPaymentConfirmationRequest>
</soapenv:Body>
</soapenv:Envelope>"#
    )
}

/// Seed 003's validation sample, with the WSDL's `TransType` instead.
fn seed_validation(header: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c2b="http://cps.huawei.com/cpsinterface/c2bpayment">
<soapenv:Header>{header}</soapenv:Header>
<soapenv:Body>
<c2b:C2BPaymentValidationRequest>
<TransType>PayBill</TransType>
<TransID>1234560000007031</TransID>
<TransTime>20140227082020</TransTime>
<TransAmount>123.00</TransAmount>
<BusinessShortCode>12345</BusinessShortCode>
<BillRefNumber></BillRefNumber>
<InvoiceNumber></InvoiceNumber>
<MSISDN>254722703614</MSISDN>
</c2b:C2BPaymentValidationRequest>
</soapenv:Body>
</soapenv:Envelope>"#
    )
}

/// Daraja's documented v2 payload (payment-api notes §1.7).
const DARAJA_V2: &str = r#"{ "TransactionType": "Pay Bill", "TransID": "RKL51ZDR4F", "TransTime": "20231121121325",
  "TransAmount": "5.00", "BusinessShortCode": "600966", "BillRefNumber": "Sample Transaction",
  "InvoiceNumber": "", "OrgAccountBalance": "25.00", "ThirdPartyTransID": "",
  "MSISDN": "2547 ***** 126", "FirstName": "NICHOLAS", "MiddleName": "", "LastName": "" }"#;

fn sp() -> SpCredentials {
    SpCredentials {
        sp_id: "107031".into(),
        sp_password: "broker-secret".into(),
        service_id: Some("107031000".into()),
        register_url: "http://127.0.0.1:1/mminterface/registerURL".into(),
    }
}

fn settings(form: C2bForm, shortcode: &str) -> C2bSettings {
    C2bSettings {
        form,
        shortcode: shortcode.into(),
        response_type: ResponseType::Cancelled,
        sp: (form == C2bForm::Soap).then(sp),
    }
}

fn signed() -> String {
    RequestSoapHeader::signed(&sp(), "20140227082020").to_xml()
}

#[test]
fn the_seeds_soap_confirmation_reads_into_a_payment_in_cents() {
    let payment = parse(
        &settings(C2bForm::Soap, "12345"),
        NotificationKind::Confirmation,
        seed_confirmation(&signed()).as_bytes(),
    )
    .expect("a payment");
    assert_eq!(
        payment,
        C2bPayment {
            trans_id: "1234560000007031".into(),
            trans_type: "PayBill".into(),
            trans_time: "20140227082020".into(),
            amount_cents: 12_300,
            business_short_code: "12345".into(),
            bill_ref_number: "TX1001".into(),
            msisdn: "254722703614".into(),
            payer_name: "Hoiyor G Chen".into(),
            org_account_balance: Some(1_234_500),
        }
    );
}

#[test]
fn the_wsdls_trans_type_is_read_as_well_as_the_samples_transaction_type() {
    let payment = parse(
        &settings(C2bForm::Soap, "12345"),
        NotificationKind::Validation,
        seed_validation(&signed()).as_bytes(),
    )
    .expect("a payment");
    assert_eq!(payment.trans_type, "PayBill");
    assert_eq!(payment.bill_ref_number, "");
    assert_eq!(payment.org_account_balance, None);
}

#[test]
fn an_unsigned_or_wrongly_signed_soap_notification_is_a_forgery() {
    let soap = settings(C2bForm::Soap, "12345");
    assert_eq!(
        parse(
            &soap,
            NotificationKind::Confirmation,
            seed_confirmation("").as_bytes()
        ),
        Err(C2bError::Unsigned),
        "seed 003's own sample has an empty header"
    );
    let mut forger = sp();
    forger.sp_password = "guessed".into();
    let forged = RequestSoapHeader::signed(&forger, "20140227082020").to_xml();
    assert_eq!(
        parse(
            &soap,
            NotificationKind::Confirmation,
            seed_confirmation(&forged).as_bytes()
        ),
        Err(C2bError::Forged)
    );
}

#[test]
fn a_validation_on_the_confirmation_route_and_a_broken_envelope_are_malformed() {
    let soap = settings(C2bForm::Soap, "12345");
    assert!(matches!(
        parse(
            &soap,
            NotificationKind::Confirmation,
            seed_validation(&signed()).as_bytes()
        ),
        Err(C2bError::Malformed(_))
    ));
    assert!(matches!(
        parse(
            &soap,
            NotificationKind::Validation,
            b"<soapenv:Envelope><soapenv:Body>"
        ),
        Err(C2bError::Malformed(_))
    ));
}

#[test]
fn darajas_v2_payload_keeps_the_masked_msisdn_and_names_the_payer() {
    let payment = parse(
        &settings(C2bForm::DarajaV2, "600966"),
        NotificationKind::Validation,
        DARAJA_V2.as_bytes(),
    )
    .expect("a payment");
    assert_eq!(payment.amount_cents, 500);
    assert_eq!(payment.msisdn, "2547 ***** 126");
    assert_eq!(payment.payer_name, "NICHOLAS");
    assert_eq!(payment.bill_ref_number, "Sample Transaction");
    assert_eq!(payment.org_account_balance, Some(2500));
}

#[test]
fn a_payment_to_another_shortcode_or_of_no_amount_is_refused() {
    assert_eq!(
        parse(
            &settings(C2bForm::DarajaV1, "600984"),
            NotificationKind::Validation,
            DARAJA_V2.as_bytes()
        ),
        Err(C2bError::WrongShortcode("600966".into()))
    );
    let floating = DARAJA_V2.replace("\"5.00\"", "5.005");
    assert_eq!(
        parse(
            &settings(C2bForm::DarajaV2, "600966"),
            NotificationKind::Validation,
            floating.as_bytes()
        ),
        Err(C2bError::BadAmount("5.005".into()))
    );
}
