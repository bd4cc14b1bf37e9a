//! Property tests of [`decide`]: random sequences of inputs (duplicated, late,
//! out of order, with random trust) applied from `created`, as the store
//! applies them, and the facts that must hold after every one.

use proptest::prelude::*;

use super::tests::{money, transfer_in};
use super::*;
use crate::wit::{
    FailureKind, PayInFailure, PayInReceipt, PayOutFailure, PayOutReceipt, RefundReceipt,
};

/// How far along the happy or the refund path a state is. A transfer's rank
/// never falls; `held` is the one sideways exit, and only an operator's
/// action leads out of it.
fn rank(state: TransferState) -> u8 {
    use TransferState::*;
    match state {
        Created => 0,
        AwaitingPayIn => 1,
        PaidIn | Expired | PayInFailed => 2,
        LedgerRegistered => 3,
        LedgerConfirmed => 4,
        PayingOut => 5,
        PayOutUnknown => 6,
        Completed | PayOutFailed => 7,
        Refunding => 8,
        Refunded => 9,
        Held => u8::MAX,
    }
}

/// One random input, before it is made concrete against the transfer.
#[derive(Debug, Clone)]
struct Draw {
    /// Follow the path the transfer is on (the input its state waits for),
    /// rather than `kind`: without this, random inputs rarely get far.
    follow: bool,
    kind: u8,
    /// Whether a value matches what was stored.
    matching: bool,
    /// Which of a few receipt ids, failure kinds or states.
    pick: u8,
    answer: bool,
    later_ms: u64,
}

/// Kinds of input: 0–5 events, 6–22 step results, 23–25 an operator's
/// actions, 26 the retryable refusal (last, so it can be left out).
const KINDS: u8 = 27;

fn draws(kinds: u8) -> impl Strategy<Value = Vec<Draw>> {
    let draw = (
        proptest::bool::weighted(0.6),
        0..kinds,
        proptest::bool::weighted(0.85),
        0u8..3,
        any::<bool>(),
        0u64..4_000,
    )
        .prop_map(
            move |(follow, kind, matching, pick, answer, later_ms)| Draw {
                follow,
                kind: kind.min(kinds - 1),
                matching,
                pick,
                answer,
                later_ms,
            },
        );
    proptest::collection::vec(draw, 1..60)
}

fn failure(code: &str, kind: FailureKind) -> Failure {
    Failure {
        kind,
        code: code.into(),
        message: "m".into(),
    }
}

fn retry() -> Retry {
    Retry {
        max_attempts: 3,
        first_wait_ms: 10,
        max_wait_ms: 100,
    }
}

/// A provider's event, made from a draw against `transfer`.
fn event(transfer: &Transfer, draw: &Draw) -> Input {
    let pay_out_reference = if draw.matching {
        transfer.pay_out.reference.clone()
    } else {
        "COROTHER-B2C".to_string()
    };
    let event = match draw.kind {
        0 => Event::PayInSucceeded(PayInReceipt {
            details: vec![],
            reference: transfer.pay_in.reference.clone(),
            provider_transaction_id: "2026".into(),
            amount: money(if draw.matching { 1000 } else { 1 }, "USD"),
            charged: None,
        }),
        1 => Event::PayInFailed(PayInFailure {
            reference: transfer.pay_in.reference.clone(),
            failure: failure("TRADE_CLOSED", FailureKind::Failed),
        }),
        2 => Event::PayOutSucceeded(PayOutReceipt {
            details: vec![],
            reference: transfer.pay_out.reference.clone(),
            provider_transaction_id: format!("R{}", draw.pick),
            recipient: transfer.recipient.clone(),
            amount: money(if draw.matching { 100_000 } else { 100_100 }, "KES"),
            fee: None,
        }),
        3 => Event::PayOutFailed(PayOutFailure {
            reference: (draw.pick > 0).then_some(pay_out_reference),
            provider_reference: None,
            failure: failure("2001", FailureKind::Failed),
        }),
        4 => Event::PayOutUnknown(PayOutFailure {
            reference: (draw.pick > 0).then_some(pay_out_reference),
            provider_reference: None,
            failure: failure("queue-timeout", FailureKind::Unknown),
        }),
        _ => Event::RefundSucceeded(RefundReceipt {
            details: vec![],
            reference: format!("{}-R1", transfer.pay_in.reference),
            amount: transfer.pay_in.amount.to_wit(),
        }),
    };
    let trust = if draw.answer {
        Trust::Answer
    } else {
        Trust::Evidence
    };
    Input::Event { event, trust }
}

