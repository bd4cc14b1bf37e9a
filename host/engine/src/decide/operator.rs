//! What an operator's action does to a held transfer: the third half of
//! [`decide`](super::decide). Held is the end for the engine; only these
//! inputs lead out of it, and each refuses (leaves the transfer unchanged,
//! saying why) rather than risk paying twice:
//! - a retry never resends a pay-out request: a transfer whose request was
//!   recorded goes back to learning its fate by query;
//! - "paid out" needs the provider's own receipt, from the host's query, that
//!   matches what was stored, and no refund under way;
//! - a refund needs the provider's word that the pay-out did not happen (or
//!   no pay-out request at all), and a pay-in to return.

use super::{Outcome, refund_of};
use crate::checks;
use crate::details::apply as show;
use crate::model::{Transfer, TransferState};
use crate::wit::PayOutReceipt;

/// What the host's own `query-pay-out` found, for an operator's refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOutFinding {
    /// No pay-out request was ever recorded: nothing to ask.
    NotRequested,
    /// The provider paid it (its receipt id).
    Succeeded(String),
    /// The provider has not decided, or answers later by callback.
    Pending,
    /// The provider says it failed (its code).
    Failed(String),
    /// The provider has no record of it, past the grace for it to arrive.
    NotFound,
}

fn refused(summary: impl std::fmt::Display) -> Outcome {
    Outcome::unchanged(format!("refused: {summary}"))
}

/// The state an operator's retry sends `transfer` back to: the one it was
/// held from, or for transfers held before that was recorded, the one its
/// facts imply. A recorded pay-out request is never sent again, so from
/// there the retry queries. Refused for a transfer held after it finished
/// or on two facts that contradict each other: those are resolved, not retried.
pub fn retry_target(transfer: &Transfer) -> Result<TransferState, String> {
    use TransferState::*;
    if transfer.state() != Held {
        return Err(format!("transfer is {}, not held", transfer.state()));
    }
    let requested = transfer.pay_out.requested_at_ms.is_some();
    let from = transfer
        .held_from()
        .unwrap_or(if transfer.refund().is_some() {
            Refunding
        } else if transfer.ledger_id().is_some() && requested {
            PayOutUnknown
        } else if transfer.ledger_id().is_some() {
            LedgerRegistered
        } else if transfer.pay_in.provider_transaction_id.is_some() {
            PaidIn
        } else if transfer.pay_in.payment_url.is_some() {
            AwaitingPayIn
        } else {
            Created
        });
    let contradiction = transfer
        .failure
        .as_ref()
        .is_some_and(|note| note.code == "contradiction");
    match from {
        _ if contradiction => Err(
            "the provider's facts contradict each other: resolve it with evidence instead".into(),
        ),
        _ if from.is_terminal() => Err(format!(
            "it was held after it finished ({from}): resolve it with evidence instead"
        )),
        LedgerConfirmed | PayingOut if requested => Ok(PayOutUnknown),
        other => Ok(other),
    }
}

pub(super) fn retry(transfer: &mut Transfer, now_ms: u64) -> Outcome {
    match retry_target(transfer) {
        Ok(target) => {
            transfer.pay_out.queries = 0;
            transfer.release(target, None, Some(now_ms));
            Outcome::changed(format!("an operator retries the {target} step"))
        }
        Err(reason) => refused(reason),
    }
}

pub(super) fn paid_out(transfer: &mut Transfer, receipt: &PayOutReceipt) -> Outcome {
    if transfer.state() != TransferState::Held {
        return refused(format!("transfer is {}, not held", transfer.state()));
    }
    if transfer.refund().is_some() {
        return refused("a refund of the pay-in began: it cannot also be paid out");
    }
    if transfer.ledger_id().is_none() || transfer.pay_out.requested_at_ms.is_none() {
        return refused("no pay-out request was ever sent for it");
    }
    if let Err(reason) = checks::pay_out_receipt(transfer, receipt) {
        return refused(format!("the provider's receipt does not match: {reason}"));
    }
    let receipt_id = &receipt.provider_transaction_id;
    if let Some(known) = &transfer.pay_out.provider_transaction_id
        && known != receipt_id
    {
        return refused(format!(
            "the stored receipt is {known}, the provider's is {receipt_id}"
        ));
    }
    transfer.pay_out.provider_transaction_id = Some(receipt_id.clone());
    if receipt.fee.is_some() {
        transfer.pay_out.fee = receipt
            .fee
            .as_ref()
            .and_then(|fee| crate::money::Money::from_wit(fee).ok());
    }
    let id = transfer.id.clone();
    show(
        &id,
        "pay-out",
        &mut transfer.pay_out.details,
        &receipt.details,
    );
    transfer.release(TransferState::Completed, None, None);
    Outcome::changed(format!(
        "an operator marked it paid out (receipt {receipt_id}, confirmed by query)"
    ))
}

pub(super) fn refund(
    transfer: &mut Transfer,
    reason: String,
    pay_out: &PayOutFinding,
    now_ms: u64,
) -> Outcome {
    if transfer.state() != TransferState::Held {
        return refused(format!("transfer is {}, not held", transfer.state()));
    }
    let paid_in =
        transfer.pay_in.provider_transaction_id.is_some() || transfer.ledger_id().is_some();
    if !paid_in {
        return refused("nothing was paid in: there is nothing to refund");
    }
    let requested =
        transfer.pay_out.requested_at_ms.is_some() || transfer.pay_out.provider_reference.is_some();
    match pay_out {
        PayOutFinding::Failed(_) | PayOutFinding::NotFound => {}
        PayOutFinding::NotRequested if !requested => {}
        PayOutFinding::NotRequested => {
            return refused("the pay-out was requested: ask the provider first");
        }
        PayOutFinding::Succeeded(receipt) => {
            return refused(format!(
                "the provider says the pay-out succeeded (receipt {receipt})"
            ));
        }
        PayOutFinding::Pending => {
            return refused("the provider has not said the pay-out failed (it is pending)");
        }
    }
    let refund = match transfer.refund() {
        Some(begun) => begun.clone(),
        None => refund_of(transfer, reason.clone()),
    };
    transfer.release(TransferState::Refunding, Some(refund), Some(now_ms));
    Outcome::changed(format!("an operator started the refund: {reason}"))
}
