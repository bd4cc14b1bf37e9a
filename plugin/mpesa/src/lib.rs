//! The M-PESA rail: Safaricom Daraja.
//!
//! - [`oauth`]: the access token (cached by the component, refreshed early).
//! - [`credential`]: `SecurityCredential`, the initiator password encrypted
//!   with the published certificate.
//! - [`b2c`]: the payment request (v3 with `OriginatorConversationID`, or v1).
//! - [`broker`]: B2C on the legacy G2 SOAP broker, the third pay-out protocol.
//! - [`status`]: Transaction Status, for results that never arrived.
//! - [`callback`]: the `Result` and `QueueTimeOutURL` callbacks.
//! - [`messages`]: Daraja's requests, replies and callbacks as types.
//! - [`msisdn`]: the recipient, a Kenyan M-PESA number, checked and normalised.
//! - [`c2b`]: Paybill collections: RegisterURL, validation and confirmation
//!   (Daraja JSON v1/v2 and the broker's SOAP), and the receipt's status.
//! - [`reversal`]: giving a C2B payment back, and the status of a reversal.
//! - [`pay_in`]: the neutral outcome every pay-in protocol reads into, and
//!   the `mpesa_pay_in_protocol` settings; [`express`] (Daraja's STK push) and
//!   [`checkout`] (the SOAP Online Checkout, seed 004) are two such protocols.

pub mod b2c;
pub mod broker;
pub mod c2b;
pub mod callback;
pub mod checkout;
pub mod credential;
pub mod express;
pub mod messages;
pub mod msisdn;
pub mod oauth;
pub mod pay_in;
mod pay_in_settings;
pub mod reversal;
pub mod status;

use corridor_connector_kit::bindings::corridor::connector::http::Response;
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, misconfigured, retryable, unknown};
use corridor_connector_kit::settings::Settings;
use messages::DarajaError;

/// How M-PESA pays out (`mpesa_pay_out_protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayOutProtocol {
    /// `daraja-v3`: `/mpesa/b2c/v3/paymentrequest`, with `OriginatorConversationID`.
    DarajaV3,
    /// `daraja-v1`: `/mpesa/b2c/v1/paymentrequest`: Daraja assigns the originator id.
    DarajaV1,
    /// `broker`: `GenericAPIRequest` on the G2 SOAP broker ([`broker`]).
    Broker,
}

impl PayOutProtocol {
    /// Reads `mpesa_pay_out_protocol`; `daraja-v3` when it is not set.
    pub fn from_settings(settings: &Settings<'_>) -> Result<PayOutProtocol, Failure> {
        match settings.optional("mpesa_pay_out_protocol").as_deref() {
            None | Some("daraja-v3") => Ok(PayOutProtocol::DarajaV3),
            Some("daraja-v1") => Ok(PayOutProtocol::DarajaV1),
            Some("broker") => Ok(PayOutProtocol::Broker),
            Some(other) => Err(misconfigured(format!(
                "mpesa_pay_out_protocol = {other:?}: use daraja-v3, daraja-v1 or broker"
            ))),
        }
    }
}

/// Reads `mpesa_command_id`: one of the B2C commands, `BusinessPayment` by default.
pub fn command_id(settings: &Settings<'_>) -> Result<String, Failure> {
    let command_id = settings
        .optional("mpesa_command_id")
        .unwrap_or_else(|| "BusinessPayment".into());
    if !["BusinessPayment", "SalaryPayment", "PromotionPayment"].contains(&command_id.as_str()) {
        return Err(misconfigured(format!(
            "mpesa_command_id = {command_id:?} is not a B2C command"
        )));
    }
    Ok(command_id)
}

/// What the policy grants for M-PESA.
pub struct MpesaSettings {
    /// Daraja's base URL.
    pub base_url: String,
    /// The app's consumer key.
    pub consumer_key: String,
    /// The app's consumer secret.
    pub consumer_secret: String,
    /// The B2C shortcode (`PartyA`).
    pub shortcode: String,
    /// The API operator (`InitiatorName`).
    pub initiator_name: String,
    /// The operator's password, encrypted into `SecurityCredential`.
    pub initiator_password: String,
    /// Daraja's certificate (PEM), whose key encrypts the password.
    pub certificate_pem: String,
    /// The pay-out protocol.
    pub pay_out_protocol: PayOutProtocol,
    /// `BusinessPayment`, `SalaryPayment` or `PromotionPayment`.
    pub command_id: String,
}