/// A step's result, made from a draw against `transfer`.
fn step_result(transfer: &Transfer, draw: &Draw) -> Input {
    use TransferState::*;
    let steps = [Created, AwaitingPayIn, PaidIn, LedgerRegistered, Refunding];
    match draw.kind {
        6 => Input::PayInStarted {
            action: None,
            provider_reference: None,
            details: vec![],
            payment_url: Some("https://pay".into()),
        },
        7 => Input::PayInRefused(failure("ACQ.TRADE_HAS_CLOSE", FailureKind::Failed)),
        8 => Input::PayInUnpaid,
        9 => Input::StepFailed {
            step: steps[usize::from(draw.pick) + usize::from(draw.matching) * 2],
            reason: "busy".into(),
            retry: retry(),
        },
        10 => Input::LedgerRegistered {
            ledger_id: format!("L{}", draw.pick),
        },
        11 => Input::LedgerConfirmed,
        12 => Input::PayOutRequesting {
            result_wait_ms: 1_000,
        },
        13 => Input::PayOutAccepted {
            details: vec![],
            provider_reference: format!("AG_{}", draw.pick),
        },
        14 => Input::PayOutInDoubt {
            reason: "trap".into(),
            query_at_ms: 0,
        },
        15 => Input::PayOutQueryDue(Budget {
            max_queries: 4,
            first_wait_ms: 10,
            max_wait_ms: 100,
        }),
        16 => Input::PayOutNotFound { grace_ms: 2_000 },
        17 => Input::RefundBegun {
            reason: "the pay-out failed".into(),
        },
        18 => Input::Refunded(RefundReceipt {
            details: vec![],
            reference: format!("{}-R1", transfer.pay_in.reference),
            amount: money(if draw.matching { 1000 } else { 999 }, "USD"),
        }),
        19 => Input::RefundRefused(failure("REFUND_REFUSED", FailureKind::Failed)),
        20 => Input::LedgerReversed {
            ledger_id: "LR".into(),
        },
        21 => Input::RefundFinished,
        22 => Input::NothingDue,
        23..=25 => operator_action(transfer, draw),
        // The last kind: drawn only when retryable refusals are in play.
        _ => Input::PayOutNotSent {
            failure: failure("500.003.02", FailureKind::Retryable),
            retry: retry(),
        },
    }
}

/// An operator's action, with what the provider would answer the host's
/// query: a pay-out it paid (a receipt is stored) is reported paid.
fn operator_action(transfer: &Transfer, draw: &Draw) -> Input {
    match draw.kind {
        23 => Input::OperatorRetry,
        24 => match event(
            transfer,
            &Draw {
                kind: 2,
                ..draw.clone()
            },
        ) {
            Input::Event {
                event: Event::PayOutSucceeded(receipt),
                ..
            } => Input::OperatorPaidOut(receipt),
            other => unreachable!("kind 2 is a pay-out success, not {other:?}"),
        },
        _ => {
            let pay_out = match (
                &transfer.pay_out.provider_transaction_id,
                transfer.pay_out.requested_at_ms,
            ) {
                (Some(receipt), _) => PayOutFinding::Succeeded(receipt.clone()),
                (None, None) => PayOutFinding::NotRequested,
                (None, Some(_)) => [
                    PayOutFinding::Pending,
                    PayOutFinding::Failed("2001".into()),
                    PayOutFinding::NotFound,
                ][usize::from(draw.pick) % 3]
                    .clone(),
            };
            Input::OperatorRefund {
                reason: "the operator checked".into(),
                pay_out,
            }
        }
    }
}

