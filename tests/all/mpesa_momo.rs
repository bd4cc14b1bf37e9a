//! The M-PESA Kenya → MTN MoMo Uganda corridor end to end: the real
//! component and policy, the real host, the sandboxes on loopback.

use corridor_host::engine::model::TransferState;
use corridor_sandbox::faults::{CallbackFaults, FaultPlan};
use corridor_tests::kenya_uganda::{PAYBILL_PAYER, PROMPT_PAYER, RECIPIENT, setup};
use corridor_tests::{Corridor, Setup};

/// A thousand shillings at the sandbox's 28.60.
const SENT: &str = "1000.00";
const SENT_CENTS: i64 = 100_000;
const RECEIVED_UGX: i64 = 28_600;

async fn a_prompted_payer_is_paid_out_exactly_the_quote(protocol: &str) {
    let corridor = Corridor::start(setup(protocol)).await;
    let before = corridor.mpesa_customer(PROMPT_PAYER);
    let transfer = corridor
        .send_kes(SENT, "0772 123 456", Some("0722000000"))
        .await
        .expect("a transfer");
    assert_eq!(transfer.pay_out.amount.amount_minor, RECEIVED_UGX);
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.mpesa_customer(PROMPT_PAYER), before - SENT_CENTS);
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
    assert_eq!(corridor.momo_transfer_requests(), 1);
    assert!(done.pay_in.provider_transaction_id.is_some());
}

#[tokio::test]
async fn a_kenyan_who_approves_an_stk_push_sends_an_ugandan_exactly_the_quoted_shillings() {
    a_prompted_payer_is_paid_out_exactly_the_quote("express").await;
}

#[tokio::test]
async fn a_kenyan_who_approves_a_soap_checkout_sends_exactly_the_quoted_shillings() {
    a_prompted_payer_is_paid_out_exactly_the_quote("checkout").await;
}

#[tokio::test]
async fn a_prompt_without_the_payers_number_is_refused_as_an_invalid_payer() {
    let corridor = Corridor::start(setup("express")).await;
    let (status, body) = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect_err("refused");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid-payer"))
    );
    let (status, body) = corridor
        .send_kes(SENT, "0702123456", Some(PROMPT_PAYER))
        .await
        .expect_err("an Airtel number");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid-recipient"))
    );
}

#[tokio::test]
async fn a_kenyan_who_pays_the_paybill_by_hand_sends_exactly_the_quoted_shillings() {
    let corridor = Corridor::start(setup("paybill")).await;
    let before = corridor.mpesa_customer(PAYBILL_PAYER);
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    let reference = transfer.pay_in.reference.clone();
    assert_eq!(reference.len(), 12, "fits a Paybill account number");
    let paid = corridor.pay_paybill(&reference, SENT).await;
    assert_eq!(paid["outcome"], "completed", "{paid}");
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.mpesa_customer(PAYBILL_PAYER), before - SENT_CENTS);
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
}

#[tokio::test]
async fn paybill_offers_for_an_unknown_reference_or_a_wrong_amount_are_refused_and_move_nothing() {
    let corridor = Corridor::start(setup("paybill")).await;
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    let before = corridor.mpesa_customer(PAYBILL_PAYER);
    let unknown = corridor.pay_paybill("NOSUCHREF123", SENT).await;
    assert_eq!(unknown["outcome"], "cancelled", "{unknown}");
    assert_eq!(unknown["validation"]["code"], "C2B00012");
    let short = corridor
        .pay_paybill(&transfer.pay_in.reference, "999.00")
        .await;
    assert_eq!(short["outcome"], "cancelled", "{short}");
    assert_eq!(short["validation"]["code"], "C2B00013");
    assert_eq!(corridor.mpesa_customer(PAYBILL_PAYER), before);
    let still = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(still.state, TransferState::AwaitingPayIn);
}

#[tokio::test]
async fn a_paybill_payment_after_the_window_closed_is_refused() {
    let corridor = Corridor::start(Setup {
        settings: vec![
            ("mpesa_pay_in_protocol", "paybill".to_string()),
            ("quote_ttl_s", "1".to_string()),
        ],
        ..setup("paybill")
    })
    .await;
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    corridor
        .wait_for_state(&transfer.id, TransferState::Expired)
        .await;
    let before = corridor.mpesa_customer(PAYBILL_PAYER);
    let late = corridor.pay_paybill(&transfer.pay_in.reference, SENT).await;
    assert_eq!(late["outcome"], "cancelled", "{late}");
    assert_eq!(corridor.mpesa_customer(PAYBILL_PAYER), before);
}

