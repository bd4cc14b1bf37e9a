//! A corridor that is neither Alipay nor M-PESA (PayLink → Walletly, in
//! `tests/guests/paylink-walletly`, against the fakes in
//! `corridor_tests::fake_rails`) runs through the real host: a component and
//! a policy, and not one line of host code.

use corridor_host::client::ClientError;
use corridor_host::engine::model::TransferState;
use corridor_tests::PATIENCE;
use corridor_tests::fake_rails::SecondCorridor;

async fn wait_for(
    corridor: &SecondCorridor,
    id: &str,
    state: TransferState,
) -> corridor_host::api::view::TransferView {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let transfer = corridor.client.get(id).await.expect("the transfer");
        if transfer.state == state {
            return transfer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "transfer {id} never reached {state}: {transfer:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_corridor_that_is_neither_alipay_nor_mpesa_pays_end_to_end_with_no_host_change() {
    let corridor = SecondCorridor::start(&["WL-12345678"]).await;
    let quote = corridor
        .client
        .quote("20.00", "EUR", "GHS")
        .await
        .expect("a quote");
    assert_eq!(quote.receive.amount_minor, 30_500, "20 EUR at 15.25");
    assert_eq!(quote.pay_in.amount_minor, 2_075, "plus the 75-cent fee");
    let transfer = corridor
        .client
        .transfer(&quote.id, "wl-12345678", "second-1")
        .await
        .expect("a transfer");
    assert_eq!(
        transfer.pay_out.recipient, "WL-12345678",
        "normalised by the connector"
    );
    assert!(
        transfer.pay_in.reference.starts_with("PL-"),
        "{}",
        transfer.pay_in.reference
    );
    assert!(
        transfer.pay_out.reference.starts_with("WP-"),
        "{}",
        transfer.pay_out.reference
    );

    assert_eq!(corridor.rails.pay(&transfer.pay_in.reference).await, 200);
    let done = wait_for(&corridor, &transfer.id, TransferState::Completed).await;

    assert_eq!(corridor.rails.wallet("WL-12345678"), 30_500);
    assert_eq!(corridor.rails.payout_requests(), 1);
    assert!(
        done.pay_in.details.contains_key("checkout_id"),
        "{:?}",
        done.pay_in.details
    );
    assert_eq!(
        done.pay_out.details.get("wallet").map(String::as_str),
        Some("WL-12345678")
    );
    assert!(
        done.pay_out
            .receipt
            .as_deref()
            .is_some_and(|receipt| receipt.starts_with("po_"))
    );
}

#[tokio::test]
async fn an_asynchronous_pay_out_completes_on_its_unsigned_result_matching_every_stored_value() {
    let corridor = SecondCorridor::start(&["WL-12345670"]).await;
    let transfer = corridor.send("10.00", "WL-12345670", "second-async").await;
    assert_eq!(corridor.rails.pay(&transfer.pay_in.reference).await, 200);
    wait_for(&corridor, &transfer.id, TransferState::Completed).await;
    assert_eq!(corridor.rails.wallet("WL-12345670"), 15_250);
    assert_eq!(corridor.rails.payout_requests(), 1, "never resent");
}

#[tokio::test]
async fn the_corridors_own_recipient_rule_refuses_an_mpesa_number() {
    let corridor = SecondCorridor::start(&["WL-12345678"]).await;
    let quote = corridor
        .client
        .quote("20.00", "EUR", "GHS")
        .await
        .expect("a quote");
    let error = corridor
        .client
        .transfer(&quote.id, "254708374149", "second-bad")
        .await
        .expect_err("not a wallet");
    match error {
        ClientError::Refused {
            status,
            code,
            message,
        } => {
            assert_eq!((status, code.as_str()), (422, "invalid-recipient"));
            assert!(message.contains("Walletly account"), "{message}");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_forged_paylink_notification_moves_nothing() {
    let corridor = SecondCorridor::start(&["WL-12345678"]).await;
    let transfer = corridor.send("20.00", "WL-12345678", "second-forged").await;
    let url = corridor.rails.notify_url(&transfer.pay_in.reference);
    let body = serde_json::json!({
        "event": "checkout.paid", "checkout_id": "chk_forged",
        "reference": transfer.pay_in.reference, "amount_minor": 2075, "currency": "EUR",
    });
    assert_eq!(
        corridor
            .rails
            .notify(&url, body.to_string(), "not-the-secret")
            .await,
        401
    );
    let still = corridor
        .client
        .get(&transfer.id)
        .await
        .expect("the transfer");
    assert_eq!(still.state, TransferState::AwaitingPayIn);
    assert_eq!(corridor.rails.payout_requests(), 0);
}

#[tokio::test]
async fn a_pay_out_walletly_refuses_is_refunded_to_the_payer_through_paylink() {
    // Registered when planned, unknown to Walletly: a definitive 422.
    let corridor = SecondCorridor::start(&[]).await;
    let transfer = corridor.send("20.00", "WL-55555555", "second-refund").await;
    assert_eq!(corridor.rails.pay(&transfer.pay_in.reference).await, 200);
    let refunded = wait_for(&corridor, &transfer.id, TransferState::Refunded).await;
    assert_eq!(
        refunded.failure.map(|failure| failure.code).as_deref(),
        Some("unknown-account")
    );
    let refunds = corridor.rails.refunds();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    let (of, amount) = refunds.values().next().expect("one refund").clone();
    assert_eq!(
        (of.as_str(), amount),
        (transfer.pay_in.reference.as_str(), 2_075)
    );
}

/// POSTs `body` to the admin API's `path` with the operate token.
async fn operate(corridor: &SecondCorridor, path: &str, body: serde_json::Value) -> u16 {
    let admin = corridor.host.admin_url.clone().expect("the admin API");
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{admin}{path}"))
        .bearer_auth(corridor_tests::ADMIN_OPERATE_TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_held_pay_out_the_provider_confirms_is_resolved_paid_out_by_an_operator() {
    let corridor = SecondCorridor::start(&["WL-12345678"]).await;
    // Walletly pays but its answer is lost, and its status route is down:
    // the host cannot learn the pay-out's fate, so it holds the transfer.
    corridor.rails.set_troubled(true);
    let transfer = corridor.send("20.00", "WL-12345678", "second-held").await;
    assert_eq!(corridor.rails.pay(&transfer.pay_in.reference).await, 200);
    wait_for(&corridor, &transfer.id, TransferState::Held).await;
    assert_eq!(
        corridor.rails.payout_requests(),
        1,
        "a lost answer is never resent"
    );

    corridor.rails.set_troubled(false);
    let path = format!("/admin/v1/transfers/{}/resolve", transfer.id);
    let wrong = serde_json::json!({ "action": "paid-out", "receipt": "po_999", "reason": "portal says so" });
    assert_eq!(
        operate(&corridor, &path, wrong).await,
        409,
        "the provider names another receipt"
    );
    let still = corridor
        .client
        .get(&transfer.id)
        .await
        .expect("the transfer");
    assert_eq!(
        still.state,
        TransferState::Held,
        "a refusal changes nothing"
    );

    let right = serde_json::json!({ "action": "paid-out", "receipt": "po_1", "reason": "Walletly ticket 77" });
    assert_eq!(operate(&corridor, &path, right).await, 200);
    let done = corridor
        .client
        .get(&transfer.id)
        .await
        .expect("the transfer");
    assert_eq!(done.state, TransferState::Completed);
    assert_eq!(done.pay_out.receipt.as_deref(), Some("po_1"));
    assert_eq!(corridor.rails.wallet("WL-12345678"), 30_500, "paid once");
    assert_eq!(corridor.rails.payout_requests(), 1);
    assert!(corridor.rails.refunds().is_empty());
}
