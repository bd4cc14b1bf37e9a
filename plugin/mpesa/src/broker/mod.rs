//! M-PESA B2C on the legacy G2 broker: SOAP over HTTP (seed 001; the
//! reference's §2, from the B2C API Specification v1.5 and its wire captures).
//!
//! The same guarantees as Daraja B2C: one `GenericAPIRequest` per transfer,
//! keyed by the host's pay-out reference as `OriginatorConversationID`; the
//! `ResultMsg` arrives later on the host's `pay-out` route and is unsigned
//! evidence; an unknown outcome is resolved by `queryTransaction`, which the
//! broker answers synchronously with the messages it exchanged, never by a
//! second request.
//!
//! - [`request`]: `GenericAPIRequest` and its `GenericAPIResponse`.
//! - [`result`]: the `ResultMsg`, `notifyQueueTimeout`, and the caller's SOAP answers.
//! - [`query`]: the `queryTransaction` call.
//! - [`messages`]: the messages as types.

pub mod messages;
pub mod query;
pub mod request;
pub mod result;

use base64::Engine as _;
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, misconfigured, retryable, unknown};
use corridor_connector_kit::settings::Settings;
use corridor_connector_kit::time::format_local;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The request endpoint below the broker's URL (capture: `POST /mminterface/request`).
pub const REQUEST_PATH: &str = "/mminterface/request";
/// The query endpoint below the broker's URL (public PHP clients, reference §2.1).
pub const QUERY_PATH: &str = "/queryTransactionService/services/transaction";

/// What the policy grants for the broker, beside the shared M-PESA settings.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// The broker's base URL (`http://<broker>:8310` plain, `https://<broker>:18423` TLS).
    pub url: String,
    /// `spId` (seed 001 "SPID").
    pub sp_id: String,
    /// The SP password that `spPassword` hashes (seed 001 "SPPassword").
    pub sp_password: String,
    /// `serviceId` (seed 001 "ServiceID").
    pub service_id: String,
    /// `Caller/ThirdPartyID`, the third party's id in M-PESA (spec).
    pub third_party_id: String,
    /// The B2C shortcode: `PrimaryParty` and the initiator's `ShortCode`.
    pub shortcode: String,
    /// The API operator (`Initiator/Identifier`).
    pub initiator_name: String,
    /// The operator's password, encrypted into `SecurityCredential`.
    pub initiator_password: String,
    /// The certificate (PEM) whose key encrypts the password.
    pub certificate_pem: String,
    /// `BusinessPayment`, `SalaryPayment` or `PromotionPayment`.
    pub command_id: String,
}

impl BrokerSettings {
    /// Reads the `mpesa_*` keys the broker needs. The broker's own keys are
    /// optional in the descriptor (Daraja needs none of them), so a missing
    /// one is `misconfigured` here, when the broker is chosen.
    pub fn from_settings(settings: &Settings<'_>) -> Result<BrokerSettings, Failure> {
        let broker = |key: &str| {
            settings
                .optional(key)
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| {
                    misconfigured(format!(
                        "{key} is required when mpesa_pay_out_protocol is broker"
                    ))
                })
        };
        Ok(BrokerSettings {
            url: broker("mpesa_broker_url")?
                .trim_end_matches('/')
                .to_string(),
            sp_id: broker("mpesa_sp_id")?,
            sp_password: broker("mpesa_sp_password")?,
            service_id: broker("mpesa_service_id")?,
            third_party_id: broker("mpesa_third_party_id")?,
            shortcode: settings.required("mpesa_shortcode")?,
            initiator_name: settings.required("mpesa_initiator_name")?,
            initiator_password: settings.required("mpesa_initiator_password")?,
            certificate_pem: settings.required("mpesa_certificate")?,
            command_id: crate::command_id(settings)?,
        })
    }
}

