//! What one event does to a transfer: a pure function of the stored transfer,
//! the event, how far the host believes it, and the time. No I/O.
//!
//! Rules:
//! - States only move forward, so a duplicate, late or out-of-order event
//!   finds the transfer past it and changes nothing.
//! - An event that names another transfer's reference is ignored for this
//!   one: it is no fact about this transfer, so it neither moves nor holds it.
//! - An unsigned claim ([`Trust::Evidence`]) never makes the host give money
//!   back: a reported pay-out failure is confirmed with the provider (the
//!   transfer goes to `pay-out-unknown`, due now, and a status query follows)
//!   before any refund.
//! - Facts that contradict each other hold the transfer with both recorded:
//!   a success after the refund began, a failure after the success, two
//!   different receipts for one pay-out. Nothing more is paid until an
//!   operator looks.

use super::checks;
use super::model::{FailureNote, Refund, Transfer, TransferState};
use crate::wit::{Event, PayInReceipt, PayOutFailure, PayOutReceipt};

/// How far the host believes an event, decided by where it came from, never
/// by what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The provider's own word: a reply to the host's own request or query
    /// (synchronously, or on a query's own callback route), or a notification
    /// the connector verified (signature and a call back to the provider).
    Answer,
    /// An unsigned callback on a route the provider was given. A success that
    /// matches every stored value is taken; a failure, or anything in doubt,
    /// is confirmed by a query first.
    Evidence,
}

/// What came of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing changed: a duplicate, a late or foreign event.
    Unchanged,
    /// The transfer changed (state, schedule or facts).
    Changed,
    /// The transfer is now held for an operator.
    Held,
}

/// An event's effect and a one-line summary for the callback log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What it did.
    pub effect: Effect,
    /// What happened, for people.
    pub summary: String,
}

impl Outcome {
    fn unchanged(summary: impl Into<String>) -> Outcome {
        Outcome {
            effect: Effect::Unchanged,
            summary: summary.into(),
        }
    }

    fn changed(summary: impl Into<String>) -> Outcome {
        Outcome {
            effect: Effect::Changed,
            summary: summary.into(),
        }
    }
}

/// The one refund of a transfer's pay-in: its reference (Alipay
/// `out_return_no`) is the one the connector planned, so every retry sends
/// the same one.
pub fn refund_of(transfer: &Transfer, reason: String) -> Refund {
    Refund {
        reference: if transfer.refund_reference.is_empty() {
            // Stored before connectors planned references: as the host derived it then.
            format!("{}-R1", transfer.pay_in.reference)
        } else {
            transfer.refund_reference.clone()
        },
        reason,
        ..Refund::default()
    }
}

