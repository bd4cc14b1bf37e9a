//! What a step's result does: the half of [`decide`](super::decide) that the
//! engine's own calls (to connectors and the ledger) drive.

use super::events::note;
use super::{Effect, Input, Outcome, Trust, events, refunds};
use crate::details::apply as show;
use crate::model::{FailureNote, Transfer, TransferState};
use crate::wit::{Event, Failure, FailureKind, PayOutFailure};

/// How often a failed step is tried and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries of one step before the transfer is held.
    pub max_attempts: u32,
    /// The first wait; it doubles up to `max_wait_ms`.
    pub first_wait_ms: u64,
    /// The longest wait.
    pub max_wait_ms: u64,
}

/// How many status queries and how long between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Status queries before an unresolved pay-out is held.
    pub max_queries: u32,
    /// The first wait; it doubles up to `max_wait_ms`.
    pub first_wait_ms: u64,
    /// The longest wait.
    pub max_wait_ms: u64,
}

/// `first × 2^(attempt-1)`, at most `max`.
pub fn backoff(first_wait_ms: u64, max_wait_ms: u64, attempt: u32) -> u64 {
    let factor = 1u64 << attempt.saturating_sub(1).min(20);
    first_wait_ms.saturating_mul(factor).min(max_wait_ms)
}

pub(super) fn unchanged(summary: impl Into<String>) -> Outcome {
    Outcome::unchanged(summary)
}

pub(super) fn changed(summary: impl Into<String>) -> Outcome {
    Outcome::changed(summary)
}

pub(super) fn held(transfer: &mut Transfer, code: &str, reason: String) -> Outcome {
    transfer.hold(code, reason.clone());
    Outcome {
        effect: Effect::Held,
        summary: format!("held: {reason}"),
    }
}

/// Moves `transfer` from `from` to `to` after `edit`, if it is still in
/// `from`; otherwise something else moved it first and nothing changes.
pub(super) fn advance(
    transfer: &mut Transfer,
    (from, to): (TransferState, TransferState),
    due_at_ms: Option<u64>,
    summary: String,
    edit: impl FnOnce(&mut Transfer),
) -> Outcome {
    if transfer.state() != from {
        return unchanged(format!("ignored: {summary} in state {}", transfer.state()));
    }
    edit(transfer);
    transfer.enter(to, due_at_ms);
    changed(summary)
}

/// Applies a step's result (every input but an event).
pub(super) fn step(transfer: &mut Transfer, input: Input, now_ms: u64) -> Outcome {
    use TransferState::*;
    match input {
        Input::Event { event, trust } => events::event(transfer, &event, trust, now_ms),
        Input::PayInStarted {
            payment_url,
            provider_reference,
            action,
            details,
        } => {
            let record = |t: &mut Transfer| {
                t.pay_in.payment_url = payment_url;
                t.pay_in.provider_reference = provider_reference;
                t.pay_in.action = action;
                show(&t.id.clone(), "pay-in", &mut t.pay_in.details, &details);
            };
            if transfer.state() == Created {
                let due_at_ms = Some(transfer.pay_in.expires_at_ms);
                let summary = "payment instruction issued".to_string();
                return advance(
                    transfer,
                    (Created, AwaitingPayIn),
                    due_at_ms,
                    summary,
                    record,
                );
            }
            // A fast payer (and a fast provider) can pay, and the payment be
            // confirmed, before the instruction's answer is recorded: the
            // instruction is kept for the record, the state is not touched.
            let unrecorded = transfer.pay_in.payment_url.is_none()
                && transfer.pay_in.provider_reference.is_none()
                && transfer.pay_in.action.is_none();
            if unrecorded && transfer.pay_in.provider_transaction_id.is_some() {
                record(transfer);
                return changed("payment instruction recorded after the payment");
            }
            unchanged(format!(
                "ignored: a payment instruction in state {}",
                transfer.state()
            ))
        }
        Input::PayInRefused(failure) => {
            let summary = format!("pay-in refused: {}", failure.code);
            advance(transfer, (Created, PayInFailed), None, summary, |t| {
                t.failure = Some(note(&failure.code, &failure.message));
            })
        }
        Input::PayInUnpaid => pay_in_unpaid(transfer, now_ms),
        Input::StepFailed {
            step,
            reason,
            retry,
        } => step_failed(transfer, step, reason, retry, now_ms),
        Input::LedgerRegistered { ledger_id } => ledger_registered(transfer, ledger_id),
        Input::LedgerConfirmed => {
            let ledger_id = transfer.ledger_id().unwrap_or_default().to_string();
            let summary = format!("ledger confirmed {ledger_id}");
            let moves = (LedgerRegistered, LedgerConfirmed);
            advance(transfer, moves, Some(0), summary, |_| {})
        }
        Input::PayOutRequesting { result_wait_ms } => {
            pay_out_requesting(transfer, result_wait_ms, now_ms)
        }
        Input::PayOutAccepted {
            provider_reference,
            details,
        } => pay_out_accepted(transfer, provider_reference, &details, now_ms),
        Input::PayOutNotSent { failure, retry } => {
            pay_out_not_sent(transfer, failure, retry, now_ms)
        }
        Input::PayOutInDoubt {
            reason,
            query_at_ms,
        } => advance(
            transfer,
            (PayingOut, PayOutUnknown),
            Some(query_at_ms),
            reason,
            |_| {},
        ),
        Input::PayOutQueryDue(budget) => pay_out_query_due(transfer, budget, now_ms),
        Input::PayOutNotFound { grace_ms } => pay_out_not_found(transfer, grace_ms, now_ms),
        rest => refunds::step(transfer, rest, now_ms),
    }
}

