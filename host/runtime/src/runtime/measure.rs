//! What the runtime counts for the operator (rendered at `/metrics` on the
//! admin listener): every connector call by export, outcome and version, how
//! long it queued and ran, how long instantiation took, and what the pool and
//! the memory budget hold.

use std::time::Duration;

use super::call::CallOutput;
use super::error::InvokeErrorKind;
use crate::wit::FailureKind;

/// One finished call. `outcome` is `ok`, the failure's kind when the
/// connector answered with one (`failed`, `retryable`, `unknown`), or why
/// the call itself failed (`timeout`, `memory`, `trap`, `denied`, `pool`,
/// `host`).
pub(super) fn call(
    connector: &str,
    version: &str,
    export: &'static str,
    result: &Result<CallOutput, InvokeErrorKind>,
    queued: Duration,
    ran: Duration,
) {
    let outcome = match result {
        Ok(output) => match output.failure_kind() {
            None => "ok",
            Some(FailureKind::Failed) => "failed",
            Some(FailureKind::Retryable) => "retryable",
            Some(FailureKind::Unknown) => "unknown",
        },
        Err(kind) => kind.label(),
    };
    let connector = connector.to_string();
    let version = version.get(..12).unwrap_or(version).to_string();
    metrics::counter!(
        "corridor_connector_calls_total",
        "connector" => connector.clone(),
        "version" => version,
        "export" => export,
        "outcome" => outcome,
    )
    .increment(1);
    metrics::histogram!(
        "corridor_connector_call_seconds",
        "connector" => connector.clone(),
        "export" => export,
    )
    .record(ran.as_secs_f64());
    metrics::histogram!("corridor_connector_queue_seconds", "connector" => connector)
        .record(queued.as_secs_f64());
}

/// A fresh instance was made.
pub(super) fn instantiated(took: Duration) {
    metrics::histogram!("corridor_instantiation_seconds").record(took.as_secs_f64());
}

/// What the pool and the memory budget hold right now.
pub(super) fn pool(slots_free: usize, memory_in_use_bytes: u64) {
    metrics::gauge!("corridor_pool_slots_free").set(slots_free as f64);
    metrics::gauge!("corridor_memory_in_use_bytes").set(memory_in_use_bytes as f64);
}

/// One outbound request a connector made: where to (`scheme://host:port`)
/// and what came of it (the status code, or why there was none).
pub(crate) fn egress(connector: &str, destination: String, status: String) {
    metrics::counter!(
        "corridor_egress_requests_total",
        "connector" => connector.to_string(),
        "destination" => destination,
        "status" => status,
    )
    .increment(1);
}
