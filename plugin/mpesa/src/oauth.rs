//! `GET /oauth/v1/generate?grant_type=client_credentials` with Basic auth.
//! `expires_in` is a string on some pages and a number on others.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::MpesaSettings;
use super::messages::OAuthToken;
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, retryable};

/// Refresh this long before the token expires.
pub const REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;

/// A cached access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The bearer token.
    pub access_token: String,
    /// When Daraja stops accepting it.
    pub expires_at_ms: u64,
}

impl Token {
    /// Whether it is still good for a request sent at `now_ms`.
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms.saturating_add(REFRESH_MARGIN_MS) < self.expires_at_ms
    }
}

/// The token request.
pub fn request(settings: &MpesaSettings) -> Request {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        settings.consumer_key, settings.consumer_secret
    ));
    Request {
        method: Method::Get,
        url: format!(
            "{}/oauth/v1/generate?grant_type=client_credentials",
            settings.base_url
        ),
        headers: vec![("authorization".into(), format!("Basic {basic}"))],
        body: vec![],
        timeout_ms: None,
    }
}

/// The token from Daraja's answer, stamped with its expiry.
pub fn parse(response: &Response, now_ms: u64) -> Result<Token, Failure> {
    if response.status != 200 {
        // A token request changes nothing at Daraja: every failure is retryable,
        // except bad credentials, which no retry fixes.
        let code = format!("oauth-{}", response.status);
        return Err(if response.status == 400 || response.status == 401 {
            failed(
                &code,
                format!(
                    "Daraja refused the consumer key and secret: {}",
                    String::from_utf8_lossy(&response.body)
                ),
            )
        } else {
            retryable(&code, "the token request failed")
        });
    }
    let token: OAuthToken = serde_json::from_slice(&response.body).map_err(|error| {
        retryable(
            "oauth-bad-response",
            format!("the token response is not understood: {error}"),
        )
    })?;
    let seconds: u64 = token.expires_in.trim().parse().map_err(|_| {
        retryable(
            "oauth-bad-response",
            format!("expires_in {:?} is not a number", token.expires_in),
        )
    })?;
    if token.access_token.is_empty() {
        return Err(retryable("oauth-bad-response", "the access token is empty"));
    }
    Ok(Token {
        access_token: token.access_token,
        expires_at_ms: now_ms.saturating_add(seconds.saturating_mul(1000)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{response, settings};

    #[test]
    fn expires_in_is_read_as_a_string_or_a_number() {
        for body in [
            r#"{"access_token":"abc","expires_in":"3599"}"#,
            r#"{"access_token":"abc","expires_in":3599}"#,
        ] {
            let token = parse(&response(200, body), 1_000).expect("token");
            assert_eq!(token.expires_at_ms, 3_600_000);
            assert!(token.is_fresh(1_000));
            assert!(!token.is_fresh(3_600_000 - REFRESH_MARGIN_MS));
        }
        assert!(request(&settings()).headers[0].1.starts_with("Basic "));
    }
}
