//! The MTN MoMo rail: the Open API's Disbursement product.
//!
//! - [`token`]: the bearer token (`POST /disbursement/token/`, Basic auth),
//!   cached by the component and refreshed a minute early.
//! - [`transfer`]: the pay-out (`POST /disbursement/v1_0/transfer`), with an
//!   `X-Reference-Id` derived from our pay-out reference.
//! - [`status`]: the transfer's state (`GET …/transfer/{referenceId}`), the
//!   answer to a callback that never came and the check of one that did.
//! - [`callback`]: the unsigned callback, read as evidence only.
//! - [`account`]: the account-holder check and the disbursement balance.
//! - [`amount`]: money on MoMo's wire, per currency (UGX has no minor unit).
//! - [`messages`]: MoMo's requests and replies as types, with MoMo's casing.
//!
//! Sans-IO: every call is a function that builds a WIT `http::Request` and one
//! that reads the `http::Response`; the component sends them.

pub mod account;
pub mod amount;
pub mod callback;
pub mod messages;
pub mod status;
pub mod token;
pub mod transfer;

use corridor_connector_kit::bindings::corridor::connector::http::Response;
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, misconfigured, retryable, unknown};
use corridor_connector_kit::settings::Settings;
use messages::ErrorBody;

/// What the policy grants for MoMo.
#[derive(Debug, Clone)]
pub struct MomoSettings {
    /// The API's base URL (`https://sandbox.momodeveloper.mtn.com`,
    /// `https://proxy.momoapi.mtn.com`), without a trailing slash.
    pub base_url: String,
    /// The Disbursement product's `Ocp-Apim-Subscription-Key`.
    pub subscription_key: String,
    /// The API user (a UUID), the Basic-auth user of the token call.
    pub api_user: String,
    /// The API key, the Basic-auth password of the token call.
    pub api_key: String,
    /// `X-Target-Environment`: `sandbox`, or the market (`mtnuganda`).
    pub target_environment: String,
    /// The API user's `providerCallbackHost`: MoMo refuses a callback URL on
    /// any other host (500 `INVALID_CALLBACK_URL_HOST`), so the rail refuses
    /// it first.
    pub callback_host: String,
}

impl MomoSettings {
    /// Reads the `momo_*` keys.
    pub fn from_settings(settings: &Settings<'_>) -> Result<MomoSettings, Failure> {
        let callback_host = settings.required("momo_callback_host")?;
        if callback_host.contains(['/', ':']) {
            return Err(misconfigured(format!(
                "momo_callback_host = {callback_host:?}: a host name, with no scheme, port or path"
            )));
        }
        Ok(MomoSettings {
            base_url: settings
                .required("momo_base_url")?
                .trim_end_matches('/')
                .to_string(),
            subscription_key: settings.required("momo_subscription_key")?,
            api_user: settings.required("momo_api_user")?,
            api_key: settings.required("momo_api_key")?,
            target_environment: settings.required("momo_target_environment")?,
            callback_host: callback_host.to_ascii_lowercase(),
        })
    }

    /// The headers of every product call after the token.
    fn product_headers(&self, token: &str) -> Vec<(String, String)> {
        vec![
            ("authorization".into(), format!("Bearer {token}")),
            (
                "ocp-apim-subscription-key".into(),
                self.subscription_key.clone(),
            ),
            (
                "x-target-environment".into(),
                self.target_environment.clone(),
            ),
        ]
    }
}

/// `(name, secret, required, description)` of every key [`MomoSettings`] reads.
const SETTINGS: &[(&str, bool, bool, &str)] = &[
    ("momo_base_url", false, true, "the MoMo Open API's base URL"),
    (
        "momo_subscription_key",
        true,
        true,
        "the Disbursement product's Ocp-Apim-Subscription-Key",
    ),
    ("momo_api_user", false, true, "the API user (a UUID)"),
    ("momo_api_key", true, true, "the API user's key"),
    (
        "momo_target_environment",
        false,
        true,
        "X-Target-Environment: sandbox, or the market (mtnuganda)",
    ),
    (
        "momo_callback_host",
        false,
        true,
        "the API user's providerCallbackHost: a host name, no scheme or path",
    ),
];

/// The settings MoMo reads, for a connector's descriptor.
pub fn settings() -> Vec<corridor_connector_kit::bindings::corridor::connector::types::Setting> {
    SETTINGS
        .iter()
        .map(|&(name, secret, required, description)| {
            corridor_connector_kit::bindings::corridor::connector::types::Setting {
                name: name.to_string(),
                secret,
                required,
                description: description.to_string(),
            }
        })
        .collect()
}

/// Why MoMo did not answer a call as asked.
#[derive(Debug)]
pub enum Rejection {
    /// 401 on a product call: the bearer token expired or was replaced. Nothing
    /// was processed: fetch a token and send the same request again.
    TokenRejected,
    /// Anything else, classified by whether MoMo may have acted.
    Failed(Failure),
}

