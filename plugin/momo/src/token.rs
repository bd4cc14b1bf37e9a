//! `POST /disbursement/token/` (with the trailing slash): Basic auth with the
//! API user and key, the subscription key, no body and no target environment.

use base64::Engine as _;

use super::MomoSettings;
use super::messages::{AccessToken, ErrorBody};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::Failure;
use corridor_connector_kit::failure::{failed, retryable};

/// Refresh this long before the token expires, as MTN's own clients do.
pub const REFRESH_MARGIN_MS: u64 = 60 * 1000;

pub use corridor_connector_kit::token::Token;

/// The token request. MTN's error table lists a body on `/token` as a cause
/// of 400, so none is sent.
pub fn request(settings: &MomoSettings) -> Request {
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", settings.api_user, settings.api_key));
    Request {
        method: Method::Post,
        url: format!("{}/disbursement/token/", settings.base_url),
        headers: vec![
            ("authorization".into(), format!("Basic {basic}")),
            (
                "ocp-apim-subscription-key".into(),
                settings.subscription_key.clone(),
            ),
        ],
        body: vec![],
        timeout_ms: None,
    }
}

/// The token from MoMo's answer, stamped with its expiry.
pub fn parse(response: &Response, now_ms: u64) -> Result<Token, Failure> {
    if response.status != 200 {
        // A token changes nothing at MoMo: every failure may be retried, except
        // refused credentials or subscription key, which no retry fixes.
        let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
        let code = format!("token-{}", response.status);
        let message = body
            .message
            .or(body.error)
            .unwrap_or_else(|| "the token request failed".into());
        return Err(if matches!(response.status, 400 | 401 | 403) {
            failed(
                &code,
                format!("MoMo refused the API user, key or subscription key: {message}"),
            )
        } else {
            retryable(&code, message)
        });
    }
    let token: AccessToken = serde_json::from_slice(&response.body).map_err(|error| {
        retryable(
            "token-bad-response",
            format!("the token response is not understood: {error}"),
        )
    })?;
    Token::issued(
        token.access_token,
        &token.expires_in,
        now_ms,
        "token-bad-response",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{header, response, settings};
    use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;

    #[test]
    fn the_token_call_is_basic_auth_with_no_body_and_no_environment() {
        let request = request(&settings());
        assert!(request.url.ends_with("/disbursement/token/"));
        assert!(request.body.is_empty());
        let basic = header(&request, "authorization").expect("authorization");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim_start_matches("Basic "))
            .expect("base64");
        assert_eq!(
            decoded,
            b"c72025f5-5cd1-4630-99e4-8ba4722fad56:f1db798c98df4bcf83b538175893bbf0"
        );
        assert_eq!(
            header(&request, "Ocp-Apim-Subscription-Key"),
            Some("subscription")
        );
        assert_eq!(header(&request, "X-Target-Environment"), None);
    }

    #[test]
    fn the_captured_token_expires_an_hour_later_and_is_refreshed_a_minute_early() {
        // The captured response and sparkplug's mock (reference §1.3).
        let body = r#"{"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSMjU2In0.eyJjbGllbnRJZCI6IjEifQ.c2ln","token_type":"access_token","expires_in":3600}"#;
        let token = parse(&response(200, body), 1_000).expect("token");
        assert_eq!(token.expires_at_ms, 3_601_000);
        assert!(token.is_fresh(3_540_000 - 1, REFRESH_MARGIN_MS));
        assert!(!token.is_fresh(3_541_000, REFRESH_MARGIN_MS));
        let refused = parse(&response(401, r#"{"error":"login_failed"}"#), 0).expect_err("401");
        assert_eq!(refused.kind, FailureKind::Failed);
        let busy = parse(&response(503, ""), 0).expect_err("503");
        assert_eq!(busy.kind, FailureKind::Retryable);
    }
}
