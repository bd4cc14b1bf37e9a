//! The ugly paths: lost results, definitive failures and refunds, expiry, a
//! host killed mid-transfer.

use std::sync::Arc;
use std::time::Duration;

use corridor_host::engine::model::{LegStatus, TransferState};
use corridor_host::{Clock, ManualClock};
use corridor_sandbox::SandboxConfig;
use corridor_sandbox::faults::{CallbackFaults, FaultPlan};
use corridor_tests::{Corridor, RECIPIENT, Setup};

fn dropping_mpesa_callbacks() -> FaultPlan {
    let dropped = CallbackFaults {
        drop_percent: 100,
        ..CallbackFaults::default()
    };
    FaultPlan {
        callbacks: [("mpesa".to_string(), dropped)].into(),
        ..FaultPlan::default()
    }
}

/// Waits until the sandbox has settled the B2C (its result was decided, and dropped).
async fn wait_until_paid_out(corridor: &Corridor, utility_before: i64) {
    for _ in 0..500 {
        if corridor.sandbox.mpesa_balances().utility_cents < utility_before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sandbox never settled the B2C");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_b2c_result_is_resolved_through_transaction_status() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(dropping_mpesa_callbacks());
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    wait_until_paid_out(&corridor, utility_before).await;
    corridor.sandbox.set_faults(FaultPlan::default());
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert!(done.pay_out.status_queries >= 1, "resolved by a query");
    assert_eq!(
        done.pay_out.fee.as_ref().map(|fee| fee.amount_minor),
        Some(3_300),
        "Transaction Status reports the charge"
    );
    assert_eq!(corridor.b2c_requests(), 1, "never resent");
    let queries = corridor
        .sandbox
        .journal(Some("mpesa"))
        .iter()
        .filter(|entry| entry.target.contains("transactionstatus"))
        .count();
    assert!(queries >= 1);
}

async fn refunded_after_a_b2c_failure(setup: Setup, recipient: &str, code: &str) {
    let corridor = Corridor::start(setup).await;
    let buyer_before = corridor.buyer_balance();
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    let transfer = corridor.send("10.00", recipient).await;
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Refunded)
        .await;
    assert_eq!(
        done.failure.as_ref().map(|failure| failure.code.as_str()),
        Some(code)
    );
    assert_eq!(
        (done.pay_in.status, done.pay_out.status),
        (LegStatus::Refunded, LegStatus::Failed)
    );
    let refund = done.refund.clone().expect("a refund");
    assert!(
        refund.refunded_at_ms.is_some() && refund.ledger_reversal_id.is_some(),
        "refunded and the ledger told: {refund:?}"
    );
    assert_eq!(
        corridor.buyer_balance(),
        buyer_before,
        "the buyer has every fen back"
    );
    assert_eq!(
        corridor.sandbox.mpesa_balances().utility_cents,
        utility_before,
        "nothing was paid out"
    );
    let trade = corridor
        .sandbox
        .alipay_trades()
        .into_iter()
        .find(|trade| trade.out_trade_no == done.pay_in.reference)
        .expect("trade");
    assert_eq!(trade.refunded_minor, 1000);
    assert_eq!(corridor.b2c_requests(), 1);
    let states: Vec<TransferState> = done.events.iter().map(|event| event.state).collect();
    assert!(
        states.ends_with(&[
            TransferState::PayingOut,
            TransferState::PayOutUnknown,
            TransferState::PayOutFailed,
            TransferState::Refunding,
            TransferState::Refunded
        ]),
        "{states:?}"
    );
}

