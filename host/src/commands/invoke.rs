//! `corridor invoke`'s outcome: a call that fails, by a `failure` result or
//! by an [`InvokeError`], is a failed command (non-zero exit), so scripts can
//! tell; the failure itself is still printed as JSON for a person or a tool.

use crate::InvokeError;
use crate::runtime::CallOutput;
use crate::wit::Failure;

/// An export call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeFailed {
    /// The connector answered with a `failure`.
    #[error("{export} answered failure {code} ({kind}): {message}")]
    Failure {
        /// The export.
        export: &'static str,
        /// The failure's code.
        code: String,
        /// `failed`, `retryable` or `unknown`.
        kind: String,
        /// The failure's first line.
        message: String,
    },
    /// The call itself failed (deadline, memory, trap, denied egress).
    #[error("{0}")]
    Call(String),
}

/// The `failure` in an export's result, if it is one.
pub fn failure_of(output: &CallOutput) -> Option<&Failure> {
    output.failure()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// What `invoke` prints on stdout for an outcome, and the error it exits
/// with, if any.
pub fn outcome(
    export: &'static str,
    result: &Result<CallOutput, InvokeError>,
) -> (serde_json::Value, Option<InvokeFailed>) {
    match result {
        Ok(output) => {
            let printed = serde_json::to_value(output).unwrap_or_default();
            let failed = failure_of(output).map(|failure| InvokeFailed::Failure {
                export,
                code: failure.code.clone(),
                kind: serde_json::to_value(failure.kind)
                    .ok()
                    .and_then(|kind| kind.as_str().map(str::to_lowercase))
                    .unwrap_or_default(),
                message: first_line(&failure.message),
            });
            (printed, failed)
        }
        Err(error) => {
            let printed = serde_json::json!({
                "error": {
                    "connector": error.connector,
                    "call": error.call,
                    "kind": kind_name(&error.kind),
                    "message": error.kind.to_string(),
                }
            });
            (
                printed,
                Some(InvokeFailed::Call(first_line(&error.to_string()))),
            )
        }
    }
}

fn kind_name(kind: &crate::InvokeErrorKind) -> &'static str {
    use crate::InvokeErrorKind::{Host, MemoryLimit, PolicyDenied, PoolExhausted, Timeout, Trap};
    match kind {
        Timeout { .. } => "timeout",
        MemoryLimit { .. } => "memory-limit",
        Trap { .. } => "trap",
        PolicyDenied(_) => "policy-denied",
        PoolExhausted { .. } => "pool-exhausted",
        Host(_) => "host",
    }
}