/// The error codes MoMo answers with 500 that are nevertheless permanent:
/// configuration and validation checks made before anything moves. Retrying
/// them changes nothing, and nothing was paid.
const PERMANENT_SERVER_CODES: &[&str] = &[
    "NOT_ALLOWED",
    "NOT_ALLOWED_TARGET_ENVIRONMENT",
    "INVALID_CALLBACK_URL_HOST",
    "INVALID_CURRENCY",
    "PAYEE_NOT_FOUND",
    "PAYEE_NOT_ALLOWED_TO_RECEIVE",
    "NOT_ENOUGH_FUNDS",
    "VALIDATION_ERROR",
];

/// A product call answered with an error, classified by whether MoMo may have
/// acted on it. For reads the caller passes the result through `read_only`.
///
/// - 400, 403, 404: the request was refused as it stands (`failed`).
/// - 401: the APIM gateway's "invalid subscription key" is configuration
///   (`failed`); any other 401 is the bearer token ([`Rejection::TokenRejected`]).
/// - 409 `RESOURCE_ALREADY_EXIST`: the `X-Reference-Id` was used before, so
///   the first request reached MoMo and stands: `unknown`, resolved by the
///   status query, never by a new id.
/// - 429, 503 and `SERVICE_UNAVAILABLE`: the gateway turned the call away
///   (`retryable`). A retry is safe even if it had got through: it carries
///   the same `X-Reference-Id`, so at worst it gets the 409 above.
/// - 500 with a configuration code ([`PERMANENT_SERVER_CODES`]): `failed`.
/// - any other 5xx (`INTERNAL_PROCESSING_ERROR`, no body): `unknown`.
fn rejection(response: &Response) -> Rejection {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let code = body
        .code
        .clone()
        .unwrap_or_else(|| format!("http-{}", response.status));
    let message = body
        .message
        .clone()
        .or(body.error.clone())
        .unwrap_or_else(|| "MoMo answered with no error body".into());
    Rejection::Failed(match response.status {
        401 if message.contains("subscription key") => failed(&code, message),
        401 => return Rejection::TokenRejected,
        409 => unknown(
            &code,
            format!("{message} The first request with this X-Reference-Id stands: query it"),
        ),
        429 | 503 => retryable(&code, message),
        _ if code == "SERVICE_UNAVAILABLE" => retryable(&code, message),
        status if status >= 500 && PERMANENT_SERVER_CODES.contains(&code.as_str()) => {
            failed(&code, message)
        }
        status if status >= 500 => unknown(&code, message),
        _ => failed(&code, message),
    })
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub fn settings() -> MomoSettings {
        MomoSettings {
            base_url: "http://127.0.0.1:1".into(),
            subscription_key: "subscription".into(),
            api_user: "c72025f5-5cd1-4630-99e4-8ba4722fad56".into(),
            api_key: "f1db798c98df4bcf83b538175893bbf0".into(),
            target_environment: "mtnuganda".into(),
            callback_host: "127.0.0.1".into(),
        }
    }

    pub fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn header<'a>(
        request: &'a corridor_connector_kit::bindings::corridor::connector::http::Request,
        name: &str,
    ) -> Option<&'a str> {
        request
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
    use testing::response;

    fn kind(status: u16, body: &str) -> Option<FailureKind> {
        match rejection(&response(status, body)) {
            Rejection::Failed(failure) => Some(failure.kind),
            Rejection::TokenRejected => None,
        }
    }

    #[test]
    fn errors_are_classified_by_whether_momo_may_have_acted() {
        // The observed bodies (reference §1.3, §1.5), verbatim.
        let duplicate = r#"{"message":"Duplicated reference id. Creation of resource failed.","code":"RESOURCE_ALREADY_EXIST"}"#;
        assert_eq!(kind(409, duplicate), Some(FailureKind::Unknown));
        let currency = r#"{"message":"Currency not supported.","code":"INVALID_CURRENCY"}"#;
        assert_eq!(kind(500, currency), Some(FailureKind::Failed));
        let apim = r#"{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}"#;
        assert_eq!(kind(401, apim), Some(FailureKind::Failed));
        assert_eq!(kind(401, r#"{"error":"login_failed"}"#), None);
        assert_eq!(
            kind(500, r#"{"message":"x","code":"INTERNAL_PROCESSING_ERROR"}"#),
            Some(FailureKind::Unknown)
        );
        assert_eq!(kind(502, ""), Some(FailureKind::Unknown));
        assert_eq!(
            kind(500, r#"{"code":"SERVICE_UNAVAILABLE","message":"x"}"#),
            Some(FailureKind::Retryable)
        );
        assert_eq!(kind(400, ""), Some(FailureKind::Failed));
    }

    #[test]
    fn settings_are_read_from_the_policy_and_a_callback_url_is_not_a_host() {
        let values = |callback: &'static str| {
            move |key: &str| -> Option<String> {
                Some(
                    match key {
                        "momo_base_url" => "https://sandbox.momodeveloper.mtn.com/",
                        "momo_callback_host" => callback,
                        _ => "x",
                    }
                    .to_string(),
                )
            }
        };
        let good = values("Callbacks.Example.com");
        let read = MomoSettings::from_settings(&Settings::new(&good)).expect("settings");
        assert_eq!(read.base_url, "https://sandbox.momodeveloper.mtn.com");
        assert_eq!(read.callback_host, "callbacks.example.com");
        let url = values("http://localhost:8000/callback");
        assert!(MomoSettings::from_settings(&Settings::new(&url)).is_err());
    }
}