#[tokio::test]
async fn a_forged_paybill_confirmation_that_m_pesa_does_not_confirm_moves_nothing() {
    let corridor = Corridor::start(setup("paybill")).await;
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    let status = corridor
        .post_confirmation("SKFORGED01", &transfer.pay_in.reference, SENT)
        .await;
    assert_eq!(status, 200, "answered as M-PESA expects, and not believed");
    let callbacks = corridor.callbacks(&transfer.id).await;
    assert!(
        callbacks
            .iter()
            .any(|(_, outcome)| outcome.contains("does not confirm")),
        "{callbacks:?}"
    );
    let still = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(still.state, TransferState::AwaitingPayIn);
    assert_eq!(corridor.momo_transfer_requests(), 0);
}

/// A connector's own route opens only with its secret, and only for a
/// route the connector declares: anything else is 404 and reaches no
/// connector.
#[tokio::test]
async fn a_connector_route_with_a_wrong_secret_or_an_undeclared_name_is_not_found() {
    let corridor = Corridor::start(setup("paybill")).await;
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    let real = corridor.confirmation_url();
    let (base, secret) = real.rsplit_once('/').expect("a secret in the path");
    let wrong_secret = format!("{base}/{}", "0".repeat(secret.len()));
    let undeclared = real.replace("/c2b-confirmation/", "/c2b-anything/");
    let other_connector = real.replace("/mpesa-momo/", "/alipay-mpesa/");
    for url in [wrong_secret, undeclared, other_connector] {
        let status = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("the host answers")
            .status();
        assert_eq!(status.as_u16(), 404, "{url}");
    }
    assert!(corridor.callbacks(&transfer.id).await.is_empty());
    let still = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(still.state, TransferState::AwaitingPayIn);
}

#[tokio::test]
async fn a_duplicate_paybill_confirmation_credits_the_transfer_once() {
    let corridor = Corridor::start(setup("paybill")).await;
    let before = corridor.mpesa_customer(PAYBILL_PAYER);
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    corridor.pay_paybill(&transfer.pay_in.reference, SENT).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    let receipt = done.pay_in.provider_transaction_id.expect("a receipt");
    for _ in 0..2 {
        let status = corridor
            .post_confirmation(&receipt, &transfer.pay_in.reference, SENT)
            .await;
        assert_eq!(status, 200);
    }
    let after = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(after.state, TransferState::Completed);
    assert_eq!(corridor.mpesa_customer(PAYBILL_PAYER), before - SENT_CENTS);
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
    assert_eq!(corridor.momo_transfer_requests(), 1);
}

#[tokio::test]
async fn a_host_killed_between_validation_and_confirmation_completes_the_transfer_once() {
    let mut corridor = Corridor::start(setup("paybill")).await;
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, None)
        .await
        .expect("a transfer");
    // M-PESA's deliveries take half a second: the confirmation finds the
    // host gone and is resent (after 1 s, then 2 s, …) to the restarted one.
    let mut plan = FaultPlan::default();
    plan.callbacks.insert(
        "mpesa".into(),
        CallbackFaults {
            delay_ms: 500,
            ..CallbackFaults::default()
        },
    );
    corridor.sandbox.set_faults(plan);
    let paid = corridor.pay_paybill(&transfer.pay_in.reference, SENT).await;
    assert_eq!(paid["validation"]["result"], "accepted", "{paid}");
    corridor.kill_host().await;
    corridor.start_host().await;
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
    assert_eq!(corridor.momo_transfer_requests(), 1);
}

/// Each definitive MoMo failure reason a Ugandan payee can meet (the
/// sandbox's test numbers) gives the payer the shillings back by a reversal
/// of the Paybill payment.
#[tokio::test]
async fn each_definitive_momo_failure_refunds_the_payer_by_reversal() {
    let corridor = Corridor::start(setup("paybill")).await;
    for (recipient, reason) in [
        ("256770000001", "PAYEE_NOT_FOUND"),
        ("256770000002", "PAYEE_NOT_ALLOWED_TO_RECEIVE"),
        ("256770000003", "NOT_ALLOWED"),
        ("256770000004", "NOT_ENOUGH_FUNDS"),
        ("256770000005", "SERVICE_UNAVAILABLE"),
        ("256770000006", "INTERNAL_PROCESSING_ERROR"),
    ] {
        let before = corridor.mpesa_customer(PAYBILL_PAYER);
        let transfer = corridor
            .send_kes(SENT, recipient, None)
            .await
            .expect("a transfer");
        let paid = corridor.pay_paybill(&transfer.pay_in.reference, SENT).await;
        assert_eq!(paid["outcome"], "completed", "{paid}");
        let refunded = corridor
            .wait_for_state(&transfer.id, TransferState::Refunded)
            .await;
        assert_eq!(
            corridor.mpesa_customer(PAYBILL_PAYER),
            before,
            "{reason}: the payer has every shilling back"
        );
        assert_eq!(corridor.momo_received(recipient), 0, "{reason}");
        assert!(
            format!("{refunded:?}").contains(reason),
            "{reason}: {refunded:#?}"
        );
    }
    assert_eq!(corridor.reversal_requests(), 6, "one reversal per refund");
}

