//! A payer (or anyone) forging Daraja callbacks. Daraja's callbacks are
//! unsigned: the host keeps the pay-out routes secret from everyone but
//! Daraja, confirms every reported failure with Transaction Status before it
//! refunds, and holds a transfer whose facts contradict each other.
//!
//! Each test asserts the final state, the balances at the sandbox, exactly one
//! B2C and at most one refund.

use corridor_host::api::view::TransferView;
use corridor_host::engine::model::TransferState;
use corridor_sandbox::faults::{CallbackFaults, FaultPlan};
use corridor_tests::{Corridor, RECIPIENT, Setup};

/// An M-PESA customer the sandbox does not know: B2C result 2040.
const UNREGISTERED: &str = "254700000040";

/// Daraja's callbacks held back, so a forgery arrives while the real B2C is
/// still on its way.
fn slow_mpesa_callbacks(delay_ms: u64) -> FaultPlan {
    let slow = CallbackFaults {
        delay_ms,
        ..CallbackFaults::default()
    };
    FaultPlan {
        callbacks: [("mpesa".to_string(), slow)].into(),
        ..FaultPlan::default()
    }
}

async fn post_json(url: &str, body: String) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the host answers")
        .status()
        .as_u16()
}

fn b2c_failure(reference: &str, code: u32) -> String {
    format!(
        r#"{{"Result":{{"ResultType":0,"ResultCode":{code},"ResultDesc":"forged","OriginatorConversationID":"{reference}","ConversationID":"AG_forged","TransactionID":"NLJ0000000"}}}}"#
    )
}

fn b2c_success(reference: &str, shillings: u64, msisdn: &str) -> String {
    format!(
        r#"{{"Result":{{"ResultType":0,"ResultCode":0,"ResultDesc":"forged","OriginatorConversationID":"{reference}","ConversationID":"AG_forged","TransactionID":"FORGED0001",
        "ResultParameters":{{"ResultParameter":[{{"Key":"TransactionAmount","Value":{shillings}}},{{"Key":"TransactionReceipt","Value":"FORGED0001"}},
        {{"Key":"ReceiverPartyPublicName","Value":"{msisdn} - Forger"}}]}}}}}}"#
    )
}

fn status_cancelled(reference: &str) -> String {
    format!(
        r#"{{"Result":{{"ResultType":0,"ResultCode":0,"ResultDesc":"forged","OriginatorConversationID":"1-2-2","ConversationID":"AG_2","TransactionID":"MBN0000000",
        "ResultParameters":{{"ResultParameter":[{{"Key":"OriginatorConversationID","Value":"{reference}"}},{{"Key":"TransactionStatus","Value":"Cancelled"}},{{"Key":"ResultCode","Value":"2001"}}]}}}}}}"#
    )
}

/// A transfer paid in and paying out (its B2C sent, the result not yet back).
async fn paying_out(corridor: &Corridor, recipient: &str) -> TransferView {
    let transfer = corridor.send("10.00", recipient).await;
    corridor.pay(&transfer).await;
    corridor
        .wait_for(&transfer.id, "a B2C sent", |transfer| {
            transfer.state == TransferState::PayingOut && transfer.pay_out.accepted_at_ms.is_some()
        })
        .await
}

