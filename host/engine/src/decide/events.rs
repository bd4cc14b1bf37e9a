//! What a provider's event does: the half of [`decide`](super::decide) that
//! today's callbacks and query answers drive.

use super::{Effect, Outcome, Trust, refund_of, refunds};
use crate::checks;
use crate::details::apply as show;
use crate::model::{FailureNote, Transfer, TransferState};
use crate::wit::{Event, PayInReceipt, PayOutFailure, PayOutReceipt};

/// Applies `event` to `transfer`.
pub(super) fn event(transfer: &mut Transfer, event: &Event, trust: Trust, now_ms: u64) -> Outcome {
    match event {
        Event::PayInSucceeded(receipt) => pay_in_succeeded(transfer, receipt, trust),
        Event::PayInFailed(_) if trust == Trust::Evidence => {
            Outcome::unchanged("ignored: an unconfirmed pay-in failure report")
        }
        Event::PayInFailed(failure) => {
            if failure.reference != transfer.pay_in.reference {
                return foreign("pay-in", &failure.reference);
            }
            match transfer.state() {
                TransferState::Created | TransferState::AwaitingPayIn => {
                    transfer.failure = Some(note(&failure.failure.code, &failure.failure.message));
                    transfer.enter(TransferState::PayInFailed, None);
                    Outcome::changed(format!("pay-in failed: {}", failure.failure.code))
                }
                _ => Outcome::unchanged("duplicate pay-in failure"),
            }
        }
        Event::PayOutSucceeded(receipt) => pay_out_succeeded(transfer, receipt, trust, now_ms),
        Event::PayOutFailed(failure) => pay_out_failed(transfer, failure, trust, now_ms),
        Event::PayOutUnknown(failure) => {
            if let Some(outcome) = foreign_pay_out(transfer, failure.reference.as_deref()) {
                return outcome;
            }
            match transfer.state() {
                TransferState::PayingOut => {
                    transfer.enter(TransferState::PayOutUnknown, Some(now_ms));
                    Outcome::changed(format!("pay-out unknown: {}", failure.failure.code))
                }
                _ => Outcome::unchanged("pay-out unknown: nothing to change"),
            }
        }
        Event::RefundSucceeded(receipt) => {
            refunds::succeeded_event(transfer, receipt, trust, now_ms)
        }
        Event::RefundFailed(failure) => {
            refunds::failed_event(transfer, failure, false, trust, now_ms)
        }
        Event::RefundUnknown(failure) => {
            refunds::failed_event(transfer, failure, true, trust, now_ms)
        }
    }
}

pub(super) fn note(code: &str, message: &str) -> FailureNote {
    FailureNote {
        code: code.to_string(),
        message: message.to_string(),
    }
}

fn foreign(leg: &str, reference: &str) -> Outcome {
    Outcome::unchanged(format!(
        "ignored: the body names {leg} reference {reference:?}, not this transfer's"
    ))
}

fn foreign_pay_out(transfer: &Transfer, reference: Option<&str>) -> Option<Outcome> {
    checks::pay_out_reference(transfer, reference)
        .err()
        .map(|_| foreign("pay-out", reference.unwrap_or_default()))
}

/// A value that does not match what was stored, in a fact the host believes.
pub(super) fn mismatch(transfer: &mut Transfer, reason: String) -> Outcome {
    if transfer.state().is_terminal() {
        return Outcome::unchanged(format!("ignored mismatch on a finished transfer: {reason}"));
    }
    transfer.hold("mismatch", reason.clone());
    Outcome {
        effect: Effect::Held,
        summary: format!("held: {reason}"),
    }
}

/// Two facts that cannot both be true: the transfer stops, with both on record.
fn contradiction(transfer: &mut Transfer, now_fact: String, earlier_fact: String) -> Outcome {
    let reason = format!("{now_fact}, but earlier {earlier_fact}");
    transfer.hold("contradiction", reason.clone());
    Outcome {
        effect: Effect::Held,
        summary: format!("held: {reason}"),
    }
}

/// A claim to confirm with the provider before acting: query now. Only a
/// pay-out under way has anything to confirm.
fn confirm_by_query(transfer: &mut Transfer, claim: String, now_ms: u64) -> Outcome {
    match transfer.state() {
        TransferState::PayingOut => transfer.enter(TransferState::PayOutUnknown, Some(now_ms)),
        TransferState::PayOutUnknown => transfer.due_at_ms = Some(now_ms),
        other => return Outcome::unchanged(format!("ignored: {claim} in state {other}")),
    }
    Outcome::changed(format!("{claim}: confirming with the provider"))
}