fn ledger_registered(transfer: &mut Transfer, ledger_id: String) -> Outcome {
    let summary = format!("ledger id {ledger_id}");
    if transfer.state() != TransferState::PaidIn {
        return unchanged(format!("ignored: {summary} in state {}", transfer.state()));
    }
    transfer.register(ledger_id, Some(0));
    changed(summary)
}

fn pay_out_accepted(
    transfer: &mut Transfer,
    provider_reference: String,
    details: &[(String, String)],
    now_ms: u64,
) -> Outcome {
    if transfer.pay_out.provider_reference.is_some() {
        return unchanged("the pay-out was accepted before");
    }
    let summary = format!("accepted as {provider_reference}");
    transfer.pay_out.provider_reference = Some(provider_reference);
    transfer.pay_out.accepted_at_ms = Some(now_ms);
    let id = transfer.id.clone();
    show(&id, "pay-out", &mut transfer.pay_out.details, details);
    changed(summary)
}

/// The pay-in window closed unpaid, or has not closed yet.
fn pay_in_unpaid(transfer: &mut Transfer, now_ms: u64) -> Outcome {
    if transfer.state() != TransferState::AwaitingPayIn {
        return unchanged(format!("ignored: unpaid in state {}", transfer.state()));
    }
    if now_ms < transfer.pay_in.expires_at_ms {
        transfer.due_at_ms = Some(transfer.pay_in.expires_at_ms);
        return changed("not paid yet");
    }
    transfer.failure = Some(FailureNote {
        code: "pay-in-expired".into(),
        message: "the payer did not pay before the quote expired".into(),
    });
    transfer.enter(TransferState::Expired, None);
    changed("the pay-in window closed unpaid")
}

/// Try again later, or hold once the budget is spent.
fn step_failed(
    transfer: &mut Transfer,
    step: TransferState,
    reason: String,
    retry: Retry,
    now_ms: u64,
) -> Outcome {
    if transfer.state() != step || step.is_terminal() {
        return unchanged(format!(
            "ignored: a failed {step} step in state {}",
            transfer.state()
        ));
    }
    transfer.attempts += 1;
    if transfer.attempts >= retry.max_attempts {
        let message = format!("{} tries of {step}: {reason}", transfer.attempts);
        transfer.hold("retries-exhausted", message);
        return Outcome {
            effect: Effect::Held,
            summary: format!("held: {reason}"),
        };
    }
    let wait_ms = backoff(retry.first_wait_ms, retry.max_wait_ms, transfer.attempts);
    transfer.due_at_ms = Some(now_ms + wait_ms);
    changed(reason)
}