/// The kind of input `state` waits for, the `pick`th of its few.
fn awaited(state: TransferState, pick: u8) -> Option<u8> {
    use TransferState::*;
    let kinds: &[u8] = match state {
        Created => &[6, 0, 7],
        AwaitingPayIn => &[0, 8, 1],
        PaidIn => &[10],
        LedgerRegistered => &[11],
        LedgerConfirmed => &[12],
        PayingOut => &[13, 2, 3, 4, 14, 23],
        PayOutUnknown => &[15, 2, 3, 16],
        PayOutFailed => &[17],
        Expired | PayInFailed => &[0],
        Refunding => &[18, 20, 21],
        Held => &[23, 24, 25],
        Completed | Refunded => &[],
    };
    let pick = usize::from(pick) % kinds.len().max(1);
    kinds.get(pick).copied()
}

fn input(transfer: &Transfer, draw: &Draw, kinds: u8) -> Input {
    let kind = match awaited(transfer.state(), draw.pick) {
        Some(kind) if draw.follow && kind < kinds => kind,
        _ => draw.kind,
    };
    let draw = &Draw {
        kind,
        ..draw.clone()
    };
    if kind < 6 {
        event(transfer, draw)
    } else {
        step_result(transfer, draw)
    }
}

/// What a run has seen so far.
#[derive(Default)]
struct Seen {
    completed: bool,
    refund_began: bool,
    refunds: u32,
    requests: u32,
    retryable_refusals: u32,
}

/// Checks one decision against everything the run saw before it.
fn check(before: &Transfer, input: &Input, decision: &Decision, seen: &mut Seen) {
    use TransferState::*;
    let after = &decision.transfer;
    let (from, to) = (before.state(), after.state());
    if decision.effect == Effect::Unchanged {
        assert_eq!(after, before, "an unchanged decision changes nothing");
    }
    let operator = matches!(
        input,
        Input::OperatorRetry | Input::OperatorPaidOut(_) | Input::OperatorRefund { .. }
    );
    if from == Held {
        assert!(to == Held || operator, "only an operator leads out of held");
    } else if to != Held {
        assert!(rank(to) >= rank(from), "{from} → {to} moves backwards");
    }
    assert_eq!(decision.effect == Effect::Held, to == Held && from != Held);
    if matches!(input, Input::PayOutNotSent { .. }) && decision.effect == Effect::Changed {
        seen.retryable_refusals += 1;
    } else if before.pay_out.requested_at_ms.is_some() {
        assert_eq!(
            after.pay_out.requested_at_ms, before.pay_out.requested_at_ms,
            "the pay-out request, once recorded, is only ever undone by its own retryable refusal"
        );
    }
    if matches!(input, Input::PayOutRequesting { .. }) && decision.effect == Effect::Changed {
        assert_eq!(before.pay_out.requested_at_ms, None, "requested twice");
        seen.requests += 1;
    }
    assert!(seen.requests <= 1 + seen.retryable_refusals);
    seen.completed |= to == Completed;
    if seen.completed {
        assert!(
            after.refund().is_none(),
            "a refund after the pay-out completed"
        );
        assert!(!matches!(to, PayOutFailed | Refunding | Refunded));
    }
    if before.refund().is_none() && after.refund().is_some() {
        seen.refunds += 1;
    }
    assert!(seen.refunds <= 1, "a second refund began");
    seen.refund_began |= after.refund().is_some();
    if seen.refund_began {
        assert_ne!(to, Completed, "completed after the refund began");
    }
    if let Input::Event {
        event: Event::PayOutFailed(_) | Event::PayOutUnknown(_) | Event::PayInFailed(_),
        trust: Trust::Evidence,
    } = input
    {
        assert_eq!(
            after.refund(),
            before.refund(),
            "an unsigned failure started a refund"
        );
        assert!(!matches!(to, PayOutFailed | Refunding) || to == from);
    }
}

/// Applies `draws` from `created`, checking every decision; returns what it saw.
fn run(draws: &[Draw], kinds: u8) -> Seen {
    let mut transfer = transfer_in(TransferState::Created);
    let mut now_ms = 0;
    let mut seen = Seen::default();
    for draw in draws {
        now_ms += draw.later_ms;
        let input = input(&transfer, draw, kinds);
        let decision = decide(&transfer, input.clone(), now_ms);
        check(&transfer, &input, &decision, &mut seen);
        transfer = decision.transfer;
    }
    seen
}

