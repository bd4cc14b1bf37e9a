//! Failures as the host needs them: `failed` (definitive, nothing happened),
//! `retryable` (certainly not done, try again) or `unknown` (may have happened:
//! query, never resend).

use crate::bindings::corridor::connector::http::HttpError;
use crate::bindings::corridor::connector::types::{Failure, FailureKind};

fn failure(kind: FailureKind, code: &str, message: impl Into<String>) -> Failure {
    Failure {
        kind,
        code: code.to_string(),
        message: message.into(),
    }
}

/// The provider refused or failed the operation and did not act.
pub fn failed(code: &str, message: impl Into<String>) -> Failure {
    failure(FailureKind::Failed, code, message)
}

/// The operation certainly did not happen and may be tried again.
pub fn retryable(code: &str, message: impl Into<String>) -> Failure {
    failure(FailureKind::Retryable, code, message)
}

/// The provider may have acted.
pub fn unknown(code: &str, message: impl Into<String>) -> Failure {
    failure(FailureKind::Unknown, code, message)
}

/// This connector does not offer the export (a connector without `offer`
/// routes is never asked to read an offer): `failed`, code `not-supported`.
pub fn not_supported(export: &str) -> Failure {
    failed(
        "not-supported",
        format!("this connector does not implement {export}"),
    )
}

/// A setting the policy does not grant, or grants malformed.
pub fn misconfigured(message: impl Into<String>) -> Failure {
    failed("misconfigured", message)
}

/// Maps an HTTP error by whether the request can have reached the provider.
pub fn from_http(error: &HttpError) -> Failure {
    match error {
        HttpError::Denied(message) => failed("egress-denied", message.clone()),
        HttpError::InvalidRequest(message) => failed("invalid-request", message.clone()),
        HttpError::RequestTooLarge(limit) => {
            failed("request-too-large", format!("over {limit} bytes"))
        }
        HttpError::ConnectFailed(message) => retryable("connect-failed", message.clone()),
        HttpError::Timeout => unknown("timeout", "no complete response in time"),
        HttpError::ResponseTooLarge(limit) => {
            unknown("response-too-large", format!("over {limit} bytes"))
        }
        HttpError::Transport(message) => unknown("transport", message.clone()),
    }
}

/// For reads (queries, rates): nothing changes at the provider, so a lost
/// reply is as good as no reply: try again.
pub fn read_only(failure: Failure) -> Failure {
    match failure.kind {
        FailureKind::Unknown => Failure {
            kind: FailureKind::Retryable,
            ..failure
        },
        _ => failure,
    }
}