/// The intent to send the one pay-out request: the first time, or again
/// after the provider's retryable refusal.
fn pay_out_requesting(transfer: &mut Transfer, result_wait_ms: u64, now_ms: u64) -> Outcome {
    let first = transfer.state() == TransferState::LedgerConfirmed;
    let resend_after_retryable =
        transfer.state() == TransferState::PayingOut && transfer.pay_out.requested_at_ms.is_none();
    if !first && !resend_after_retryable {
        return unchanged(format!(
            "ignored: the pay-out is not to be requested in state {}",
            transfer.state()
        ));
    }
    if first {
        transfer.enter(TransferState::PayingOut, None);
    }
    transfer.pay_out.requested_at_ms = Some(now_ms);
    transfer.due_at_ms = Some(now_ms + result_wait_ms);
    changed(format!("pay-out {} requested", transfer.pay_out.reference))
}

/// The provider certainly did not act: the same request (same reference)
/// may go again later, until the budget is spent; then it is resolved by query.
fn pay_out_not_sent(
    transfer: &mut Transfer,
    failure: Failure,
    retry: Retry,
    now_ms: u64,
) -> Outcome {
    if transfer.state() != TransferState::PayingOut || transfer.pay_out.provider_reference.is_some()
    {
        return unchanged(format!("ignored: not sent ({})", failure.code));
    }
    transfer.attempts += 1;
    if transfer.attempts >= retry.max_attempts {
        transfer.pay_out.requested_at_ms = Some(now_ms);
        transfer.enter(TransferState::PayOutUnknown, Some(now_ms));
        return changed(format!(
            "{}: retries exhausted; resolving by query",
            failure.code
        ));
    }
    transfer.pay_out.requested_at_ms = None;
    let wait_ms = backoff(retry.first_wait_ms, retry.max_wait_ms, transfer.attempts);
    transfer.due_at_ms = Some(now_ms + wait_ms);
    changed(format!("not sent ({}): {}", failure.code, failure.message))
}

/// A status query is due: count it, or hold once the budget is spent.
fn pay_out_query_due(transfer: &mut Transfer, budget: Budget, now_ms: u64) -> Outcome {
    if !matches!(
        transfer.state(),
        TransferState::PayingOut | TransferState::PayOutUnknown
    ) {
        return unchanged(format!(
            "ignored: a status query in state {}",
            transfer.state()
        ));
    }
    if transfer.pay_out.queries >= budget.max_queries {
        let reason = format!(
            "{} status queries left the pay-out unresolved",
            transfer.pay_out.queries
        );
        transfer.hold("pay-out-unresolved", reason);
        return Outcome {
            effect: Effect::Held,
            summary: "held: the pay-out is unresolved".into(),
        };
    }
    transfer.pay_out.queries += 1;
    let wait_ms = backoff(
        budget.first_wait_ms,
        budget.max_wait_ms,
        transfer.pay_out.queries,
    );
    transfer.due_at_ms = Some(now_ms + wait_ms);
    changed(format!("status query {}", transfer.pay_out.queries))
}

/// "No record of it" is a failure only once the request has had time to arrive.
fn pay_out_not_found(transfer: &mut Transfer, grace_ms: u64, now_ms: u64) -> Outcome {
    let requested_at_ms = transfer
        .pay_out
        .requested_at_ms
        .unwrap_or(transfer.updated_at_ms);
    if now_ms.saturating_sub(requested_at_ms) < grace_ms {
        return unchanged("no record of the pay-out yet: it may still be on its way");
    }
    let failure = PayOutFailure {
        reference: None,
        provider_reference: None,
        failure: Failure {
            kind: FailureKind::Failed,
            code: "not-found".into(),
            message: "the provider has no record of the pay-out: it never arrived".into(),
        },
    };
    events::event(
        transfer,
        &Event::PayOutFailed(failure),
        Trust::Answer,
        now_ms,
    )
}
