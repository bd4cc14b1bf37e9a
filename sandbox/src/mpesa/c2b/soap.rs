//! The broker's SOAP side of C2B (seed 003, mobile-money notes §3): the
//! RegisterURL endpoint (`/mminterface/registerURL`, a CDATA-wrapped
//! `request` under a signed `RequestSOAPHeader`), the validation and
//! confirmation requests it sends, and SOAP faults for what it cannot read.
//!
//! `spPassword = BASE64(SHA-256(spId + password + timeStamp))` over the hex
//! digest; the broker compares the hex case-insensitively (both cases are in
//! use) and signs with upper case, as the one captured request did.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{C2bPayment, Form, Registration, save, soap_gate};
use crate::World;
use crate::journal::Direction;
use crate::money::format_minor;
use crate::mpesa::is_url;

const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const C2B_NS: &str = "http://cps.huawei.com/cpsinterface/c2bpayment";
const REQUEST_NS: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/request";
const RESPONSE_NS: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/response";
const HEADER_NS: &str = "http://www.huawei.com/schema/osg/common/v2_1";

fn hashed(sp_id: &str, password: &str, timestamp: &str) -> String {
    hex::encode_upper(Sha256::digest(
        format!("{sp_id}{password}{timestamp}").as_bytes(),
    ))
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

fn envelope(namespaces: &str, header: &str, body: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"{ENVELOPE_NS}\" {namespaces}>\
         <soapenv:Header>{header}</soapenv:Header><soapenv:Body>{body}</soapenv:Body>\
         </soapenv:Envelope>"
    )
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "text/xml; charset=UTF-8")], body).into_response()
}

