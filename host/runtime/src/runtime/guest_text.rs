//! What a call leaves of the guest's own text, cleaned before the host shows
//! it: stdout and stderr in the log, a failure's code and message in the result
//! (the engine logs and stores them).

use super::CallOutput;
use crate::capabilities::InvocationState;
use crate::redact::Scrubber;
use crate::runtime::bindings::corridor::connector::types::{Failure, PlanRefusal};

/// Logs the guest's stdout and stderr, scrubbed, and what its log budget dropped.
pub(super) fn log_output(state: &InvocationState) {
    let connector = state.grants.connector_id();
    let scrubber = &state.grants.scrubber;
    for (stream, output) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
        let (text, dropped_bytes) = output.take(scrubber);
        if !text.is_empty() || dropped_bytes > 0 {
            tracing::info!(target: "connector", connector, call = state.call, stream, dropped_bytes, "{}", text.trim_end());
        }
    }
    if state.log_budget.dropped > 0 {
        tracing::warn!(target: "connector", connector, call = state.call, dropped = state.log_budget.dropped, "log messages dropped past the policy's limit");
    }
}

/// The output with a failure's code and message scrubbed; a success is
/// returned as it is (its values are data the corridor needs, such as a signed
/// payment URL, and the engine checks them against the transfer).
pub(super) fn scrub_failure(output: CallOutput, scrubber: &Scrubber) -> CallOutput {
    let clean = |failure: Failure| Failure {
        code: scrubber.scrub(&failure.code),
        message: scrubber.scrub(&failure.message),
        ..failure
    };
    match output {
        CallOutput::Describe(descriptor) => CallOutput::Describe(descriptor),
        CallOutput::Quote(result) => CallOutput::Quote(result.map_err(clean)),
        CallOutput::PlanTransfer(result) => CallOutput::PlanTransfer(result.map_err(|refusal| {
            match refusal {
                // The message goes to the client: it is guest text like a failure's.
                PlanRefusal::InvalidRecipient(message) => {
                    PlanRefusal::InvalidRecipient(scrubber.scrub(&message))
                }
                PlanRefusal::InvalidPayer(message) => {
                    PlanRefusal::InvalidPayer(scrubber.scrub(&message))
                }
                PlanRefusal::Failed(failure) => PlanRefusal::Failed(clean(failure)),
            }
        })),
        CallOutput::BeginPayIn(result) => CallOutput::BeginPayIn(result.map_err(clean)),
        CallOutput::HandleCallback(result) => CallOutput::HandleCallback(result.map_err(clean)),
        CallOutput::BeginPayOut(result) => CallOutput::BeginPayOut(result.map_err(clean)),
        CallOutput::QueryPayOut(result) => CallOutput::QueryPayOut(result.map_err(clean)),
        CallOutput::QueryPayIn(result) => CallOutput::QueryPayIn(result.map_err(clean)),
        CallOutput::RefundPayIn(result) => CallOutput::RefundPayIn(result.map_err(clean)),
        CallOutput::QueryRefund(result) => CallOutput::QueryRefund(result.map_err(clean)),
        CallOutput::ReadOffer(result) => CallOutput::ReadOffer(result.map_err(clean)),
        CallOutput::AnswerOffer(result) => CallOutput::AnswerOffer(result.map_err(clean)),
    }
}