impl MpesaSettings {
    /// Reads the `mpesa_*` keys.
    pub fn from_settings(settings: &Settings<'_>) -> Result<MpesaSettings, Failure> {
        let pay_out_protocol = PayOutProtocol::from_settings(settings)?;
        let command_id = command_id(settings)?;
        Ok(MpesaSettings {
            base_url: settings
                .required("mpesa_base_url")?
                .trim_end_matches('/')
                .to_string(),
            consumer_key: settings.required("mpesa_consumer_key")?,
            consumer_secret: settings.required("mpesa_consumer_secret")?,
            shortcode: settings.required("mpesa_shortcode")?,
            initiator_name: settings.required("mpesa_initiator_name")?,
            initiator_password: settings.required("mpesa_initiator_password")?,
            certificate_pem: settings.required("mpesa_certificate")?,
            pay_out_protocol,
            command_id,
        })
    }
}

/// Why Daraja did not accept a request.
#[derive(Debug)]
pub enum Rejection {
    /// `404.001.03`: the token is invalid or expired (each new token invalidates
    /// the last). The request was not processed: refresh and send it again.
    TokenRejected,
    /// Anything else.
    Failed(Failure),
}

/// A B2C / status request answered with an error. Spike arrest and quota
/// (`500.003.02/03`) and validation (`400.*`) were not processed; other server
/// errors may hide a processed request (`unknown`).
fn rejection(response: &Response) -> Rejection {
    let envelope: Option<DarajaError> = serde_json::from_slice(&response.body).ok();
    let Some(envelope) = envelope else {
        let code = format!("http-{}", response.status);
        return Rejection::Failed(if response.status >= 500 {
            unknown(&code, "Daraja answered with a server error and no envelope")
        } else {
            failed(&code, "Daraja refused the request with no envelope")
        });
    };
    let (code, message) = (envelope.error_code.as_str(), envelope.error_message);
    Rejection::Failed(match code {
        "404.001.03" | "401.002.01" | "400.003.01" => return Rejection::TokenRejected,
        "500.003.02" | "500.003.03" => retryable(code, message),
        "500.002.1001" => unknown(
            code,
            format!("{message} The first request reached M-PESA: query it"),
        ),
        _ if code.starts_with("400.") || code.starts_with("404.") || code.starts_with("405.") => {
            failed(code, message)
        }
        _ => unknown(code, message),
    })
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn settings() -> MpesaSettings {
        MpesaSettings {
            base_url: "http://127.0.0.1:1".into(),
            consumer_key: "key".into(),
            consumer_secret: "secret".into(),
            shortcode: "600992".into(),
            initiator_name: "testapi".into(),
            initiator_password: "Safaricom999!*!".into(),
            certificate_pem: String::new(),
            pay_out_protocol: PayOutProtocol::DarajaV3,
            command_id: "BusinessPayment".into(),
        }
    }

    pub fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod protocol_tests {
    use super::*;

    #[test]
    fn the_pay_out_protocol_is_one_of_three_and_daraja_v3_by_default() {
        let read = |value: Option<&'static str>| {
            let lookup = move |key: &str| {
                value
                    .filter(|_| key == "mpesa_pay_out_protocol")
                    .map(str::to_string)
            };
            PayOutProtocol::from_settings(&Settings::new(&lookup))
        };
        assert_eq!(read(None).ok(), Some(PayOutProtocol::DarajaV3));
        assert_eq!(read(Some("broker")).ok(), Some(PayOutProtocol::Broker));
        let refused = read(Some("daraja-v2")).expect_err("refused");
        assert_eq!(refused.code, "misconfigured");
        assert!(
            refused.message.contains("daraja-v3, daraja-v1 or broker"),
            "{}",
            refused.message
        );
    }
}
