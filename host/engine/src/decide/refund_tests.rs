//! Table tests of a refund's decisions (sent once, resolved by query), and
//! of the pay-in's late facts.

use super::tests::{money, transfer_in};
use super::*;
use crate::wit::{FailureKind, RefundFailure, RefundReceipt};

fn step(transfer: &mut Transfer, input: Input, now_ms: u64) -> Decision {
    let decision = decide(transfer, input, now_ms);
    *transfer = decision.transfer.clone();
    decision
}

fn receipt(transfer: &Transfer) -> RefundReceipt {
    RefundReceipt {
        reference: transfer.refund().expect("a refund").reference.clone(),
        amount: money(transfer.pay_in.amount.amount_minor, "USD"),
        details: vec![],
    }
}

fn budget() -> Budget {
    Budget {
        max_queries: 2,
        first_wait_ms: 10,
        max_wait_ms: 100,
    }
}

fn failure(kind: FailureKind, code: &str) -> Failure {
    Failure {
        kind,
        code: code.into(),
        message: "no".into(),
    }
}

#[test]
fn a_refund_is_requested_once_and_then_only_asked_after() {
    let mut transfer = transfer_in(TransferState::Refunding);
    let first = step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        5,
    );
    assert_eq!(first.effect, Effect::Changed, "{}", first.summary);
    assert!(transfer.refund().expect("refund").awaits_outcome());
    assert_eq!(
        transfer.due_at_ms,
        Some(55),
        "asked after when its result is late"
    );
    let again = step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        6,
    );
    assert_eq!(again.effect, Effect::Unchanged, "never requested twice");
    let accepted = Input::RefundAccepted {
        provider_reference: "AG_1".into(),
        details: vec![],
    };
    step(&mut transfer, accepted, 7);
    assert_eq!(
        transfer
            .refund()
            .and_then(|refund| refund.provider_reference.as_deref()),
        Some("AG_1")
    );
    let refunded = Input::Refunded(receipt(&transfer));
    let done = step(&mut transfer, refunded, 8);
    assert_eq!(done.effect, Effect::Changed, "{}", done.summary);
    assert_eq!(
        transfer.refund().and_then(|refund| refund.refunded_at_ms),
        Some(8)
    );
    assert!(!transfer.refund().expect("refund").awaits_outcome());
}

#[test]
fn a_refund_the_provider_certainly_did_not_take_goes_again_and_then_is_queried() {
    let mut transfer = transfer_in(TransferState::Refunding);
    let retry = Retry {
        max_attempts: 2,
        first_wait_ms: 10,
        max_wait_ms: 10,
    };
    step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        0,
    );
    let not_sent = Input::RefundNotSent {
        failure: failure(FailureKind::Retryable, "503"),
        retry,
    };
    step(&mut transfer, not_sent.clone(), 1);
    assert!(
        !transfer.refund().expect("refund").awaits_outcome(),
        "may be sent again"
    );
    step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        20,
    );
    step(&mut transfer, not_sent, 21);
    assert!(
        transfer.refund().expect("refund").awaits_outcome(),
        "retries spent: resolved by query, not sent again"
    );
}

#[test]
fn no_record_of_a_refund_is_believed_after_the_grace_and_one_accepted_is_held() {
    let mut transfer = transfer_in(TransferState::Refunding);
    step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        100,
    );
    let early = step(&mut transfer, Input::RefundNotFound { grace_ms: 60 }, 120);
    assert_eq!(
        early.effect,
        Effect::Unchanged,
        "it may still be on its way"
    );
    step(&mut transfer, Input::RefundNotFound { grace_ms: 60 }, 200);
    assert!(
        !transfer.refund().expect("refund").awaits_outcome(),
        "never arrived: send again"
    );

    let mut accepted = transfer_in(TransferState::Refunding);
    step(
        &mut accepted,
        Input::RefundRequesting { result_wait_ms: 50 },
        0,
    );
    let input = Input::RefundAccepted {
        provider_reference: "AG_1".into(),
        details: vec![],
    };
    step(&mut accepted, input, 1);
    step(&mut accepted, Input::RefundNotFound { grace_ms: 0 }, 500);
    assert_eq!(
        accepted.state(),
        TransferState::Held,
        "an accepted refund forgotten is for an operator"
    );
}