/// A SOAP 1.1 fault: `Client` for what the caller sent wrong, `Server` for
/// the broker's own trouble.
pub(super) fn fault(code: &str, reason: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        envelope(
            "",
            "",
            &format!(
                "<soapenv:Fault><faultcode>soapenv:{code}</faultcode>\
                 <faultstring>{}</faultstring></soapenv:Fault>",
                escape(reason)
            ),
        ),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SoapHeader {
    #[serde(rename = "spId")]
    sp_id: String,
    #[serde(rename = "spPassword")]
    sp_password: String,
    #[serde(rename = "timeStamp")]
    timestamp: String,
}

#[derive(Debug, Deserialize)]
struct RegisterEnvelope {
    #[serde(rename = "Header", default)]
    header: Option<HeaderBlock>,
    #[serde(rename = "Body")]
    body: RegisterBody,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeaderBlock {
    #[serde(rename = "RequestSOAPHeader")]
    request: Option<SoapHeader>,
}

#[derive(Debug, Deserialize)]
struct RegisterBody {
    #[serde(rename = "RequestMsg")]
    request: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct RegisterRequest {
    transaction: Transaction,
    identity: Identity,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Transaction {
    #[serde(rename = "CommandID")]
    command_id: String,
    #[serde(rename = "OriginatorConversationID")]
    originator_conversation_id: String,
    parameters: Parameters,
    reference_data: ReferenceData,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Parameters {
    #[serde(rename = "Parameter")]
    items: Vec<Pair>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReferenceData {
    #[serde(rename = "ReferenceItem")]
    items: Vec<Pair>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Pair {
    key: String,
    value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Identity {
    primary_party: PrimaryParty,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct PrimaryParty {
    short_code: String,
}

/// The broker's `ResponseMsg`: a CDATA-wrapped `response`.
fn response_msg(code: &str, description: &str, originator: &str) -> Response {
    let inner = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><response xmlns=\"{RESPONSE_NS}\">\
         <ResponseCode>{code}</ResponseCode><ResponseDesc>{}</ResponseDesc><ConversationID></ConversationID>\
         <OriginatorConversationID>{}</OriginatorConversationID><ServiceStatus>0</ServiceStatus></response>",
        escape(description),
        escape(originator)
    );
    xml(
        StatusCode::OK,
        envelope(
            &format!("xmlns:req=\"{REQUEST_NS}\""),
            "",
            &format!("<req:ResponseMsg><![CDATA[{inner}]]></req:ResponseMsg>"),
        ),
    )
}

/// `POST /mminterface/registerURL`.
pub(in crate::mpesa) async fn register_soap(
    State(world): State<Arc<World>>,
    body: String,
) -> Response {
    world.journal.record(
        "mpesa",
        Direction::Received,
        "POST /mminterface/registerURL".into(),
        0,
        body.clone(),
    );
    if let Some(fault) = soap_gate(&world, "mpesa.c2b-register").await {
        return fault;
    }
    let envelope: RegisterEnvelope = match quick_xml::de::from_str(&body) {
        Ok(envelope) => envelope,
        Err(problem) => return fault("Client", &format!("malformed envelope: {problem}")),
    };
    if !authenticated(&world, envelope.header) {
        return response_msg("100000007", "Authentication failed", "");
    }
    let request: RegisterRequest = match quick_xml::de::from_str(envelope.body.request.trim()) {
        Ok(request) => request,
        Err(problem) => return fault("Client", &format!("malformed RequestMsg: {problem}")),
    };
    // Every reply echoes the request's OriginatorConversationID, empty or not.
    let originator = request.transaction.originator_conversation_id.clone();
    let (shortcode, registration) = match registration(request) {
        Ok(registered) => registered,
        Err((code, description)) => return response_msg(code, &description, &originator),
    };
    save(&world, shortcode, registration);
    response_msg("00000000", "success", &originator)
}

/// Whether the `RequestSOAPHeader` names our SP and carries its password,
/// hashed with the header's own timestamp.
fn authenticated(world: &World, header: Option<HeaderBlock>) -> bool {
    let sp = &world.config.mpesa.c2b;
    let header = header.and_then(|header| header.request).unwrap_or_default();
    let presented = base64::engine::general_purpose::STANDARD
        .decode(header.sp_password.trim())
        .unwrap_or_default();
    let expected = hashed(&sp.sp_id, &sp.sp_password, &header.timestamp);
    header.sp_id == sp.sp_id && presented.eq_ignore_ascii_case(expected.as_bytes())
}

/// The value under `key` in a `Parameter` or `ReferenceItem` list, trimmed.
fn pair_value(pairs: &[Pair], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|pair| pair.key.trim() == key)
        .map(|pair| pair.value.trim().to_string())
}

/// Checks a RegisterURL request field by field, in the broker's order, and
/// gives its shortcode and registration, or the `ResponseCode` and
/// `ResponseDesc` refusing the first field that is wrong.
fn registration(
    request: RegisterRequest,
) -> Result<(String, Registration), (&'static str, String)> {
    let transaction = request.transaction;
    let parameter = |key: &str| pair_value(&transaction.parameters.items, key);
    let reference =
        |key: &str| pair_value(&transaction.reference_data.items, key).filter(|url| is_url(url));
    let shortcode = request.identity.primary_party.short_code.trim().to_string();
    let invalid = |what: &str| ("100000005", format!("Invalid input value:{what}"));
    if transaction.command_id != "RegisterURL" {
        return Err(invalid("CommandID"));
    }
    if transaction.originator_conversation_id.is_empty() {
        return Err((
            "100000014",
            "Missing mandatory parameter:OriginatorConversationID".into(),
        ));
    }
    let response_type = parameter("ResponseType").unwrap_or_default();
    if response_type != "Completed" && response_type != "Cancelled" {
        return Err(invalid("ResponseType"));
    }
    let (Some(validation_url), Some(confirmation_url)) =
        (reference("ValidationURL"), reference("ConfirmationURL"))
    else {
        return Err(invalid("ReferenceData"));
    };
    if shortcode.is_empty() {
        return Err(invalid("PrimaryParty.ShortCode"));
    }
    let registration = Registration {
        form: Form::Soap,
        response_type,
        confirmation_url,
        validation_url,
    };
    Ok((shortcode, registration))
}

/// A validation (`org_balance` `None`) or confirmation request, signed.
pub(super) fn notification(
    world: &World,
    payment: &C2bPayment,
    trans_time: &str,
    name: &str,
    org_balance: Option<i64>,
) -> String {
    let c2b = &world.config.mpesa.c2b;
    let timestamp = crate::clock::local_time(crate::now_ms(), 0, "yyyyMMddHHmmss");
    let password = base64::engine::general_purpose::STANDARD.encode(hashed(
        &c2b.sp_id,
        &c2b.sp_password,
        &timestamp,
    ));
    let header = format!(
        "<tns:RequestSOAPHeader xmlns:tns=\"{HEADER_NS}\"><tns:spId>{}</tns:spId>\
         <tns:spPassword>{password}</tns:spPassword><tns:timeStamp>{timestamp}</tns:timeStamp>\
         <tns:serviceId>{}</tns:serviceId></tns:RequestSOAPHeader>",
        escape(&c2b.sp_id),
        escape(&c2b.service_id),
    );
    let element = if org_balance.is_some() {
        "C2BPaymentConfirmationRequest"
    } else {
        "C2BPaymentValidationRequest"
    };
    let confirmation_fields = org_balance.map_or(String::new(), |balance| {
        format!(
            "<OrgAccountBalance>{}</OrgAccountBalance><ThirdPartyTransID></ThirdPartyTransID>",
            format_minor(balance)
        )
    });
    let mut names = name.split_whitespace();
    let first = names.next().unwrap_or_default();
    let last = names.next_back().unwrap_or_default();
    let middle = names.collect::<Vec<_>>().join(" ");
    let kyc = [("First Name", first), ("Middle Name", &middle), ("Last Name", last)]
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(field, value)| {
            format!(
                "<KYCInfo><KYCName>[Personal Details][{field}]</KYCName><KYCValue>{}</KYCValue></KYCInfo>",
                escape(value)
            )
        })
        .collect::<String>();
    let kind = &c2b.soap_trans_type_element;
    let body = format!(
        "<c2b:{element}><{kind}>PayBill</{kind}><TransID>{}</TransID><TransTime>{trans_time}</TransTime>\
         <TransAmount>{}</TransAmount><BusinessShortCode>{}</BusinessShortCode>\
         <BillRefNumber>{}</BillRefNumber><InvoiceNumber></InvoiceNumber>{confirmation_fields}\
         <MSISDN>{}</MSISDN>{kyc}</c2b:{element}>",
        escape(&payment.trans_id),
        format_minor(payment.amount_cents),
        escape(&payment.shortcode),
        escape(&payment.bill_ref),
        escape(&payment.msisdn),
    );
    envelope(&format!("xmlns:c2b=\"{C2B_NS}\""), &header, &body)
}

#[derive(Debug, Deserialize)]
struct ResultEnvelope {
    #[serde(rename = "Body")]
    body: ResultBody,
}

#[derive(Debug, Deserialize)]
struct ResultBody {
    #[serde(rename = "C2BPaymentValidationResult")]
    result: ValidationResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ValidationResult {
    result_code: String,
}

/// The `ResultCode` of a `C2BPaymentValidationResult`, if the reply is one.
pub(super) fn validation_result_code(reply: &str) -> Option<String> {
    quick_xml::de::from_str::<ResultEnvelope>(reply)
        .ok()
        .map(|envelope| envelope.body.result.result_code.trim().to_string())
}
