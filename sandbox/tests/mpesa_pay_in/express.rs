//! M-PESA Express (STK push): the rail against the Daraja simulator.

use std::time::Duration;

use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
use corridor_connector_kit::money::money;
use corridor_rail_mpesa::Rejection;
use corridor_rail_mpesa::express::{self, Push, Pushed};
use corridor_rail_mpesa::oauth;
use corridor_rail_mpesa::pay_in::{DarajaApp, ExpressSettings, PayInOutcome, TransactionType};

use super::harness::{
    CANCELS, Harness, NO_FUNDS, PAYER, PAYS_LATE, TIMES_OUT, WRONG_PIN, now_ms, start,
};

fn settings(harness: &Harness) -> ExpressSettings {
    ExpressSettings {
        app: DarajaApp {
            base_url: harness.sandbox.mpesa_url.clone(),
            consumer_key: "corridor-sandbox-consumer-key".into(),
            consumer_secret: "corridor-sandbox-consumer-secret".into(),
        },
        shortcode: "174379".into(),
        passkey: "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919".into(),
        transaction_type: TransactionType::PayBill,
        party_b: "174379".into(),
    }
}

fn push(harness: &Harness, payer: &str, name: &str) -> Push {
    Push {
        payer_msisdn: payer.into(),
        amount: money(10_000, "KES"),
        account_reference: "COR-1".into(),
        description: "Corridor".into(),
        callback_url: harness.callback_url(name),
    }
}

async fn token(harness: &Harness) -> String {
    let answer = harness
        .send(oauth::request_for(&settings(harness).app))
        .await;
    oauth::parse(&answer, now_ms())
        .expect("a token")
        .access_token
}

async fn pushed(harness: &Harness, token: &str, push: &Push) -> Result<Pushed, Rejection> {
    let request =
        express::push_request(&settings(harness), token, push, now_ms()).expect("a request");
    express::push_parse(&harness.send(request).await)
}

async fn query(harness: &Harness, token: &str, pushed: &Pushed, push: &Push) -> PayInOutcome {
    let request = express::query_request(
        &settings(harness),
        token,
        &pushed.checkout_request_id,
        now_ms(),
    );
    express::query_parse(
        &harness.send(request).await,
        &pushed.checkout_request_id,
        push,
    )
    .expect("the query is answered")
}

#[tokio::test]
async fn a_payer_who_pays_is_paid_by_callback_and_by_query_and_the_money_moves() {
    let harness = start(|_| {}).await;
    let token = token(&harness).await;
    let (payer_before, collected_before) = (harness.balance(PAYER), harness.collected());
    let paying = push(&harness, PAYER, "paid");
    let pushed = pushed(&harness, &token, &paying).await.expect("accepted");
    let callback = &harness.callbacks("paid", 1).await[0];
    let notified = express::callback(&callback.body).expect("readable");
    assert_eq!(notified.checkout_request_id, pushed.checkout_request_id);
    let PayInOutcome::Paid(paid) = notified.outcome else {
        panic!("paid");
    };
    assert_eq!(paid.amount_cents, 10_000);
    assert_eq!(paid.msisdn.as_deref(), Some(PAYER));
    assert!(paid.receipt.is_some_and(|receipt| receipt.len() == 10));
    assert!(matches!(
        query(&harness, &token, &pushed, &paying).await,
        PayInOutcome::Paid(paid) if paid.amount_cents == 10_000
    ));
    assert_eq!(harness.balance(PAYER), payer_before - 10_000);
    assert_eq!(harness.collected(), collected_before + 10_000);
}

#[tokio::test]
async fn cancelled_timed_out_wrong_pin_and_no_funds_are_definitive_failures_and_nothing_moves() {
    let harness = start(|_| {}).await;
    let token = token(&harness).await;
    let before = harness.sandbox.mpesa_balances();
    for (payer, code) in [
        (CANCELS, "1032"),
        (TIMES_OUT, "1037"),
        (WRONG_PIN, "2001"),
        (NO_FUNDS, "1"),
    ] {
        let paying = push(&harness, payer, payer);
        let pushed = pushed(&harness, &token, &paying).await.expect("accepted");
        let callback = &harness.callbacks(payer, 1).await[0];
        let outcome = express::callback(&callback.body).expect("readable").outcome;
        assert!(
            matches!(&outcome, PayInOutcome::Failed(failure) if failure.kind == FailureKind::Failed && failure.code == code),
            "{payer}: {outcome:?}"
        );
        assert!(
            matches!(query(&harness, &token, &pushed, &paying).await, PayInOutcome::Failed(failure) if failure.code == code),
            "{payer}: the query agrees"
        );
    }
    assert_eq!(harness.sandbox.mpesa_balances(), before, "nothing moved");
}

#[tokio::test]
async fn a_late_payer_is_pending_then_paid_and_a_second_push_meanwhile_is_retryable() {
    let harness = start(|config| config.mpesa.late_answer_ms = Some(600)).await;
    let token = token(&harness).await;
    let paying = push(&harness, PAYS_LATE, "late");
    let pushed = pushed(&harness, &token, &paying).await.expect("accepted");
    assert!(matches!(
        query(&harness, &token, &pushed, &paying).await,
        PayInOutcome::Pending
    ));
    let again =
        express::push_request(&settings(&harness), &token, &paying, now_ms()).expect("a request");
    assert!(
        matches!(
            express::push_parse(&harness.send(again).await),
            Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Retryable
        ),
        "a duplicate push while the handset is prompted: unable to lock subscriber"
    );
    let mut outcome = PayInOutcome::Pending;
    for _ in 0..100 {
        outcome = query(&harness, &token, &pushed, &paying).await;
        if !matches!(outcome, PayInOutcome::Pending) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(matches!(outcome, PayInOutcome::Paid(_)), "{outcome:?}");
    assert_eq!(
        harness.callbacks("late", 1).await.len(),
        1,
        "one prompt, one callback"
    );
    assert_eq!(harness.balance(PAYS_LATE), 10_000_000 - 10_000, "paid once");
}

#[tokio::test]
async fn a_wrong_passkey_is_refused_and_never_prompts() {
    let harness = start(|_| {}).await;
    let token = token(&harness).await;
    let mut wrong = settings(&harness);
    wrong.passkey = "not-the-passkey".into();
    let request = express::push_request(&wrong, &token, &push(&harness, PAYER, "never"), now_ms())
        .expect("a request");
    assert!(matches!(
        express::push_parse(&harness.send(request).await),
        Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Failed && failure.code == "500.001.1001"
    ));
    assert_eq!(harness.balance(PAYER), 10_000_000);
}