/// Applies `event` to `transfer`.
pub fn transition(transfer: &mut Transfer, event: &Event, trust: Trust, now_ms: u64) -> Outcome {
    match event {
        Event::PayInSucceeded(receipt) => pay_in_succeeded(transfer, receipt),
        Event::PayInFailed(failure) => {
            if failure.reference != transfer.pay_in.reference {
                return foreign("pay-in", &failure.reference);
            }
            match transfer.state {
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
            match transfer.state {
                TransferState::PayingOut => {
                    transfer.enter(TransferState::PayOutUnknown, Some(now_ms));
                    Outcome::changed(format!("pay-out unknown: {}", failure.failure.code))
                }
                _ => Outcome::unchanged("pay-out unknown: nothing to change"),
            }
        }
        Event::RefundSucceeded(receipt) => match (&transfer.refund, transfer.state) {
            (Some(refund), TransferState::Refunding) if refund.reference == receipt.reference => {
                Outcome::unchanged("refund confirmed")
            }
            _ => Outcome::unchanged("ignored refund notice"),
        },
    }
}

fn note(code: &str, message: &str) -> FailureNote {
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
fn mismatch(transfer: &mut Transfer, reason: String) -> Outcome {
    if transfer.state.is_terminal() {
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

/// A claim to confirm with the provider before acting: query now.
fn confirm_by_query(transfer: &mut Transfer, claim: String, now_ms: u64) -> Outcome {
    match transfer.state {
        TransferState::PayingOut => transfer.enter(TransferState::PayOutUnknown, Some(now_ms)),
        TransferState::PayOutUnknown => transfer.due_at_ms = Some(now_ms),
        other => unreachable!("confirming a pay-out claim in state {other}"),
    }
    Outcome::changed(format!("{claim}: confirming with the provider"))
}

fn pay_in_succeeded(transfer: &mut Transfer, receipt: &PayInReceipt) -> Outcome {
    if receipt.reference != transfer.pay_in.reference {
        return foreign("pay-in", &receipt.reference);
    }
    if let Err(reason) = checks::pay_in_receipt(transfer, receipt) {
        return mismatch(transfer, reason);
    }
    match transfer.state {
        TransferState::Created | TransferState::AwaitingPayIn => {
            transfer.pay_in.provider_transaction_id = Some(receipt.provider_transaction_id.clone());
            transfer.pay_in.charged = receipt.charged.clone();
            pay_in_details(transfer, receipt);
            transfer.enter(TransferState::PaidIn, Some(0));
            Outcome::changed("paid in")
        }
        TransferState::Expired | TransferState::PayInFailed => {
            transfer.pay_in.provider_transaction_id = Some(receipt.provider_transaction_id.clone());
            pay_in_details(transfer, receipt);
            transfer.refund = Some(refund_of(
                transfer,
                "paid after the pay-in window closed".into(),
            ));
            transfer.enter(TransferState::Refunding, Some(0));
            Outcome::changed("late payment: refunding")
        }
        _ => Outcome::unchanged("duplicate pay-in"),
    }
}

/// An accepted pay-in receipt's fields for people.
fn pay_in_details(transfer: &mut Transfer, receipt: &PayInReceipt) {
    let id = transfer.id.clone();
    super::details::apply(
        &id,
        "pay-in",
        &mut transfer.pay_in.details,
        &receipt.details,
    );
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
    let paying_out = matches!(transfer.state, PayingOut | PayOutUnknown);
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
    match transfer.state {
        PayingOut | PayOutUnknown => {
            transfer.pay_out.provider_transaction_id = Some(receipt_id.clone());
            if receipt.fee.is_some() {
                transfer.pay_out.fee = receipt.fee.clone();
            }
            let id = transfer.id.clone();
            super::details::apply(
                &id,
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
    match (transfer.state, trust) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StoredQuote;
    use crate::wit::{Failure, FailureKind, Money, PayInFailure};

    fn money(amount_minor: i64, currency: &str) -> Money {
        Money {
            amount_minor,
            currency: currency.into(),
        }
    }

    fn transfer_in(state: TransferState) -> Transfer {
        let quote = StoredQuote {
            id: "q_1".into(),
            connector: "alipay-mpesa".into(),
            send: money(1000, "USD"),
            pay_in: money(6594, "CNY"),
            receive: money(100_000, "KES"),
            fee: money(0, "USD"),
            rate: "100.00".into(),
            pay_in_rate: "6.5943".into(),
            expires_at_ms: 10_000,
            rate_source: "fx".into(),
            created_at_ms: 0,
        };
        let plan = crate::intake::sample_plan("tr_0a1b", "254708374149");
        let mut transfer = crate::intake::new_transfer(&quote, "tr_0a1b".into(), plan, "sha", 0);
        transfer.state = state;
        transfer
    }

    fn success_for(reference: &str, amount_minor: i64, recipient: &str) -> Event {
        Event::PayOutSucceeded(PayOutReceipt {
            reference: reference.into(),
            provider_transaction_id: "SG632NMUAB".into(),
            recipient: recipient.into(),
            amount: money(amount_minor, "KES"),
            fee: None,
            details: vec![],
        })
    }

    fn success(transfer: &Transfer) -> Event {
        success_for(&transfer.pay_out.reference, 100_000, "254708374149")
    }

    fn failure_for(reference: Option<&str>, code: &str) -> Event {
        Event::PayOutFailed(PayOutFailure {
            reference: reference.map(str::to_string),
            provider_reference: None,
            failure: Failure {
                kind: FailureKind::Failed,
                code: code.into(),
                message: "failed".into(),
            },
        })
    }

    fn failure(transfer: &Transfer, code: &str) -> Event {
        failure_for(Some(&transfer.pay_out.reference), code)
    }

    fn held_code(transfer: &Transfer) -> Option<&str> {
        (transfer.state == TransferState::Held)
            .then(|| transfer.failure.as_ref().map(|note| note.code.as_str()))
            .flatten()
    }

    #[test]
    fn a_reported_failure_is_confirmed_by_query_before_any_refund() {
        for state in [TransferState::PayingOut, TransferState::PayOutUnknown] {
            let mut transfer = transfer_in(state);
            let event = failure(&transfer, "2001");
            let outcome = transition(&mut transfer, &event, Trust::Evidence, 7);
            assert_eq!(outcome.effect, Effect::Changed, "{}", outcome.summary);
            assert_eq!(transfer.state, TransferState::PayOutUnknown);
            assert_eq!(transfer.due_at_ms, Some(7), "queried at once");
            assert!(transfer.refund.is_none());
        }
    }

    #[test]
    fn the_providers_answer_to_a_query_fails_the_pay_out() {
        let mut transfer = transfer_in(TransferState::PayOutUnknown);
        let event = failure(&transfer, "2040");
        let outcome = transition(&mut transfer, &event, Trust::Answer, 7);
        assert_eq!(outcome.effect, Effect::Changed);
        assert_eq!(transfer.state, TransferState::PayOutFailed);
    }

    #[test]
    fn a_pay_out_receipt_that_does_not_match_holds_only_when_the_provider_answered() {
        for (amount_minor, recipient) in [(100_100, "254708374149"), (100_000, "254705912645")] {
            let mut transfer = transfer_in(TransferState::PayingOut);
            let event = success_for(&transfer.pay_out.reference, amount_minor, recipient);
            let outcome = transition(&mut transfer, &event, Trust::Answer, 1);
            assert_eq!(outcome.effect, Effect::Held, "{}", outcome.summary);
            assert_eq!(held_code(&transfer), Some("mismatch"));

            let mut transfer = transfer_in(TransferState::PayingOut);
            let event = success_for(&transfer.pay_out.reference, amount_minor, recipient);
            transition(&mut transfer, &event, Trust::Evidence, 1);
            assert_eq!(
                (transfer.state, transfer.due_at_ms),
                (TransferState::PayOutUnknown, Some(1)),
                "an unsigned success in doubt is confirmed by query"
            );
        }
    }

    #[test]
    fn a_body_naming_another_reference_is_ignored_not_held() {
        let other = "tr_ffff-out";
        for state in TransferState::ALL {
            for trust in [Trust::Answer, Trust::Evidence] {
                let mut transfer = transfer_in(state);
                let before = transfer.clone();
                for event in [
                    success_for(other, 100_000, "254708374149"),
                    failure_for(Some(other), "2001"),
                    Event::PayInFailed(PayInFailure {
                        reference: "tr_ffff-in".into(),
                        failure: Failure {
                            kind: FailureKind::Failed,
                            code: "TRADE_CLOSED".into(),
                            message: String::new(),
                        },
                    }),
                    Event::PayInSucceeded(PayInReceipt {
                        reference: "tr_ffff-in".into(),
                        provider_transaction_id: "2026".into(),
                        amount: money(1, "USD"),
                        charged: None,
                        details: vec![],
                    }),
                ] {
                    let outcome = transition(&mut transfer, &event, trust, 1);
                    assert_eq!(
                        outcome.effect,
                        Effect::Unchanged,
                        "{state}: {}",
                        outcome.summary
                    );
                }
                assert_eq!(transfer, before);
            }
        }
    }

    #[test]
    fn a_pay_in_for_another_amount_holds_the_transfer_and_pays_nothing() {
        let mut transfer = transfer_in(TransferState::AwaitingPayIn);
        let short = Event::PayInSucceeded(PayInReceipt {
            reference: transfer.pay_in.reference.clone(),
            provider_transaction_id: "2026".into(),
            amount: money(1, "USD"),
            charged: None,
            details: vec![],
        });
        let outcome = transition(&mut transfer, &short, Trust::Answer, 1);
        assert_eq!(outcome.effect, Effect::Held);
        assert_eq!(transfer.due_at_ms, None, "nothing more runs");
    }

    #[test]
    fn a_success_after_the_refund_began_holds_with_both_facts() {
        for state in [
            TransferState::PayOutFailed,
            TransferState::Refunding,
            TransferState::Refunded,
        ] {
            for trust in [Trust::Answer, Trust::Evidence] {
                let mut transfer = transfer_in(state);
                transfer.failure = Some(note("2040", "unregistered"));
                let event = success(&transfer);
                let outcome = transition(&mut transfer, &event, trust, 1);
                assert_eq!(outcome.effect, Effect::Held, "{state}");
                assert_eq!(held_code(&transfer), Some("contradiction"));
                let message = &transfer.failure.as_ref().expect("note").message;
                assert!(
                    message.contains("SG632NMUAB") && message.contains("2040"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn a_failure_after_the_success_holds_and_never_refunds() {
        let mut transfer = transfer_in(TransferState::PayingOut);
        let event = success(&transfer);
        transition(&mut transfer, &event, Trust::Evidence, 1);
        assert_eq!(transfer.state, TransferState::Completed);
        let event = failure(&transfer, "2001");
        let outcome = transition(&mut transfer, &event, Trust::Evidence, 2);
        assert_eq!(outcome.effect, Effect::Held);
        assert_eq!(held_code(&transfer), Some("contradiction"));
        assert!(transfer.refund.is_none());
    }

    #[test]
    fn duplicate_late_and_out_of_order_events_change_nothing() {
        let mut transfer = transfer_in(TransferState::PayingOut);
        let paid = success(&transfer);
        assert_eq!(
            transition(&mut transfer, &paid, Trust::Evidence, 1).effect,
            Effect::Changed
        );
        assert_eq!(transfer.state, TransferState::Completed);
        let before = transfer.clone();
        assert_eq!(
            transition(&mut transfer, &paid, Trust::Answer, 2).effect,
            Effect::Unchanged,
            "a duplicate"
        );
        let unknown = Event::PayOutUnknown(PayOutFailure {
            reference: None,
            provider_reference: None,
            failure: Failure {
                kind: FailureKind::Unknown,
                code: "queue-timeout".into(),
                message: String::new(),
            },
        });
        assert_eq!(
            transition(&mut transfer, &unknown, Trust::Evidence, 4).effect,
            Effect::Unchanged
        );
        assert_eq!(transfer, before);
    }

    #[test]
    fn a_pay_out_event_before_any_pay_out_changes_nothing() {
        for state in [
            TransferState::Created,
            TransferState::AwaitingPayIn,
            TransferState::PaidIn,
            TransferState::LedgerRegistered,
            TransferState::LedgerConfirmed,
        ] {
            for trust in [Trust::Answer, Trust::Evidence] {
                let mut transfer = transfer_in(state);
                let before = transfer.clone();
                let event = success(&transfer);
                transition(&mut transfer, &event, trust, 1);
                let event = failure(&transfer, "2001");
                transition(&mut transfer, &event, trust, 1);
                assert_eq!(transfer, before, "{state}");
            }
        }
    }
}