/// `spPassword = BASE64(SHA-256(spId + password + timeStamp))`, where what is
/// base64-encoded is the digest's **upper-case hex** text: the captured,
/// accepted request decodes to 64 upper-case hex characters (reference §2.3).
pub fn sp_password(sp_id: &str, password: &str, time_stamp: &str) -> String {
    let digest = Sha256::digest(format!("{sp_id}{password}{time_stamp}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hex::encode_upper(digest))
}

/// The header `timeStamp`, `yyyyMMddHHmmss` in UTC (spec: "UTC time").
pub fn header_time_stamp(now_ms: u64) -> Result<String, Failure> {
    let text = format_local(now_ms, 0)
        .ok_or_else(|| failed("clock", "the clock is outside the years 1-9999"))?;
    Ok(text.chars().filter(char::is_ascii_digit).collect())
}

/// `Transaction/Timestamp`, ISO 8601 UTC with milliseconds (the capture's
/// `2014-09-27T12:53:19.0000521Z` has seven fraction digits; guess that three do).
pub fn transaction_timestamp(now_ms: u64) -> Result<String, Failure> {
    let text = format_local(now_ms, 0)
        .ok_or_else(|| failed("clock", "the clock is outside the years 1-9999"))?;
    Ok(format!("{}.{:03}Z", text.replace(' ', "T"), now_ms % 1000))
}

/// Serializes a message as XML.
fn to_xml(message: &impl Serialize) -> Result<String, Failure> {
    quick_xml::se::to_string(message)
        .map_err(|error| failed("invalid-request", format!("cannot encode XML: {error}")))
}

/// Parses a document, tolerating the capture's doubled single quotes in the
/// declaration and root namespace (`version=''1.0''`, reference §2.2).
fn from_xml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let text = text.trim_start_matches('\u{feff}').trim();
    let normalised;
    let text = if text.contains("''") {
        // Only the prolog and the root's start tag carry the quirk.
        let end = text
            .find('>')
            .and_then(|first| text[first + 1..].find('>').map(|second| first + second + 2))
            .unwrap_or(text.len());
        normalised = format!("{}{}", text[..end].replace("''", "\""), &text[end..]);
        normalised.as_str()
    } else {
        text
    };
    quick_xml::de::from_str(text).map_err(|error| format!("not the expected XML: {error}"))
}

/// What a broker code on the synchronous path means, mapped as Daraja's
/// refusals are: validation and authorisation refusals are `failed`
/// (nothing was processed), load shedding is `retryable`, a server error or a
/// cached request is `unknown` (it may yet be processed: query it).
pub fn response_failure(code: &str, description: &str) -> Failure {
    let message = format!("the broker answered {code}: {description}");
    match code.trim_start_matches('0') {
        // 26 SystemTooBusy; 100000001 overload, 100000002 throttling,
        // 100000003 licence limit, 100000011 request rate (reference §2.4).
        "26" | "100000001" | "100000002" | "100000003" | "100000011" => retryable(code, message),
        // 100000000: "Request was cached, waiting for resending": it may be
        // processed later. 100000004: internal server error. Unknown codes too.
        "100000000" | "100000004" => unknown(code, message),
        // 23/24/25 schema and parameters, 30 serialisation, 100000005 invalid
        // input, 100000006–100000010 SP/service/API status and authentication,
        // 100000012 balance, 100000013 no route, 100000014 missing parameter.
        "23" | "24" | "25" | "30" | "100000005" | "100000006" | "100000007" | "100000008"
        | "100000009" | "100000010" | "100000012" | "100000013" | "100000014" => {
            failed(code, message)
        }
        _ => unknown(code, message),
    }
}

/// Whether a response code says "accepted": `0` or `00000000` (reference §2.4).
pub fn is_success(code: &str) -> bool {
    !code.trim().is_empty() && code.trim().chars().all(|c| c == '0')
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn settings() -> BrokerSettings {
        BrokerSettings {
            url: "http://127.0.0.1:1".into(),
            sp_id: "151515".into(),
            sp_password: "sp-secret".into(),
            service_id: "151515000".into(),
            third_party_id: "898941".into(),
            shortcode: "600992".into(),
            initiator_name: "testapi".into(),
            initiator_password: "Safaricom999!*!".into(),
            certificate_pem: String::new(),
            command_id: "BusinessPayment".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_password_is_base64_of_the_upper_case_hex_digest() {
        let password = sp_password("151515", "secret", "20140730093620");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&password)
            .expect("base64");
        let hex_text = String::from_utf8(decoded).expect("ascii");
        assert_eq!(hex_text.len(), 64);
        assert_eq!(hex_text, hex_text.to_uppercase());
        let expected = hex::encode_upper(Sha256::digest(b"151515secret20140730093620"));
        assert_eq!(hex_text, expected);
        // The capture's spPassword has this shape: 88 base64 characters of 64 hex digits.
        assert_eq!(password.len(), 88);
    }

    #[test]
    fn timestamps_are_utc_in_the_two_formats_the_broker_uses() {
        // 2014-09-27 12:53:19.052 UTC.
        let ms = 1_411_822_399_052;
        assert_eq!(header_time_stamp(ms).expect("stamp"), "20140927125319");
        assert_eq!(
            transaction_timestamp(ms).expect("stamp"),
            "2014-09-27T12:53:19.052Z"
        );
    }

    #[test]
    fn synchronous_codes_map_as_daraja_refusals_do() {
        use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
        let kind = |code: &str| response_failure(code, "x").kind;
        assert_eq!(kind("100000007"), FailureKind::Failed, "authentication");
        assert_eq!(kind("24"), FailureKind::Failed, "missing parameters");
        assert_eq!(kind("100000002"), FailureKind::Retryable, "throttling");
        assert_eq!(kind("26"), FailureKind::Retryable, "too busy");
        assert_eq!(kind("100000000"), FailureKind::Unknown, "cached");
        assert_eq!(kind("100000004"), FailureKind::Unknown, "server error");
        assert_eq!(kind("999"), FailureKind::Unknown, "not understood");
        assert!(is_success("0") && is_success("00000000") && !is_success("15"));
    }
}