#[test]
fn refund_queries_are_counted_and_an_unresolved_refund_is_held() {
    let mut transfer = transfer_in(TransferState::Refunding);
    step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        0,
    );
    step(&mut transfer, Input::RefundQueryDue(budget()), 60);
    assert_eq!(transfer.due_at_ms, Some(70));
    step(&mut transfer, Input::RefundQueryDue(budget()), 70);
    let spent = step(&mut transfer, Input::RefundQueryDue(budget()), 90);
    assert_eq!(spent.effect, Effect::Held, "{}", spent.summary);
}

#[test]
fn a_refund_result_callback_is_confirmed_and_only_an_answer_settles_or_holds() {
    let mut transfer = transfer_in(TransferState::Refunding);
    step(
        &mut transfer,
        Input::RefundRequesting { result_wait_ms: 50 },
        0,
    );
    let success = Event::RefundSucceeded(receipt(&transfer));
    let evidence = Input::Event {
        event: success.clone(),
        trust: Trust::Evidence,
    };
    step(&mut transfer, evidence, 9);
    assert_eq!(transfer.due_at_ms, Some(9), "confirmed by query at once");
    assert!(
        transfer
            .refund()
            .and_then(|refund| refund.refunded_at_ms)
            .is_none()
    );

    let reference = transfer.refund().map(|refund| refund.reference.clone());
    let failed = Event::RefundFailed(RefundFailure {
        reference,
        provider_reference: None,
        failure: failure(FailureKind::Failed, "R000002"),
    });
    let claim = Input::Event {
        event: failed.clone(),
        trust: Trust::Evidence,
    };
    step(&mut transfer, claim, 10);
    assert_eq!(
        transfer.state(),
        TransferState::Refunding,
        "a claimed failure holds nothing"
    );
    let answer = Input::Event {
        event: failed,
        trust: Trust::Answer,
    };
    step(&mut transfer, answer, 11);
    assert_eq!(
        transfer.state(),
        TransferState::Held,
        "the provider's failure is for an operator"
    );
}

#[test]
fn an_unconfirmed_pay_in_report_moves_nothing() {
    let mut transfer = transfer_in(TransferState::AwaitingPayIn);
    let report = Event::PayInSucceeded(crate::wit::PayInReceipt {
        reference: transfer.pay_in.reference.clone(),
        provider_transaction_id: "QK1".into(),
        amount: money(transfer.pay_in.amount.amount_minor, "USD"),
        charged: None,
        details: vec![],
    });
    let input = Input::Event {
        event: report,
        trust: Trust::Evidence,
    };
    let decision = step(&mut transfer, input, 5);
    assert_eq!(decision.effect, Effect::Unchanged, "{}", decision.summary);
    assert_eq!(transfer.state(), TransferState::AwaitingPayIn);
}

#[test]
fn an_instruction_answered_after_the_payment_is_recorded_and_moves_nothing() {
    let mut transfer = transfer_in(TransferState::PaidIn);
    transfer.pay_in.provider_transaction_id = Some("QK1".into());
    let started = Input::PayInStarted {
        payment_url: None,
        provider_reference: Some("ws_CO_1".into()),
        action: None,
        details: vec![],
    };
    let decision = step(&mut transfer, started.clone(), 5);
    assert_eq!(decision.effect, Effect::Changed, "{}", decision.summary);
    assert_eq!(transfer.state(), TransferState::PaidIn, "not moved back");
    assert_eq!(
        transfer.pay_in.provider_reference.as_deref(),
        Some("ws_CO_1")
    );
    let again = step(&mut transfer, started, 6);
    assert_eq!(again.effect, Effect::Unchanged, "recorded once");
}