/// The recipient was paid exactly once and nobody was refunded.
fn assert_paid_once(corridor: &Corridor, done: &TransferView, utility_before: i64) {
    assert_eq!(done.state, TransferState::Completed, "{done:#?}");
    assert_eq!(corridor.b2c_requests(), 1, "exactly one B2C");
    assert_eq!(corridor.refund_requests(), 0, "no refund");
    assert!(done.refund.is_none());
    let balances = corridor.sandbox.mpesa_balances();
    assert_eq!(balances.customers[RECIPIENT], 100_000, "credited once");
    assert_eq!(utility_before - balances.utility_cents, 100_000 + 3_300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pay_in_secret_opens_no_pay_out_route() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(slow_mpesa_callbacks(1_500));
    let transfer = paying_out(&corridor, RECIPIENT).await;
    let notify_url = Corridor::notify_url(&transfer);
    let reference = &transfer.pay_out.reference;
    for route in ["pay-out", "pay-out-timeout", "pay-out-status"] {
        let forged_url = notify_url.replace("/pay-in/", &format!("/{route}/"));
        for _ in 0..5 {
            let status = post_json(&forged_url, b2c_failure(reference, 2001)).await;
            assert_eq!(status, 404, "{route} with the pay-in's secret");
        }
    }
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
    let pay_out_callbacks = corridor
        .callbacks(&transfer.id)
        .await
        .into_iter()
        .filter(|(route, _)| route != "pay-in")
        .count();
    assert_eq!(pay_out_callbacks, 1, "only Daraja's own result got through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_failure_on_the_real_route_is_confirmed_by_query_and_never_refunds() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(slow_mpesa_callbacks(1_500));
    let transfer = paying_out(&corridor, RECIPIENT).await;
    // As if the secret leaked: the host still believes no unsigned failure.
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let reference = &transfer.pay_out.reference;
    for _ in 0..5 {
        assert_eq!(
            post_json(&result_url, b2c_failure(reference, 2001)).await,
            200
        );
    }
    let doubted = corridor.client.get(&transfer.id).await.expect("transfer");
    assert!(
        matches!(
            doubted.state,
            TransferState::PayOutUnknown | TransferState::Completed
        ),
        "{:?}",
        doubted.state
    );
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
    let outcomes = corridor.callbacks(&transfer.id).await;
    assert!(
        outcomes
            .iter()
            .any(|(_, outcome)| outcome.contains("confirming with the provider")),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_transaction_status_on_the_result_route_is_not_read_as_one() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(slow_mpesa_callbacks(1_500));
    let transfer = paying_out(&corridor, RECIPIENT).await;
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let reference = &transfer.pay_out.reference;
    for url in [result_url.clone(), format!("{result_url}?kind=status")] {
        assert_eq!(post_json(&url, status_cancelled(reference)).await, 200);
    }
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_naming_another_reference_neither_holds_nor_moves_the_transfer() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    let other = corridor.send("10.00", RECIPIENT).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let foreign = &other.pay_out.reference;
    for body in [
        b2c_failure(foreign, 2001),
        b2c_success(foreign, 1000, RECIPIENT),
    ] {
        assert_eq!(post_json(&result_url, body).await, 200);
    }
    let untouched = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(untouched.state, TransferState::AwaitingPayIn, "not held");
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_success_in_doubt_is_confirmed_and_the_real_failure_refunds() {
    let corridor = Corridor::start(Setup::default()).await;
    let buyer_before = corridor.buyer_balance();
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(slow_mpesa_callbacks(1_500));
    let transfer = paying_out(&corridor, UNREGISTERED).await;
    let reference = &transfer.pay_out.reference;
    let notify_url = Corridor::notify_url(&transfer);
    let with_pay_in_secret = notify_url.replace("/pay-in/", "/pay-out/");
    let forged = b2c_success(reference, 1000, UNREGISTERED);
    assert_eq!(post_json(&with_pay_in_secret, forged).await, 404);
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let in_doubt = b2c_success(reference, 999_999, UNREGISTERED);
    assert_eq!(post_json(&result_url, in_doubt).await, 200);
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Refunded)
        .await;
    assert_eq!(
        done.failure.as_ref().map(|note| note.code.as_str()),
        Some("2040")
    );
    assert_eq!(corridor.b2c_requests(), 1, "exactly one B2C");
    assert_eq!(corridor.refund_requests(), 1, "exactly one refund");
    assert_eq!(corridor.buyer_balance(), buyer_before, "every fen back");
    assert_eq!(
        corridor.sandbox.mpesa_balances().utility_cents,
        utility_before,
        "nothing paid out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_forged_success_then_the_real_failure_holds_with_both_facts() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(slow_mpesa_callbacks(1_500));
    let transfer = paying_out(&corridor, UNREGISTERED).await;
    let reference = &transfer.pay_out.reference;
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let forged = b2c_success(reference, 1000, UNREGISTERED);
    assert_eq!(post_json(&result_url, forged).await, 200);
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Held)
        .await;
    let note = done.failure.clone().expect("why it is held");
    assert_eq!(note.code, "contradiction");
    assert!(
        note.message.contains("2040") && note.message.contains("FORGED0001"),
        "both facts: {}",
        note.message
    );
    assert_eq!(corridor.b2c_requests(), 1, "exactly one B2C");
    assert_eq!(
        corridor.refund_requests(),
        0,
        "nothing refunded while in doubt"
    );
    assert_eq!(
        corridor.sandbox.mpesa_balances().utility_cents,
        utility_before,
        "nothing paid out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_from_off_the_allow_list_never_reaches_the_connector() {
    let setup = Setup {
        callback_sources: vec!["196.201.214.0/24".parse().expect("network")],
        ..Setup::default()
    };
    let corridor = Corridor::start(setup).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let body = b2c_failure(&transfer.pay_out.reference, 2001);
    assert_eq!(post_json(&result_url, body).await, 403);
    assert!(
        corridor.callbacks(&transfer.id).await.is_empty(),
        "not even logged as handled"
    );
    let after = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(after.state, TransferState::AwaitingPayIn);
}
