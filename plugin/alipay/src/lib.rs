//! The Alipay rail: the legacy global mapi gateway (`gateway.do`).
//!
//! - [`sign`]: the signing string and MD5 / RSA / RSA2 signatures, both ways.
//! - [`order`]: the signed `create_forex_trade_wap` URL the payer opens.
//! - [`notify`]: the asynchronous trade notification and `notify_verify`.
//! - [`query`]: `single_trade_query` and its XML.
//! - [`refund`]: the `forex_refund` call.
//! - [`messages`]: the notification, the query reply and the trade status as types.

pub mod messages;
pub mod notify;
pub mod order;
pub mod query;
pub mod refund;
pub mod sign;
mod xml;

use std::collections::BTreeMap;

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};

use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::misconfigured;
use corridor_connector_kit::settings::Settings;
pub use sign::SignType;

/// How this merchant signs, and how it checks what Alipay signs.
pub enum Keys {
    /// One shared key both ways.
    Md5 {
        /// The partner's MD5 key.
        key: String,
    },
    /// The merchant signs with its private key; Alipay with its own.
    Rsa {
        /// SHA1 (`RSA`) or SHA256 (`RSA2`).
        sign_type: SignType,
        /// The merchant's private key.
        merchant: Box<RsaPrivateKey>,
        /// Alipay's public key.
        alipay: Box<RsaPublicKey>,
    },
}

/// What the policy grants for Alipay.
pub struct AlipaySettings {
    /// `…/gateway.do`.
    pub gateway_url: String,
    /// The merchant's partner id (16 digits, 2088…).
    pub partner: String,
    /// Signing keys.
    pub keys: Keys,
}

impl AlipaySettings {
    /// Reads `alipay_gateway_url`, `alipay_partner`, `alipay_sign_type` and the
    /// keys that sign type needs (`alipay_md5_key`, or
    /// `alipay_merchant_private_key` and `alipay_public_key`, PEM).
    pub fn from_settings(settings: &Settings<'_>) -> Result<AlipaySettings, Failure> {
        let sign_type_text = settings
            .optional("alipay_sign_type")
            .unwrap_or_else(|| "MD5".into());
        let sign_type = SignType::parse(&sign_type_text).ok_or_else(|| {
            misconfigured(format!(
                "alipay_sign_type = {sign_type_text:?}: use MD5, RSA or RSA2"
            ))
        })?;
        let keys = match sign_type {
            SignType::Md5 => Keys::Md5 {
                key: settings.required("alipay_md5_key")?,
            },
            SignType::Rsa | SignType::Rsa2 => {
                let merchant = RsaPrivateKey::from_pkcs8_pem(
                    &settings.required("alipay_merchant_private_key")?,
                )
                .map_err(|error| {
                    misconfigured(format!(
                        "alipay_merchant_private_key is not a PKCS#8 PEM key: {error}"
                    ))
                })?;
                let alipay =
                    RsaPublicKey::from_public_key_pem(&settings.required("alipay_public_key")?)
                        .map_err(|error| {
                            misconfigured(format!(
                                "alipay_public_key is not a PEM public key: {error}"
                            ))
                        })?;
                Keys::Rsa {
                    sign_type,
                    merchant: Box::new(merchant),
                    alipay: Box::new(alipay),
                }
            }
        };
        let partner = settings.required("alipay_partner")?;
        if partner.len() != 16
            || !partner.starts_with("2088")
            || !partner.chars().all(|c| c.is_ascii_digit())
        {
            return Err(misconfigured(format!(
                "alipay_partner {partner:?} is not 16 digits starting 2088"
            )));
        }
        Ok(AlipaySettings {
            gateway_url: settings.required("alipay_gateway_url")?,
            partner,
            keys,
        })
    }

    /// The request parameters every signed call carries.
    fn base_params(&self, service: &str) -> BTreeMap<String, String> {
        [
            ("service", service),
            ("partner", self.partner.as_str()),
            ("_input_charset", "utf-8"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
    }

    /// A signed form POST to the gateway.
    fn signed_post(&self, params: BTreeMap<String, String>) -> Result<Request, Failure> {
        let signed = sign::signed(self, params)?;
        let body = serde_urlencoded::to_string(&signed)
            .map_err(|error| misconfigured(format!("cannot encode the form: {error}")))?;
        Ok(Request {
            method: Method::Post,
            url: self.gateway_url.clone(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
            body: body.into_bytes(),
            timeout_ms: None,
        })
    }
}

/// A trade's fields for people, under Alipay's own names. An empty value
/// (a field Alipay left out) is not shown.
pub fn trade_details(
    out_trade_no: &str,
    trade_no: &str,
    buyer_logon_id: Option<&str>,
) -> Vec<(String, String)> {
    [
        ("out_trade_no", Some(out_trade_no)),
        ("trade_no", Some(trade_no)),
        ("buyer_logon_id", buyer_logon_id),
    ]
    .into_iter()
    .filter_map(|(key, value)| {
        value
            .filter(|value| !value.is_empty())
            .map(|value| (key.to_string(), value.to_string()))
    })
    .collect()
}

/// Turns `&[("k", "v")]` into owned parameters.
fn params(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.clone()))
        .collect()
}

/// The body of a gateway reply with a 2xx status; anything else says nothing
/// about what happened (`unknown`).
fn gateway_body(
    response: &corridor_connector_kit::bindings::corridor::connector::http::Response,
) -> Result<&[u8], Failure> {
    if (200..300).contains(&response.status) {
        Ok(&response.body)
    } else {
        Err(corridor_connector_kit::failure::unknown(
            &format!("http-{}", response.status),
            format!("the Alipay gateway answered HTTP {}", response.status),
        ))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub const PARTNER: &str = "2088101122136241";
    pub const MD5_KEY: &str = "760bdzec6y9goq7ctyx96ezkz78287de";

    pub fn md5_settings() -> AlipaySettings {
        AlipaySettings {
            gateway_url: "http://127.0.0.1:1/gateway.do".into(),
            partner: PARTNER.into(),
            keys: Keys::Md5 {
                key: MD5_KEY.into(),
            },
        }
    }
}
