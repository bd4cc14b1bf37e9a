//! `GET /oauth/v1/generate?grant_type=client_credentials` with Basic auth.
//! `expires_in` is a string on some pages and a number on others.

use base64::Engine as _;

use super::MpesaSettings;
use super::messages::OAuthToken;
use crate::pay_in::DarajaApp;
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, retryable};

/// Refresh this long before the token expires.
pub const REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;

pub use corridor_connector_kit::token::Token;

/// The token request of the B2C app.
pub fn request(settings: &MpesaSettings) -> Request {
    request_for(&DarajaApp {
        base_url: settings.base_url.clone(),
        consumer_key: settings.consumer_key.clone(),
        consumer_secret: settings.consumer_secret.clone(),
    })
}

/// The token request of any Daraja app (the pay-in's M-PESA Express too).
pub fn request_for(app: &DarajaApp) -> Request {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", app.consumer_key, app.consumer_secret));
    Request {
        method: Method::Get,
        url: format!(
            "{}/oauth/v1/generate?grant_type=client_credentials",
            app.base_url
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
    Token::issued(
        token.access_token,
        &token.expires_in,
        now_ms,
        "oauth-bad-response",
    )
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
            assert!(token.is_fresh(1_000, REFRESH_MARGIN_MS));
            assert!(!token.is_fresh(3_600_000 - REFRESH_MARGIN_MS, REFRESH_MARGIN_MS));
        }
        assert!(request(&settings()).headers[0].1.starts_with("Basic "));
    }
}
