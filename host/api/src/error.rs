//! API errors: an HTTP status, a stable code and a human message, as
//! `{"error": {"code": "...", "message": "..."}}`. Every answer the host
//! itself refuses or fails is one of these, whichever layer refused it.
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `invalid-json` | the body is not JSON, or an object repeats a key |
//! | 400 | `invalid-request` | a field is missing, unknown or of the wrong type, or the fields contradict each other |
//! | 400 | `invalid-amount`, `invalid-currency`, `invalid-recipient`, `invalid-payer`, `invalid-limit` | that value is malformed (a recipient or payer: empty, over 64 characters or not printable) |
//! | 400 | `invalid-idempotency-key` | `Idempotency-Key` is empty, too long, not visible ASCII, or given twice |
//! | 400 | `invalid-path`, `invalid-query` | the path or query does not decode (bad UTF-8 after percent-decoding) |
//! | 400 | `invalid-body` | the body could not be read |
//! | 400 | `connector-required` | several connectors are loaded and the request names none |
//! | 404 | `not-found` | no such route |
//! | 404 | `quote-not-found`, `transfer-not-found`, `unknown-connector` | no such quote, transfer or connector |
//! | 405 | `method-not-allowed` | the route exists, not with this method (`Allow` lists the methods) |
//! | 401 | `unauthorized` | admin API: no bearer token, or not one the host knows (`WWW-Authenticate: Bearer`) |
//! | 403 | `forbidden` | admin API: a `read` token on a route that changes something |
//! | 409 | `quote-used`, `idempotency-key-reused` | the quote made another transfer; the key came with another request |
//! | 409 | `refused` | admin API: the operator's action was refused (not held, the provider disagrees); nothing changed |
//! | 413 | `body-too-large` | the body is over the route's limit ([`super::ApiConfig`]) |
//! | 415 | `unsupported-media-type` | a client `POST` whose `Content-Type` is not `application/json` |
//! | 422 | `quote-expired`, `quote-mismatch` | the quote lapsed; the request contradicts its quote |
//! | 422 | `invalid-recipient` | the connector will not pay that recipient (its message says why) |
//! | 422 | `invalid-payer` | the connector will not collect from that payer, or needs one (its message says why) |
//! | 422 | `unsupported-currency`, `amount-out-of-range` | the connector does not serve that |
//! | 429 | `rate-limited` | the client created too many quotes and transfers; `Retry-After` says when to retry |
//! | 500 | `internal` | the host's store failed |
//! | 502 | `connector-error`, `provider-error` | the connector failed or was refused; the provider said no |
//! | 503 | `stopped`, `no-connector` | the host is stopping; no connector is loaded |
//!
//! A 5xx built from a connector failure or a store error carries a short
//! message and a reference: the detail (wasm backtraces, file paths, SQL) is
//! logged by the host under that reference, never shown to clients.

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use crate::engine::EngineError;
use crate::runtime::{InvokeError, InvokeErrorKind};

/// A refused or failed API request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// A stable, machine-readable code.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl ApiError {
    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code,
            message: message.into(),
        }
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> ApiError {
        ApiError {
            status: 404,
            code: "not-found",
            message: "no such route".into(),
        }
    }

    /// 405 for a route that exists, asked with another method.
    pub fn method_not_allowed() -> ApiError {
        ApiError {
            status: 405,
            code: "method-not-allowed",
            message: "this route does not take that method; see the Allow header".into(),
        }
    }
}

/// A reference that ties a client's error to the host's log line.
fn reference() -> String {
    format!("{:012x}", rand::thread_rng().r#gen::<u64>() >> 16)
}

/// The failure in a few words, with nothing the connector wrote in it.
fn invoke_summary(error: &InvokeError) -> String {
    let what = match &error.kind {
        InvokeErrorKind::Timeout { deadline_ms, .. } => {
            format!("deadline of {deadline_ms} ms exceeded")
        }
        InvokeErrorKind::MemoryLimit { .. } => "memory limit reached".into(),
        InvokeErrorKind::Trap { .. } => "trap".into(),
        InvokeErrorKind::PolicyDenied(_) => "denied by its policy".into(),
        InvokeErrorKind::PoolExhausted { .. } => "no instance free".into(),
        InvokeErrorKind::Host(_) => "the host could not run it".into(),
    };
    format!("{what} in {}", error.call)
}

/// A 5xx whose detail goes to the log and whose message is short and safe.
fn logged(
    status: u16,
    code: &'static str,
    summary: &str,
    detail: &dyn std::fmt::Display,
) -> ApiError {
    let reference = reference();
    tracing::warn!(%reference, %code, %detail, "request failed");
    ApiError {
        status,
        code,
        message: format!("{summary}; see the host log, ref {reference}"),
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        let (status, code) = match &error {
            EngineError::UnknownConnector(_) => (404, "unknown-connector"),
            EngineError::UnsupportedCurrency(_) => (422, "unsupported-currency"),
            EngineError::AmountOutOfRange(_) => (422, "amount-out-of-range"),
            EngineError::QuoteNotFound(_) => (404, "quote-not-found"),
            EngineError::QuoteExpired { .. } => (422, "quote-expired"),
            EngineError::QuoteUsed { .. } => (409, "quote-used"),
            EngineError::IdempotencyConflict(_) => (409, "idempotency-key-reused"),
            EngineError::TransferNotFound(_) => (404, "transfer-not-found"),
            EngineError::Refused(_) => (409, "refused"),
            EngineError::InvalidRecipient(_) => (422, "invalid-recipient"),
            EngineError::InvalidPayer(_) => (422, "invalid-payer"),
            EngineError::Provider(failure) if failure.code == "amount-out-of-range" => {
                (422, "amount-out-of-range")
            }
            EngineError::Provider(failure) if failure.code == "unsupported-currency" => {
                (422, "unsupported-currency")
            }
            EngineError::Provider(_) => (502, "provider-error"),
            EngineError::Invoke(invoke) => {
                let summary = format!("the connector failed: {}", invoke_summary(invoke));
                return logged(502, "connector-error", &summary, &error);
            }
            EngineError::Untrusted(_) => {
                let summary = "the connector's answer failed the host's checks";
                return logged(502, "connector-error", summary, &error);
            }
            EngineError::Store(_) => {
                return logged(500, "internal", "the host's store failed", &error);
            }
        };
        let message = error.to_string();
        if status >= 500 {
            tracing::warn!(%message, %code, "request failed");
        }
        ApiError {
            status,
            code,
            message,
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::bad_request(
            "invalid-path",
            format!("the path does not decode: {}", rejection.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(
            "invalid-query",
            format!("the query does not decode: {}", rejection.body_text()),
        )
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError {
                status: 413,
                code: "body-too-large",
                message: "the body is over this route's limit".into(),
            }
        } else {
            ApiError::bad_request(
                "invalid-body",
                format!("the body could not be read: {}", rejection.body_text()),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (status, Json(body)).into_response()
    }
}