proptest! {
    #[test]
    fn no_sequence_of_inputs_breaks_the_transfers_invariants(draws in draws(KINDS)) {
        run(&draws, KINDS);
    }

    #[test]
    fn without_a_retryable_refusal_the_pay_out_is_requested_at_most_once(
        draws in draws(KINDS - 1)
    ) {
        let seen = run(&draws, KINDS - 1);
        prop_assert!(seen.requests <= 1);
    }

    #[test]
    fn an_operator_action_never_pays_twice(draws in draws(KINDS - 1)) {
        let seen = run(&draws, KINDS - 1);
        prop_assert!(seen.requests <= 1, "the pay-out was requested again");
        prop_assert!(seen.refunds <= 1, "the pay-in was refunded again");
        prop_assert!(!(seen.completed && seen.refund_began), "paid out and refunded");
    }

    #[test]
    fn an_event_delivered_twice_leaves_the_transfer_as_the_first_left_it(
        draws in draws(KINDS)
    ) {
        let mut transfer = transfer_in(TransferState::Created);
        let mut now_ms = 0;
        for draw in &draws {
            now_ms += draw.later_ms;
            let input = input(&transfer, draw, KINDS);
            transfer = decide(&transfer, input.clone(), now_ms).transfer;
            if matches!(input, Input::Event { .. }) {
                let again = decide(&transfer, input, now_ms);
                prop_assert_eq!(&again.transfer, &transfer, "{}", again.summary);
            }
        }
    }
}

/// The generator reaches every state, so the properties are tested in all of them.
#[test]
fn random_runs_reach_every_state() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut reached = std::collections::HashSet::new();
    for _ in 0..256 {
        let draws = draws(KINDS)
            .new_tree(&mut runner)
            .expect("a value tree")
            .current();
        let mut transfer = transfer_in(TransferState::Created);
        let mut now_ms = 0;
        for draw in &draws {
            now_ms += draw.later_ms;
            transfer = decide(&transfer, input(&transfer, draw, KINDS), now_ms).transfer;
            reached.insert(transfer.state());
        }
    }
    let missed: Vec<_> = TransferState::ALL
        .into_iter()
        .filter(|state| !reached.contains(state))
        .collect();
    assert!(missed.is_empty(), "never reached: {missed:?}");
}

/// Every state meets every kind of input, matching or not, believed or not:
/// `decide` never panics, an unchanged decision changes nothing, a move is one
/// the state machine has, and no single input gives money back on a claim or
/// after a completed pay-out.
#[test]
fn every_state_meets_every_input_and_only_allowed_moves_come_of_it() {
    use TransferState::*;
    let mut cases = 0;
    for state in TransferState::ALL {
        for kind in 0..KINDS {
            for (matching, pick, answer) in (0..12).map(|n| (n % 2 == 0, (n / 2 % 3) as u8, n < 6))
            {
                let before = transfer_in(state);
                let draw = Draw {
                    follow: false,
                    kind,
                    matching,
                    pick,
                    answer,
                    later_ms: 1,
                };
                let input = if kind < 6 {
                    event(&before, &draw)
                } else {
                    step_result(&before, &draw)
                };
                let decision = decide(&before, input.clone(), 5_000);
                let (from, to) = (before.state(), decision.transfer.state());
                let case = format!("{from} with {input:?}");
                match decision.effect {
                    Effect::Unchanged => assert_eq!(decision.transfer, before, "{case}"),
                    _ if from != to => {
                        // Only an operator lets a held transfer go, and only by `release`.
                        let released = from == Held
                            && matches!(
                                input,
                                Input::OperatorRetry
                                    | Input::OperatorPaidOut(_)
                                    | Input::OperatorRefund { .. }
                            );
                        assert!(
                            released || crate::model::allowed(from, to),
                            "{case}: {from} → {to}"
                        )
                    }
                    _ => {}
                }
                assert!(
                    !(from == Completed && matches!(to, PayOutFailed | Refunding | Refunded)),
                    "{case}: a completed pay-out is never refunded"
                );
                let unsigned_failure = matches!(
                    &input,
                    Input::Event {
                        trust: Trust::Evidence,
                        event: Event::PayOutFailed(_) | Event::PayOutUnknown(_),
                    }
                );
                assert!(
                    !(unsigned_failure && matches!(to, PayOutFailed | Refunding) && from != to),
                    "{case}: an unsigned pay-out failure gives no money back"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, TransferState::ALL.len() * usize::from(KINDS) * 12);
}
