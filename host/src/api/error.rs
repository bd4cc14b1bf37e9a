//! API errors: an HTTP status, a stable code and a human message, as
//! `{"error": {"code": "...", "message": "..."}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::EngineError;

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
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        let message = error.to_string();
        let (status, code) = match &error {
            EngineError::UnknownConnector(_) => (404, "unknown-connector"),
            EngineError::UnsupportedCurrency(_) => (422, "unsupported-currency"),
            EngineError::AmountOutOfRange(_) => (422, "amount-out-of-range"),
            EngineError::QuoteNotFound(_) => (404, "quote-not-found"),
            EngineError::QuoteExpired { .. } => (422, "quote-expired"),
            EngineError::QuoteUsed { .. } => (409, "quote-used"),
            EngineError::IdempotencyConflict(_) => (409, "idempotency-key-reused"),
            EngineError::TransferNotFound(_) => (404, "transfer-not-found"),
            EngineError::Provider(failure) if failure.code == "amount-out-of-range" => {
                (422, "amount-out-of-range")
            }
            EngineError::Provider(failure) if failure.code == "unsupported-currency" => {
                (422, "unsupported-currency")
            }
            EngineError::Provider(_) => (502, "provider-error"),
            EngineError::Untrusted(_) | EngineError::Invoke(_) => (502, "connector-error"),
            EngineError::Store(_) => (500, "internal"),
        };
        if status >= 500 {
            tracing::error!(%message, "request failed");
        }
        ApiError {
            status,
            code,
            message,
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
