//! The corridor end to end, happy paths: the real connector `.wasm`, the real
//! host and its API, the sandboxes over HTTP.

use corridor_host::engine::model::{LegStatus, TransferState};
use corridor_tests::{Corridor, RECIPIENT, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_pays_the_recipient_once_and_moves_exactly_the_quoted_money() {
    let corridor = Corridor::start(Setup::default()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    let buyer_before = corridor.buyer_balance();
    let transfer = corridor.send("10.00", RECIPIENT).await;
    assert_eq!(transfer.state, TransferState::AwaitingPayIn);
    assert_eq!(
        (transfer.pay_in.status, transfer.pay_out.status),
        (LegStatus::Pending, LegStatus::Incomplete)
    );
    assert_eq!(
        transfer.pay_out.amount.amount_minor, 100_000,
        "US$10 at 100 KES"
    );
    assert_eq!(
        transfer.pay_in.charged_estimate.amount_minor, 6594,
        "US$10 at 6.5943 CNY"
    );
    assert!(
        transfer
            .pay_in
            .payment_url
            .as_deref()
            .is_some_and(|url| url.contains("sign_type=MD5"))
    );

    assert_eq!(corridor.pay(&transfer).await, "9000");
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;

    let states: Vec<TransferState> = done.events.iter().map(|event| event.state).collect();
    assert_eq!(
        states,
        [
            TransferState::Created,
            TransferState::AwaitingPayIn,
            TransferState::PaidIn,
            TransferState::LedgerRegistered,
            TransferState::LedgerConfirmed,
            TransferState::PayingOut,
            TransferState::Completed
        ]
    );
    assert_eq!(
        (done.pay_in.status, done.pay_out.status),
        (LegStatus::Complete, LegStatus::Complete)
    );
    assert!(
        done.pay_in.provider_transaction_id.is_some()
            && done.pay_in.ledger_id.is_some()
            && done.pay_out.receipt.is_some()
    );
    assert_eq!(corridor.b2c_requests(), 1);
    let balances = corridor.sandbox.mpesa_balances();
    assert_eq!(
        utility_before - balances.utility_cents,
        100_000 + 3_300,
        "amount + the 33 KES charge"
    );
    assert_eq!(balances.customers[RECIPIENT], 100_000);
    assert_eq!(buyer_before - corridor.buyer_balance(), 6594);
    let registrations = corridor
        .sandbox
        .ledger_records()
        .into_iter()
        .filter(|record| record.reference == done.id)
        .count();
    assert_eq!(registrations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_and_rsa2_signed_orders_and_notifications_complete() {
    for sign_type in ["RSA", "RSA2"] {
        let setup = Setup {
            settings: vec![("alipay_sign_type", sign_type.to_string())],
            ..Setup::default()
        };
        let corridor = Corridor::start(setup).await;
        let transfer = corridor.send("25.50", RECIPIENT).await;
        let url = transfer.pay_in.payment_url.clone().expect("a payment URL");
        assert!(
            url.contains(&format!("sign_type={sign_type}&"))
                || url.ends_with(&format!("sign_type={sign_type}")),
            "{url}"
        );
        assert_eq!(corridor.pay(&transfer).await, "9000");
        let done = corridor
            .wait_for_state(&transfer.id, TransferState::Completed)
            .await;
        assert_eq!(
            done.pay_out.amount.amount_minor, 255_000,
            "US$25.50 at 100 KES, whole shillings"
        );
        let notifications: Vec<_> = corridor
            .sandbox
            .journal(Some("alipay"))
            .into_iter()
            .filter(|entry| entry.body.contains("notify_type"))
            .collect();
        assert!(
            notifications
                .iter()
                .all(|entry| entry.body.contains(&format!("sign_type={sign_type}")))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b2c_v1_lets_daraja_name_the_request_and_still_completes() {
    let setup = Setup {
        settings: vec![("mpesa_pay_out_protocol", "daraja-v1".to_string())],
        ..Setup::default()
    };
    let corridor = Corridor::start(setup).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    let request = corridor
        .sandbox
        .journal(Some("mpesa"))
        .into_iter()
        .find(|entry| entry.target.contains("/b2c/v1/"))
        .expect("a v1 B2C");
    assert!(
        !request.body.contains("OriginatorConversationID"),
        "v1 carries no originator id"
    );
    assert!(done.pay_out.receipt.is_some());
}