fn pay_in_succeeded(transfer: &mut Transfer, receipt: &PayInReceipt, trust: Trust) -> Outcome {
    if trust == Trust::Evidence {
        // The callback layer confirms a pay-in claim by query before it
        // reaches here; an unconfirmed one moves nothing.
        return Outcome::unchanged("ignored: an unconfirmed pay-in report");
    }
    if receipt.reference != transfer.pay_in.reference {
        return foreign("pay-in", &receipt.reference);
    }
    if let Err(reason) = checks::pay_in_receipt(transfer, receipt) {
        return mismatch(transfer, reason);
    }
    match transfer.state() {
        TransferState::Created | TransferState::AwaitingPayIn => {
            transfer.pay_in.provider_transaction_id = Some(receipt.provider_transaction_id.clone());
            transfer.pay_in.charged = shown(receipt.charged.as_ref());
            show(
                &transfer.id.clone(),
                "pay-in",
                &mut transfer.pay_in.details,
                &receipt.details,
            );
            transfer.enter(TransferState::PaidIn, Some(0));
            Outcome::changed("paid in")
        }
        TransferState::Expired | TransferState::PayInFailed => {
            transfer.pay_in.provider_transaction_id = Some(receipt.provider_transaction_id.clone());
            show(
                &transfer.id.clone(),
                "pay-in",
                &mut transfer.pay_in.details,
                &receipt.details,
            );
            let refund = refund_of(transfer, "paid after the pay-in window closed".into());
            transfer.begin_refund(refund, Some(0));
            Outcome::changed("late payment: refunding")
        }
        _ => Outcome::unchanged("duplicate pay-in"),
    }
}

fn pay_out_succeeded(
    transfer: &mut Transfer,
    receipt: &PayOutReceipt,
    trust: Trust,
    now_ms: u64,
) -> Outcome {
    use TransferState::*;
    if let Some(outcome) = foreign_pay_out(transfer, Some(&receipt.reference)) {
        return outcome;
    }
    let paying_out = matches!(transfer.state(), PayingOut | PayOutUnknown);
    if let Err(reason) = checks::pay_out_receipt(transfer, receipt) {
        return match trust {
            Trust::Evidence if paying_out => {
                confirm_by_query(transfer, format!("a success in doubt ({reason})"), now_ms)
            }
            Trust::Evidence => Outcome::unchanged(format!("ignored a success in doubt: {reason}")),
            Trust::Answer => mismatch(transfer, reason),
        };
    }
    let receipt_id = &receipt.provider_transaction_id;
    let paid = format!("the provider reports the pay-out paid (receipt {receipt_id})");
    match transfer.state() {
        PayingOut | PayOutUnknown => {
            transfer.pay_out.provider_transaction_id = Some(receipt_id.clone());
            if receipt.fee.is_some() {
                transfer.pay_out.fee = shown(receipt.fee.as_ref());
            }
            show(
                &transfer.id.clone(),
                "pay-out",
                &mut transfer.pay_out.details,
                &receipt.details,
            );
            transfer.enter(Completed, None);
            Outcome::changed("paid out")
        }
        Completed => match &transfer.pay_out.provider_transaction_id {
            Some(known) if known == receipt_id => Outcome::unchanged("duplicate pay-out result"),
            known => {
                let earlier = format!("it reported receipt {}", known.as_deref().unwrap_or("?"));
                contradiction(transfer, paid, earlier)
            }
        },
        PayOutFailed | Refunding | Refunded => {
            let failure = transfer.failure.clone().unwrap_or_else(|| note("?", "?"));
            let earlier = format!(
                "it was reported failed ({}: {}) and the refund began",
                failure.code, failure.message
            );
            contradiction(transfer, paid, earlier)
        }
        other => Outcome::unchanged(format!("ignored: a pay-out success in state {other}")),
    }
}

fn pay_out_failed(
    transfer: &mut Transfer,
    failure: &PayOutFailure,
    trust: Trust,
    now_ms: u64,
) -> Outcome {
    use TransferState::*;
    if let Some(outcome) = foreign_pay_out(transfer, failure.reference.as_deref()) {
        return outcome;
    }
    let code = &failure.failure.code;
    match (transfer.state(), trust) {
        (PayingOut | PayOutUnknown, Trust::Answer) => {
            transfer.failure = Some(note(code, &failure.failure.message));
            transfer.enter(PayOutFailed, Some(0));
            Outcome::changed(format!("pay-out failed: {code}"))
        }
        (PayingOut | PayOutUnknown, Trust::Evidence) => confirm_by_query(
            transfer,
            format!("a pay-out failure reported ({code})"),
            now_ms,
        ),
        (Completed, _) => {
            let failed = format!(
                "the provider reports the pay-out failed ({code}: {})",
                failure.failure.message
            );
            let earlier = format!(
                "it reported it paid (receipt {})",
                transfer
                    .pay_out
                    .provider_transaction_id
                    .as_deref()
                    .unwrap_or("?")
            );
            contradiction(transfer, failed, earlier)
        }
        (PayOutFailed | Refunding | Refunded, _) => Outcome::unchanged("duplicate pay-out failure"),
        (other, _) => Outcome::unchanged(format!("ignored: a pay-out failure in state {other}")),
    }
}

/// A connector's informational amount (what the payer was charged, the
/// provider's fee), kept only when its currency has the shape of a code.
fn shown(money: Option<&crate::wit::Money>) -> Option<crate::money::Money> {
    money.and_then(|money| crate::money::Money::from_wit(money).ok())
}
