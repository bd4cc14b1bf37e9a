//! The G2 broker's SOAP: envelopes, the `RequestSOAPHeader`, and
//! `spPassword = BASE64(SHA-256(spId + password + timeStamp))`.
//!
//! What is base64-encoded is the digest's hex string, not its 32 bytes; the
//! one captured real request sent upper-case hex and public clients send
//! lower case (mobile-money notes §2.3). We send upper case and accept both.
//!
//! Elements are read by local name (quick-xml's serde ignores prefixes), so
//! `soapenv:`, `s:` and unprefixed envelopes all read the same.

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::SpCredentials;

/// `soapenv:`.
pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// `c2b:`, the validation and confirmation WSDL's target namespace.
pub const C2B_NS: &str = "http://cps.huawei.com/cpsinterface/c2bpayment";
/// `req:`, the broker's request namespace (RegisterURL's `RequestMsg`).
pub const REQUEST_NS: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/request";
/// The namespace of the `RequestSOAPHeader`.
pub const HEADER_NS: &str = "http://www.huawei.com/schema/osg/common/v2_1";

/// `BASE64(SHA-256(spId + password + timeStamp))`, over upper-case hex.
pub fn sp_password(sp_id: &str, password: &str, timestamp: &str) -> String {
    let digest = Sha256::digest(format!("{sp_id}{password}{timestamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hex::encode_upper(digest))
}

/// Whether `presented` is the `spPassword` of these values, in either hex case.
pub fn sp_password_matches(sp_id: &str, password: &str, timestamp: &str, presented: &str) -> bool {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(presented.trim()) else {
        return false;
    };
    let expected = hex::encode_upper(Sha256::digest(
        format!("{sp_id}{password}{timestamp}").as_bytes(),
    ));
    decoded.eq_ignore_ascii_case(expected.as_bytes())
}

/// `RequestSOAPHeader`: who sends, signed with the SP password.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct RequestSoapHeader {
    /// `spId`.
    #[serde(rename = "spId")]
    pub sp_id: String,
    /// `spPassword`, the hash.
    #[serde(rename = "spPassword")]
    pub sp_password: String,
    /// `serviceId`; empty when none.
    #[serde(rename = "serviceId")]
    pub service_id: String,
    /// `timeStamp`, `yyyyMMddHHmmss`: part of the hash.
    #[serde(rename = "timeStamp")]
    pub timestamp: String,
}

impl RequestSoapHeader {
    /// The header for `sp`, hashed at `timestamp` (`yyyyMMddHHmmss`).
    pub fn signed(sp: &SpCredentials, timestamp: &str) -> RequestSoapHeader {
        RequestSoapHeader {
            sp_id: sp.sp_id.clone(),
            sp_password: sp_password(&sp.sp_id, &sp.sp_password, timestamp),
            service_id: sp.service_id.clone().unwrap_or_default(),
            timestamp: timestamp.to_string(),
        }
    }

    /// Whether `sp` signed it. The timestamp's age is not checked: the broker
    /// did not check it either (mobile-money notes §2.3).
    pub fn verifies(&self, sp: &SpCredentials) -> bool {
        self.sp_id == sp.sp_id
            && sp_password_matches(
                &sp.sp_id,
                &sp.sp_password,
                &self.timestamp,
                &self.sp_password,
            )
    }

    /// As XML, for inside `soapenv:Header`.
    pub fn to_xml(&self) -> String {
        let service = if self.service_id.is_empty() {
            String::new()
        } else {
            format!(
                "<tns:serviceId>{}</tns:serviceId>",
                escape(&self.service_id)
            )
        };
        format!(
            "<tns:RequestSOAPHeader xmlns:tns=\"{HEADER_NS}\"><tns:spId>{}</tns:spId>\
             <tns:spPassword>{}</tns:spPassword><tns:timeStamp>{}</tns:timeStamp>{service}\
             </tns:RequestSOAPHeader>",
            escape(&self.sp_id),
            escape(&self.sp_password),
            escape(&self.timestamp),
        )
    }
}

/// A SOAP envelope with body `B`.
#[derive(Debug, Deserialize)]
pub struct Envelope<B> {
    /// `soapenv:Header`, often empty.
    #[serde(rename = "Header", default)]
    pub header: Option<Header>,
    /// `soapenv:Body`.
    #[serde(rename = "Body")]
    pub body: B,
}

/// `soapenv:Header`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Header {
    /// The broker's signed header, when sent.
    #[serde(rename = "RequestSOAPHeader")]
    pub request: Option<RequestSoapHeader>,
}

impl<B> Envelope<B> {
    /// The signed header, if any.
    pub fn request_header(&self) -> Option<&RequestSoapHeader> {
        self.header
            .as_ref()
            .and_then(|header| header.request.as_ref())
    }
}

/// Reads an envelope; `Err` is the parser's reason.
pub fn read<B: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<Envelope<B>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    quick_xml::de::from_str(text).map_err(|error| error.to_string())
}

/// An envelope around `body`, with `header` (empty for none) and the extra
/// namespace declarations `namespaces` (`xmlns:c2b="…"`).
pub fn envelope(namespaces: &str, header: &str, body: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"{ENVELOPE_NS}\" {namespaces}>\
         <soapenv:Header>{header}</soapenv:Header><soapenv:Body>{body}</soapenv:Body>\
         </soapenv:Envelope>"
    )
}

/// Escapes text for an element's content.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// `yyyyMMddHHmmss` in UTC, as the header's `timeStamp` is specified.
pub fn timestamp(now_ms: u64) -> String {
    corridor_connector_kit::time::format_local(now_ms, 0)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> SpCredentials {
        SpCredentials {
            sp_id: "888777".into(),
            sp_password: "spPassword".into(),
            service_id: Some("888777000".into()),
            register_url: "http://127.0.0.1:1/mminterface/registerURL".into(),
        }
    }

    #[test]
    fn sp_password_is_the_base64_of_the_upper_case_hex_digest_and_either_case_verifies() {
        // Seed 003's inputs: spId 888777, password spPassword, 20130702212854.
        let hashed = sp_password("888777", "spPassword", "20130702212854");
        let hex = base64::engine::general_purpose::STANDARD
            .decode(&hashed)
            .expect("base64");
        assert_eq!(hex.len(), 64);
        assert!(
            hex.iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        let lower = base64::engine::general_purpose::STANDARD
            .encode(String::from_utf8(hex).expect("hex").to_ascii_lowercase());
        assert!(sp_password_matches(
            "888777",
            "spPassword",
            "20130702212854",
            &lower
        ));
        assert!(!sp_password_matches(
            "888777",
            "wrong",
            "20130702212854",
            &hashed
        ));
    }

    #[test]
    fn a_signed_header_reads_back_and_verifies_only_with_the_same_password() {
        let header = RequestSoapHeader::signed(&sp(), "20161127093550");
        let xml = envelope("", &header.to_xml(), "<x/>");
        #[derive(Deserialize)]
        struct Any {}
        let read: Envelope<Any> = read(xml.as_bytes()).expect("an envelope");
        let back = read.request_header().expect("a header");
        assert_eq!(back, &header);
        assert!(back.verifies(&sp()));
        let mut other = sp();
        other.sp_password = "guessed".into();
        assert!(!back.verifies(&other));
    }

    #[test]
    fn the_timestamp_is_fourteen_digits_of_utc() {
        assert_eq!(timestamp(1_480_239_350_000), "20161127093550");
    }
}
