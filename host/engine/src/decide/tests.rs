//! Table tests of [`decide`]: each state against each kind of input.

use super::events::note;
use super::*;
use crate::model::{Stage, StoredQuote};
use crate::wit::{
    Failure, FailureKind, Money, PayInFailure, PayInReceipt, PayOutFailure, PayOutReceipt,
};

/// [`decide`] for one event, as the store would apply it: `transfer` becomes
/// the transfer after.
fn transition(transfer: &mut Transfer, event: &Event, trust: Trust, now_ms: u64) -> Decision {
    let input = Input::Event {
        event: event.clone(),
        trust,
    };
    let decision = decide(transfer, input, now_ms);
    *transfer = decision.transfer.clone();
    decision
}

pub(super) fn money(amount_minor: i64, currency: &str) -> Money {
    Money {
        amount_minor,
        currency: currency.into(),
    }
}

/// Money as the host keeps it.
fn held(amount_minor: i64, currency: &str) -> crate::money::Money {
    crate::money::Money::from_wit(&money(amount_minor, currency)).expect("a currency code")
}

pub(crate) fn transfer_in(state: TransferState) -> Transfer {
    let quote = StoredQuote {
        id: "q_1".into(),
        connector: "alipay-mpesa".into(),
        send: held(1000, "USD"),
        pay_in: held(6594, "CNY"),
        receive: held(100_000, "KES"),
        fee: held(0, "USD"),
        rate: "100.00".into(),
        pay_in_rate: "6.5943".into(),
        expires_at_ms: 10_000,
        rate_source: "fx".into(),
        created_at_ms: 0,
    };
    let plan = crate::intake::sample_plan("tr_0a1b", "254708374149");
    let mut transfer = crate::intake::new_transfer(&quote, "tr_0a1b".into(), plan, ("sha", "v"), 0);
    let refund = matches!(state, TransferState::Refunding | TransferState::Refunded)
        .then(|| refund_of(&transfer, "the pay-out failed".into()));
    transfer.stage = Stage::with_facts(state, Some("L1".into()), refund).expect("every fact given");
    transfer
}

fn success_for(reference: &str, amount_minor: i64, recipient: &str) -> Event {
    Event::PayOutSucceeded(PayOutReceipt {
        details: vec![],
        reference: reference.into(),
        provider_transaction_id: "SG632NMUAB".into(),
        recipient: recipient.into(),
        amount: money(amount_minor, "KES"),
        fee: None,
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
    (transfer.state() == TransferState::Held)
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
        assert_eq!(transfer.state(), TransferState::PayOutUnknown);
        assert_eq!(transfer.due_at_ms, Some(7), "queried at once");
        assert!(transfer.refund().is_none());
    }
}

#[test]
fn the_providers_answer_to_a_query_fails_the_pay_out() {
    let mut transfer = transfer_in(TransferState::PayOutUnknown);
    let event = failure(&transfer, "2040");
    let outcome = transition(&mut transfer, &event, Trust::Answer, 7);
    assert_eq!(outcome.effect, Effect::Changed);
    assert_eq!(transfer.state(), TransferState::PayOutFailed);
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
            (transfer.state(), transfer.due_at_ms),
            (TransferState::PayOutUnknown, Some(1)),
            "an unsigned success in doubt is confirmed by query"
        );
    }
}

#[test]
fn a_body_naming_another_reference_is_ignored_not_held() {
    let other = "CORFFFFFFFFFFFFFFFFFFFFFFFF-B2C";
    for state in TransferState::ALL {
        for trust in [Trust::Answer, Trust::Evidence] {
            let mut transfer = transfer_in(state);
            let before = transfer.clone();
            for event in [
                success_for(other, 100_000, "254708374149"),
                failure_for(Some(other), "2001"),
                Event::PayInFailed(PayInFailure {
                    reference: "CORFFFF".into(),
                    failure: Failure {
                        kind: FailureKind::Failed,
                        code: "TRADE_CLOSED".into(),
                        message: String::new(),
                    },
                }),
                Event::PayInSucceeded(PayInReceipt {
                    details: vec![],
                    reference: "CORFFFF".into(),
                    provider_transaction_id: "2026".into(),
                    amount: money(1, "USD"),
                    charged: None,
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
        details: vec![],
        reference: transfer.pay_in.reference.clone(),
        provider_transaction_id: "2026".into(),
        amount: money(1, "USD"),
        charged: None,
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
    assert_eq!(transfer.state(), TransferState::Completed);
    let event = failure(&transfer, "2001");
    let outcome = transition(&mut transfer, &event, Trust::Evidence, 2);
    assert_eq!(outcome.effect, Effect::Held);
    assert_eq!(held_code(&transfer), Some("contradiction"));
    assert!(transfer.refund().is_none());
}

#[test]
fn duplicate_late_and_out_of_order_events_change_nothing() {
    let mut transfer = transfer_in(TransferState::PayingOut);
    let paid = success(&transfer);
    assert_eq!(
        transition(&mut transfer, &paid, Trust::Evidence, 1).effect,
        Effect::Changed
    );
    assert_eq!(transfer.state(), TransferState::Completed);
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