/// Daraja reports 2001 for a wrong initiator password, unsigned; the host
/// cannot confirm it, because Transaction Status refuses the same credential.
/// An unconfirmed failure refunds nothing: once the status queries are spent
/// the transfer is held for an operator, who fixes the credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_initiator_password_2001_that_cannot_be_confirmed_holds_and_refunds_nothing() {
    let mut setup = Setup::default();
    setup.sandbox.mpesa.initiator_password = "not-what-the-policy-grants".into();
    setup.engine.max_status_queries = 3;
    let corridor = Corridor::start(setup).await;
    let buyer_before = corridor.buyer_balance();
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Held)
        .await;
    assert_eq!(
        done.failure.as_ref().map(|failure| failure.code.as_str()),
        Some("pay-out-unresolved")
    );
    assert!(done.refund.is_none());
    assert_eq!(corridor.refund_requests(), 0);
    assert_eq!(corridor.b2c_requests(), 1);
    assert!(corridor.buyer_balance() < buyer_before, "the pay-in stands");
    assert_eq!(
        corridor.sandbox.mpesa_balances().utility_cents,
        utility_before,
        "nothing was paid out"
    );
    let outcomes = corridor.callbacks(&transfer.id).await;
    assert!(
        outcomes
            .iter()
            .any(|(route, outcome)| route == "pay-out" && outcome.contains("2001")),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_recipient_2040_refunds_the_payer() {
    refunded_after_a_b2c_failure(Setup::default(), "254700000040", "2040").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_after_the_b2c_was_sent_resumes_with_exactly_one_b2c() {
    let mut corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(dropping_mpesa_callbacks());
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    let sent = corridor
        .wait_for(&transfer.id, "an accepted B2C", |transfer| {
            transfer.state == TransferState::PayingOut
                && transfer.pay_out.provider_reference.is_some()
        })
        .await;
    wait_until_paid_out(&corridor, utility_before).await;
    corridor.kill_host().await;
    let after_kill = corridor.client.get(&sent.id).await;
    assert!(
        after_kill.is_err(),
        "the host is down, yet answered: {after_kill:?}"
    );
    corridor.sandbox.set_faults(FaultPlan::default());

    corridor.start_host().await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.b2c_requests(), 1, "exactly one B2C at the sandbox");
    assert!(
        done.pay_out.status_queries >= 1,
        "the restarted host asked, it did not resend"
    );
    assert_eq!(
        done.pay_out.provider_reference,
        sent.pay_out.provider_reference
    );
    assert_eq!(
        corridor.sandbox.mpesa_balances().customers[RECIPIENT],
        100_000,
        "paid once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_before_the_ledger_answered_resumes_where_it_stopped() {
    let mut sandbox = SandboxConfig {
        ..Setup::default().sandbox
    };
    sandbox.ledger.register_latency_ms = Some(1_000);
    let mut corridor = Corridor::start(Setup {
        sandbox,
        ..Setup::default()
    })
    .await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    corridor
        .wait_for_state(&transfer.id, TransferState::PaidIn)
        .await;
    corridor.kill_host().await;
    corridor.start_host().await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(
        corridor
            .sandbox
            .ledger_records()
            .iter()
            .filter(|record| record.reference == done.id)
            .count(),
        1,
        "registered once, by reference"
    );
    assert_eq!(corridor.b2c_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_pay_in_expires_and_a_late_payment_is_refunded() {
    let clock = ManualClock::new(corridor_host::SystemClock.now_ms());
    let corridor = Corridor::start(Setup {
        clock: Arc::new(clock.clone()),
        ..Setup::default()
    })
    .await;
    let buyer_before = corridor.buyer_balance();
    let transfer = corridor.send("10.00", RECIPIENT).await;
    clock.advance(Duration::from_millis(
        transfer.pay_in.expires_at_ms - transfer.created_at_ms + 1,
    ));
    let expired = corridor
        .wait_for_state(&transfer.id, TransferState::Expired)
        .await;
    assert_eq!(
        expired
            .failure
            .as_ref()
            .map(|failure| failure.code.as_str()),
        Some("pay-in-expired")
    );
    assert_eq!(expired.pay_in.status, LegStatus::Failed);

    // The payer pays anyway: the money goes back, nothing is paid out.
    assert_eq!(corridor.pay(&transfer).await, "9000");
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Refunded)
        .await;
    assert_eq!(corridor.buyer_balance(), buyer_before);
    assert_eq!(corridor.b2c_requests(), 0);
    assert!(
        done.refund
            .is_some_and(|refund| refund.ledger_reversal_id.is_none()),
        "nothing was registered, so nothing to reverse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_timeout_is_resolved_by_query_and_an_expired_b2c_refunds_the_payer() {
    let corridor = Corridor::start(Setup::default()).await;
    let timing_out = CallbackFaults {
        queue_timeout_percent: 100,
        ..CallbackFaults::default()
    };
    corridor.sandbox.set_faults(FaultPlan {
        callbacks: [("mpesa".to_string(), timing_out)].into(),
        ..FaultPlan::default()
    });
    let buyer_before = corridor.buyer_balance();
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    // The queue timeout makes the outcome unknown; Transaction Status then
    // says Expired (never processed), which is final: refund.
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Refunded)
        .await;
    assert_eq!(
        done.failure.as_ref().map(|failure| failure.code.as_str()),
        Some("Expired"),
        "{:?}",
        done.failure
    );
    assert!(done.pay_out.status_queries >= 1);
    assert_eq!(
        corridor.b2c_requests(),
        1,
        "never resent, even though it was never processed"
    );
    assert_eq!(corridor.buyer_balance(), buyer_before);
    let states: Vec<TransferState> = done.events.iter().map(|event| event.state).collect();
    assert!(states.contains(&TransferState::PayOutUnknown), "{states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_host_refuses_even_on_connections_that_stay_open() {
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    // The client's pooled keep-alive connection is open now.
    corridor
        .client
        .get(&transfer.id)
        .await
        .expect("a live host answers");
    corridor.host.as_ref().expect("a host").engine.shut_down();
    let answer = corridor.client.get(&transfer.id).await;
    assert!(
        matches!(&answer, Err(corridor_host::client::ClientError::Refused { status: 503, code, .. }) if code == "stopped"),
        "{answer:?}"
    );
    let notify = reqwest::Client::new()
        .post(Corridor::notify_url(&transfer))
        .body("x")
        .send()
        .await
        .expect("answer");
    assert_eq!(
        notify.status().as_u16(),
        503,
        "callbacks too: the provider will retry against the restarted host"
    );
}
