//! The SOAP Online Checkout (seed 004): the rail against the SAG simulator.

use std::time::Duration;

use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request};
use corridor_connector_kit::bindings::corridor::connector::types::FailureKind;
use corridor_connector_kit::money::money;
use corridor_rail_mpesa::checkout::{self, Notified, Order};
use corridor_rail_mpesa::pay_in::{CallbackMethod, CheckoutSettings, PayInOutcome};
use corridor_sandbox::faults::{EndpointFaults, FaultPlan, InjectedError};

use super::harness::{
    CANCELS, Harness, NO_FUNDS, PAYER, PAYS_LATE, TIMES_OUT, WRONG_PIN, now_ms, start,
};

fn settings(harness: &Harness, method: CallbackMethod) -> CheckoutSettings {
    CheckoutSettings {
        url: format!(
            "{}/mpesa_online/lnmo_checkout_server.php",
            harness.sandbox.mpesa_url
        ),
        merchant_id: "898945".into(),
        passkey: "corridor-sandbox-checkout-passkey".into(),
        callback_method: method,
    }
}

fn order(harness: &Harness, payer: &str, reference: &str) -> Order {
    Order {
        merchant_transaction_id: reference.into(),
        reference_id: "COR-transfer".into(),
        amount: money(5_400, "KES"),
        payer_msisdn: payer.into(),
        callback_url: harness.callback_url(reference),
        enc_params: "opaque-to-the-sag".into(),
    }
}

/// processCheckOut then confirmTransaction; the SAG's `TRX_ID`.
async fn process_and_confirm(
    harness: &Harness,
    settings: &CheckoutSettings,
    order: &Order,
) -> String {
    let request = checkout::process_request(settings, order, now_ms()).expect("a request");
    let processed = checkout::process_parse(&harness.send(request).await).expect("registered");
    assert!(processed.customer_message.contains("Bonga PIN"));
    let confirm = checkout::confirm_request(
        settings,
        &processed.trx_id,
        &order.merchant_transaction_id,
        now_ms(),
    );
    checkout::confirm_parse(&harness.send(confirm).await, &processed.trx_id).expect("confirmed");
    processed.trx_id
}

async fn status(harness: &Harness, settings: &CheckoutSettings, trx_id: &str) -> Notified {
    let request = checkout::status_request(settings, trx_id, "", now_ms());
    checkout::status_parse(&harness.send(request).await, trx_id).expect("answered")
}

#[tokio::test]
async fn a_payer_who_pays_is_paid_in_each_callback_form_and_by_status_and_the_money_moves() {
    let harness = start(|_| {}).await;
    let collected_before = harness.collected();
    let forms = [
        (CallbackMethod::Xml, "COR-xml"),
        (CallbackMethod::Get, "COR-get"),
        (CallbackMethod::Post, "COR-post"),
    ];
    for (method, reference) in forms {
        let settings = settings(&harness, method);
        let trx_id =
            process_and_confirm(&harness, &settings, &order(&harness, PAYER, reference)).await;
        let received = &harness.callbacks(reference, 1).await[0];
        let expected_method = if method == CallbackMethod::Get {
            "GET"
        } else {
            "POST"
        };
        assert_eq!(received.method, expected_method, "{reference}");
        let notified = checkout::callback(received).expect("readable");
        assert_eq!(notified.trx_id, trx_id);
        assert_eq!(notified.enc_params.as_deref(), Some("opaque-to-the-sag"));
        let PayInOutcome::Paid(paid) = notified.outcome else {
            panic!("{reference}: paid");
        };
        assert_eq!(
            (paid.amount_cents, paid.account_reference.as_deref()),
            (5_400, Some(reference))
        );
        assert!(paid.receipt.is_some(), "{reference}");
        assert!(matches!(
            status(&harness, &settings, &trx_id).await.outcome,
            PayInOutcome::Paid(paid) if paid.amount_cents == 5_400
        ));
    }
    assert_eq!(harness.balance(PAYER), 10_000_000 - 3 * 5_400);
    assert_eq!(harness.collected(), collected_before + 3 * 5_400);
}

#[tokio::test]
async fn cancelled_timed_out_wrong_pin_and_no_funds_fail_definitively_and_nothing_moves() {
    let harness = start(|_| {}).await;
    let settings = settings(&harness, CallbackMethod::Xml);
    let before = harness.sandbox.mpesa_balances();
    for (payer, code) in [
        (CANCELS, "06"),
        (TIMES_OUT, "05"),
        (WRONG_PIN, "11"),
        (NO_FUNDS, "01"),
    ] {
        let reference = format!("COR-{payer}");
        let trx_id =
            process_and_confirm(&harness, &settings, &order(&harness, payer, &reference)).await;
        let received = &harness.callbacks(&reference, 1).await[0];
        let outcome = checkout::callback(received).expect("readable").outcome;
        assert!(
            matches!(&outcome, PayInOutcome::Failed(failure) if failure.kind == FailureKind::Failed && failure.code == code),
            "{payer}: {outcome:?}"
        );
        assert!(matches!(
            status(&harness, &settings, &trx_id).await.outcome,
            PayInOutcome::Failed(failure) if failure.code == code
        ));
    }
    assert_eq!(harness.sandbox.mpesa_balances(), before, "nothing moved");
}