/// A prompted payment goes back the same way: a reversal of its receipt.
#[tokio::test]
async fn a_failed_momo_pay_out_after_an_stk_push_is_reversed_to_the_payer() {
    let corridor = Corridor::start(setup("express")).await;
    let before = corridor.mpesa_customer(PROMPT_PAYER);
    let transfer = corridor
        .send_kes(SENT, "256770000002", Some(PROMPT_PAYER))
        .await
        .expect("a transfer");
    let refunded = corridor
        .wait_for_state(&transfer.id, TransferState::Refunded)
        .await;
    assert_eq!(corridor.mpesa_customer(PROMPT_PAYER), before);
    assert!(
        format!("{refunded:?}").contains("PAYEE_NOT_ALLOWED_TO_RECEIVE"),
        "{refunded:#?}"
    );
    assert_eq!(corridor.reversal_requests(), 1);
}

#[tokio::test]
async fn a_momo_callback_that_never_arrives_is_resolved_by_the_status_query() {
    let corridor = Corridor::start(setup("express")).await;
    let mut plan = FaultPlan::default();
    plan.callbacks.insert(
        "momo".into(),
        CallbackFaults {
            drop_percent: 100,
            ..CallbackFaults::default()
        },
    );
    corridor.sandbox.set_faults(plan);
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, Some(PROMPT_PAYER))
        .await
        .expect("a transfer");
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
    assert_eq!(
        corridor.momo_transfer_requests(),
        1,
        "queried, never resent"
    );
}

#[tokio::test]
async fn a_forged_momo_success_pays_no_one_and_completes_nothing() {
    let corridor = Corridor::start(setup("express")).await;
    // MoMo keeps this transfer pending for ever and never calls back.
    let pending = "256770000007";
    let transfer = corridor
        .send_kes(SENT, pending, Some(PROMPT_PAYER))
        .await
        .expect("a transfer");
    let transfer = corridor
        .wait_for_state(&transfer.id, TransferState::PayingOut)
        .await;
    let url = corridor.callback_url(&transfer.id, "pay-out").await;
    let forged = serde_json::json!({
        "financialTransactionId": "999999999", "externalId": transfer.pay_out.reference,
        "amount": RECEIVED_UGX.to_string(), "currency": "UGX",
        "payee": { "partyIdType": "MSISDN", "partyId": pending }, "status": "SUCCESSFUL",
    });
    let answer = reqwest::Client::new()
        .put(&url)
        .header("content-type", "application/json")
        .body(forged.to_string())
        .send()
        .await
        .expect("the host answers");
    assert!(answer.status().is_success());
    let after = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_ne!(after.state, TransferState::Completed);
    assert_eq!(corridor.momo_received(pending), 0);
}

#[tokio::test]
async fn a_host_killed_mid_pay_out_pays_once_after_restart() {
    let mut corridor = Corridor::start(setup("express")).await;
    let transfer = corridor
        .send_kes(SENT, RECIPIENT, Some(PROMPT_PAYER))
        .await
        .expect("a transfer");
    corridor
        .wait_for(&transfer.id, "the pay-out", |view| {
            matches!(
                view.state,
                TransferState::PayingOut | TransferState::PayOutUnknown | TransferState::Completed
            )
        })
        .await;
    corridor.kill_host().await;
    corridor.start_host().await;
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
    assert_eq!(corridor.momo_transfer_requests(), 1);
}

#[tokio::test]
async fn both_corridors_run_side_by_side_in_one_host() {
    let corridor = Corridor::start(Setup {
        connectors: vec!["alipay-mpesa", "mpesa-momo"],
        ..Setup::default()
    })
    .await;
    let kenyan = corridor
        .send_kes(SENT, RECIPIENT, Some(PROMPT_PAYER))
        .await
        .expect("a Kenya → Uganda transfer");
    let quote = corridor
        .quote_of("alipay-mpesa", "10.00", "USD", "KES")
        .await;
    let chinese = corridor
        .client
        .transfer(&quote, corridor_tests::RECIPIENT, "both-corridors")
        .await
        .expect("an Alipay → M-PESA transfer");
    assert_eq!(chinese.connector, "alipay-mpesa");
    assert_eq!(kenyan.connector, "mpesa-momo");
    assert_eq!(corridor.pay(&chinese).await, "9000");
    corridor
        .wait_for_state(&chinese.id, TransferState::Completed)
        .await;
    corridor
        .wait_for_state(&kenyan.id, TransferState::Completed)
        .await;
    assert_eq!(corridor.momo_received(RECIPIENT), RECEIVED_UGX);
}
