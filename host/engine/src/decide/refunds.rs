//! What a refund's steps and results do. A refund is sent once, like a
//! pay-out: the intent is stored before the request, and a request that may
//! have reached the provider is resolved by `query-refund`, never by sending
//! it again, unless the provider says it has no record of it.

use super::events::mismatch;
use super::steps::{Budget, Retry, advance, backoff, changed, held, unchanged};
use super::{Input, Outcome, Trust, refund_of};
use crate::checks;
use crate::details::apply as show;
use crate::model::{Transfer, TransferState};
use crate::wit::{Failure, RefundFailure, RefundReceipt};

/// The refund's steps, and the scheduler's "nothing to do".
pub(super) fn step(transfer: &mut Transfer, input: Input, now_ms: u64) -> Outcome {
    use TransferState::*;
    match input {
        Input::RefundBegun { reason } => {
            if transfer.state() != PayOutFailed {
                return unchanged(format!("ignored: {reason} in state {}", transfer.state()));
            }
            transfer.begin_refund(refund_of(transfer, reason.clone()), Some(0));
            changed(reason)
        }
        Input::RefundRequesting { result_wait_ms } => requesting(transfer, result_wait_ms, now_ms),
        Input::RefundAccepted {
            provider_reference,
            details,
        } => accepted(transfer, provider_reference, &details),
        Input::RefundNotSent { failure, retry } => not_sent(transfer, &failure, retry, now_ms),
        Input::RefundQueryDue(budget) => query_due(transfer, budget, now_ms),
        Input::RefundNotFound { grace_ms } => not_found(transfer, grace_ms, now_ms),
        Input::Refunded(receipt) => refunded(transfer, &receipt, now_ms),
        Input::RefundRefused(failure) => refused(transfer, &failure),
        Input::LedgerReversed { ledger_id } => match transfer.refund_mut() {
            Some(refund) => {
                refund.ledger_reversal_id = Some(ledger_id.clone());
                changed(format!("ledger reversal {ledger_id}"))
            }
            None => unchanged("ignored: a ledger reversal without a refund"),
        },
        Input::RefundFinished => {
            let summary = "the payer has the money back".to_string();
            advance(transfer, (Refunding, Refunded), None, summary, |_| {})
        }
        Input::NothingDue => {
            transfer.due_at_ms = None;
            changed("nothing to do")
        }
        other => unchanged(format!("ignored: {other:?} is not a refund step")),
    }
}

/// A refund under way that has not been settled at the provider.
fn open_refund(transfer: &mut Transfer) -> Option<&mut crate::model::Refund> {
    if transfer.state() != TransferState::Refunding {
        return None;
    }
    transfer
        .refund_mut()
        .filter(|refund| refund.refunded_at_ms.is_none())
}

fn requesting(transfer: &mut Transfer, result_wait_ms: u64, now_ms: u64) -> Outcome {
    let Some(refund) = open_refund(transfer) else {
        return unchanged("ignored: no refund to request");
    };
    if refund.awaits_outcome() {
        return unchanged("ignored: the refund was requested before");
    }
    refund.requested_at_ms = Some(now_ms);
    let summary = format!("refund {} requested", refund.reference);
    transfer.due_at_ms = Some(now_ms + result_wait_ms);
    changed(summary)
}

fn accepted(
    transfer: &mut Transfer,
    provider_reference: String,
    details: &[(String, String)],
) -> Outcome {
    let Some(refund) = open_refund(transfer) else {
        return unchanged("ignored: no refund to accept");
    };
    if refund.provider_reference.is_some() {
        return unchanged("the refund was accepted before");
    }
    let summary = format!("refund accepted as {provider_reference}");
    refund.provider_reference = Some(provider_reference);
    let id = transfer.id.clone();
    show(&id, "pay-in", &mut transfer.pay_in.details, details);
    changed(summary)
}

/// The provider certainly did not act: the same request may go again later,
/// until the budget is spent; then it is resolved by query.
fn not_sent(transfer: &mut Transfer, failure: &Failure, retry: Retry, now_ms: u64) -> Outcome {
    let attempts = transfer.attempts + 1;
    let Some(refund) = open_refund(transfer) else {
        return unchanged(format!("ignored: a refund not sent ({})", failure.code));
    };
    if refund.provider_reference.is_some() {
        return unchanged(format!("ignored: a refund not sent ({})", failure.code));
    }
    if attempts >= retry.max_attempts {
        transfer.attempts = attempts;
        transfer.due_at_ms = Some(now_ms);
        return changed(format!(
            "{}: retries exhausted; resolving by query",
            failure.code
        ));
    }
    refund.requested_at_ms = None;
    transfer.attempts = attempts;
    let wait_ms = backoff(retry.first_wait_ms, retry.max_wait_ms, attempts);
    transfer.due_at_ms = Some(now_ms + wait_ms);
    changed(format!(
        "refund not sent ({}): {}",
        failure.code, failure.message
    ))
}