#[tokio::test]
async fn nothing_is_prompted_before_confirm_and_a_late_payer_is_pending_then_paid() {
    let harness = start(|config| config.mpesa.late_answer_ms = Some(600)).await;
    let settings = settings(&harness, CallbackMethod::Post);
    let order = order(&harness, PAYS_LATE, "COR-late");
    let request = checkout::process_request(&settings, &order, now_ms()).expect("a request");
    let processed = checkout::process_parse(&harness.send(request).await).expect("registered");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(matches!(
        status(&harness, &settings, &processed.trx_id).await.outcome,
        PayInOutcome::Pending
    ));
    assert_eq!(
        harness.balance(PAYS_LATE),
        10_000_000,
        "registered, not prompted"
    );
    let confirm = checkout::confirm_request(&settings, &processed.trx_id, "COR-late", now_ms());
    checkout::confirm_parse(&harness.send(confirm).await, &processed.trx_id).expect("confirmed");
    let mut outcome = PayInOutcome::Pending;
    for _ in 0..100 {
        outcome = status(&harness, &settings, &processed.trx_id).await.outcome;
        if !matches!(outcome, PayInOutcome::Pending) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(matches!(outcome, PayInOutcome::Paid(_)), "{outcome:?}");
    assert_eq!(harness.balance(PAYS_LATE), 10_000_000 - 5_400);
}

#[tokio::test]
async fn a_duplicate_request_or_confirm_is_unknown_and_pays_once() {
    let harness = start(|_| {}).await;
    let settings = settings(&harness, CallbackMethod::Xml);
    let order = order(&harness, PAYER, "COR-dup");
    let trx_id = process_and_confirm(&harness, &settings, &order).await;
    let again = checkout::process_request(&settings, &order, now_ms()).expect("a request");
    let refused = checkout::process_parse(&harness.send(again).await).expect_err("duplicate");
    assert_eq!(
        (refused.kind, refused.code.as_str()),
        (FailureKind::Unknown, "35")
    );
    let confirm = checkout::confirm_request(&settings, &trx_id, "COR-dup", now_ms());
    let refused =
        checkout::confirm_parse(&harness.send(confirm).await, &trx_id).expect_err("duplicate");
    assert_eq!(
        (refused.kind, refused.code.as_str()),
        (FailureKind::Unknown, "35")
    );
    harness.callbacks("COR-dup", 1).await;
    assert_eq!(harness.balance(PAYER), 10_000_000 - 5_400, "paid once");
}

#[tokio::test]
async fn a_malformed_envelope_is_a_client_fault_and_bad_credentials_or_downtime_have_their_codes() {
    let harness = start(|_| {}).await;
    let good = settings(&harness, CallbackMethod::Xml);
    let garbage = Request {
        method: Method::Post,
        url: good.url.clone(),
        headers: vec![("content-type".into(), "text/xml".into())],
        body: b"<soapenv:Envelope><soapenv:Body><tns:processCheckOutRequest>".to_vec(),
        timeout_ms: None,
    };
    let answer = harness.send(garbage).await;
    assert_eq!(answer.status, 500);
    let failure = checkout::process_parse(&answer).expect_err("a fault");
    assert_eq!(
        (failure.kind, failure.code.as_str()),
        (FailureKind::Failed, "soap-client-fault")
    );

    let mut wrong = good.clone();
    wrong.passkey = "not-the-passkey".into();
    let request = checkout::process_request(&wrong, &order(&harness, PAYER, "COR-36"), now_ms())
        .expect("request");
    let failure = checkout::process_parse(&harness.send(request).await).expect_err("refused");
    assert_eq!(
        (failure.kind, failure.code.as_str()),
        (FailureKind::Failed, "36")
    );

    let mut plan = FaultPlan::default();
    plan.endpoints.insert(
        "mpesa.checkout".into(),
        EndpointFaults {
            error_percent: 100,
            error: InjectedError::Busy,
            ..EndpointFaults::default()
        },
    );
    harness.sandbox.set_faults(plan);
    let request = checkout::process_request(&good, &order(&harness, PAYER, "COR-29"), now_ms())
        .expect("request");
    let failure = checkout::process_parse(&harness.send(request).await).expect_err("down");
    assert_eq!(
        (failure.kind, failure.code.as_str()),
        (FailureKind::Retryable, "29")
    );
    assert_eq!(harness.balance(PAYER), 10_000_000, "nothing moved");
}