/// A refund status query is due: count it, or hold once the budget is spent.
fn query_due(transfer: &mut Transfer, budget: Budget, now_ms: u64) -> Outcome {
    let Some(refund) = open_refund(transfer) else {
        return unchanged("ignored: no refund to query");
    };
    if refund.queries >= budget.max_queries {
        let reason = format!(
            "{} status queries left the refund unresolved",
            refund.queries
        );
        return held(transfer, "refund-unresolved", reason);
    }
    refund.queries += 1;
    let queries = refund.queries;
    transfer.due_at_ms = Some(now_ms + backoff(budget.first_wait_ms, budget.max_wait_ms, queries));
    changed(format!("refund status query {queries}"))
}

/// "No record of it": an accepted refund the provider forgot is for an
/// operator; one that never arrived goes again, once the grace has passed.
fn not_found(transfer: &mut Transfer, grace_ms: u64, now_ms: u64) -> Outcome {
    let Some(refund) = open_refund(transfer) else {
        return unchanged("ignored: no refund to look for");
    };
    if refund.provider_reference.is_some() {
        let reason = "the provider has no record of a refund it accepted".to_string();
        return held(transfer, "refund-lost", reason);
    }
    let requested_at_ms = refund.requested_at_ms.unwrap_or(0);
    if now_ms.saturating_sub(requested_at_ms) < grace_ms {
        return unchanged("no record of the refund yet: it may still be on its way");
    }
    refund.requested_at_ms = None;
    transfer.due_at_ms = Some(now_ms);
    changed("the refund request never arrived: sending it again")
}

/// The provider returned the pay-in: checked against the stored refund.
fn refunded(transfer: &mut Transfer, receipt: &RefundReceipt, now_ms: u64) -> Outcome {
    if let Err(reason) = checks::refund_receipt(transfer, receipt) {
        return mismatch(transfer, reason);
    }
    match transfer.refund_mut() {
        Some(refund) if refund.refunded_at_ms.is_some() => unchanged("duplicate refund result"),
        Some(refund) => {
            refund.refunded_at_ms = Some(now_ms);
            // A refund returns the pay-in: its fields are the pay-in's to show.
            let id = transfer.id.clone();
            show(
                &id,
                "pay-in",
                &mut transfer.pay_in.details,
                &receipt.details,
            );
            transfer.due_at_ms = Some(0);
            changed("refunded at the provider")
        }
        None => unchanged("ignored: a refund receipt without a refund"),
    }
}

fn refused(transfer: &mut Transfer, failure: &Failure) -> Outcome {
    if transfer.state().is_terminal() {
        return unchanged("ignored: a refused refund on a finished transfer");
    }
    if transfer
        .refund()
        .is_some_and(|refund| refund.refunded_at_ms.is_some())
    {
        return unchanged("ignored: a refund failure after the refund succeeded");
    }
    let reason = format!("the refund was refused: {}", failure.message);
    held(transfer, &failure.code, reason)
}

/// A provider's word on a refund: acted on when it is the provider's answer,
/// confirmed by query first when it is only evidence.
pub(super) fn succeeded_event(
    transfer: &mut Transfer,
    receipt: &RefundReceipt,
    trust: Trust,
    now_ms: u64,
) -> Outcome {
    let ours = transfer
        .refund()
        .is_some_and(|refund| refund.reference == receipt.reference);
    if !ours {
        return unchanged("ignored refund notice");
    }
    match trust {
        Trust::Answer => refunded(transfer, receipt, now_ms),
        Trust::Evidence => confirm(transfer, "a refund success reported", now_ms),
    }
}

/// A failed or unresolved refund reported: an answer's failure holds the
/// transfer for an operator; evidence is confirmed by query first.
pub(super) fn failed_event(
    transfer: &mut Transfer,
    failure: &RefundFailure,
    unknown: bool,
    trust: Trust,
    now_ms: u64,
) -> Outcome {
    let Some(refund) = transfer.refund() else {
        return unchanged("ignored refund failure notice");
    };
    let named = failure
        .reference
        .as_ref()
        .is_none_or(|r| *r == refund.reference)
        && failure.provider_reference.as_ref().is_none_or(|r| {
            refund
                .provider_reference
                .as_ref()
                .is_none_or(|known| known == r)
        });
    if !named {
        return unchanged("ignored: the body names another refund");
    }
    match (trust, unknown) {
        (Trust::Answer, false) => refused(transfer, &failure.failure),
        _ => confirm(
            transfer,
            &format!("a refund failure reported ({})", failure.failure.code),
            now_ms,
        ),
    }
}

fn confirm(transfer: &mut Transfer, claim: &str, now_ms: u64) -> Outcome {
    match open_refund(transfer) {
        Some(_) => {
            transfer.due_at_ms = Some(now_ms);
            changed(format!("{claim}: confirming with the provider"))
        }
        None => unchanged(format!("ignored: {claim} with no refund open")),
    }
}
