//! Providers' callbacks: forged, duplicated, on the wrong path.

use std::collections::BTreeMap;

use corridor_host::engine::model::TransferState;
use corridor_sandbox::faults::{CallbackFaults, FaultPlan};
use corridor_tests::{Corridor, RECIPIENT, Setup};
use md5::{Digest, Md5};

fn signed_md5(params: &BTreeMap<&str, String>, key: &str) -> String {
    let content: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let sign = hex::encode(Md5::digest(format!("{}{key}", content.join("&"))));
    let mut all: Vec<(&str, String)> = params
        .iter()
        .map(|(name, value)| (*name, value.clone()))
        .collect();
    all.push(("sign", sign));
    all.push(("sign_type", "MD5".into()));
    serde_urlencoded::to_string(all).expect("form")
}

fn paid_notification(out_trade_no: &str) -> BTreeMap<&'static str, String> {
    [
        (
            "notify_id",
            "0123456789abcdef0123456789abcdef01".to_string(),
        ),
        ("notify_time", "2026-11-23 09:00:00".into()),
        ("notify_type", "trade_status_sync".into()),
        ("out_trade_no", out_trade_no.to_string()),
        ("trade_no", "2026112321001001000000000001".into()),
        ("trade_status", "TRADE_FINISHED".into()),
        ("total_fee", "10.00".into()),
        ("currency", "USD".into()),
    ]
    .into_iter()
    .collect()
}

async fn post(url: &str, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("the host answers");
    (
        response.status().as_u16(),
        response.text().await.expect("text"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_notification_is_refused_and_changes_nothing() {
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let notify_url = Corridor::notify_url(&transfer);
    let notification = paid_notification(&transfer.pay_in.reference);

    // Signed with a key that is not the merchant's.
    let (status, body) = post(
        &notify_url,
        signed_md5(&notification, "not-the-merchants-key"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (200, "fail"),
        "Alipay is asked to retry, nothing is acknowledged"
    );
    // Signed with the right key, but Alipay never sent it: notify_verify says false.
    let (_, body) = post(
        &notify_url,
        signed_md5(&notification, "760bdzec6y9goq7ctyx96ezkz78287de"),
    )
    .await;
    assert_eq!(body, "fail");
    // The right body on a path without the transfer's secret never reaches the connector.
    let wrong_secret = format!("{}x", notify_url.trim_end_matches(char::is_alphanumeric));
    let (status, _) = post(
        &wrong_secret,
        signed_md5(&notification, "760bdzec6y9goq7ctyx96ezkz78287de"),
    )
    .await;
    assert_eq!(status, 404);

    let after = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(after.state, TransferState::AwaitingPayIn);
    assert_eq!(after.events.len(), transfer.events.len(), "no state change");
    assert!(
        corridor.sandbox.ledger_records().is_empty(),
        "nothing registered"
    );
    let outcomes = corridor.callbacks(&transfer.id).await;
    assert_eq!(
        outcomes.len(),
        2,
        "the two that reached the connector are on record: {outcomes:?}"
    );
    assert!(outcomes[0].1.contains("bad signature"), "{outcomes:?}");
    assert!(outcomes[1].1.contains("notify_verify"), "{outcomes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_notification_is_applied_once() {
    let corridor = Corridor::start(Setup::default()).await;
    let twice = CallbackFaults {
        duplicate_percent: 100,
        ..CallbackFaults::default()
    };
    corridor.sandbox.set_faults(FaultPlan {
        callbacks: [("alipay".to_string(), twice)].into(),
        ..FaultPlan::default()
    });
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    let pay_ins: Vec<String> = corridor
        .callbacks(&transfer.id)
        .await
        .into_iter()
        .filter(|(route, _)| route == "pay-in")
        .map(|(_, outcome)| outcome)
        .collect();
    assert_eq!(pay_ins, ["paid in", "duplicate pay-in"]);
    assert_eq!(
        done.events
            .iter()
            .filter(|event| event.state == TransferState::PaidIn)
            .count(),
        1
    );
    assert_eq!(corridor.sandbox.ledger_records().len(), 1);
    assert_eq!(corridor.b2c_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_b2c_result_is_applied_once() {
    let corridor = Corridor::start(Setup::default()).await;
    let twice = CallbackFaults {
        duplicate_percent: 100,
        ..CallbackFaults::default()
    };
    corridor.sandbox.set_faults(FaultPlan {
        callbacks: [("mpesa".to_string(), twice)].into(),
        ..FaultPlan::default()
    });
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    // The second copy follows the first; give it a moment to be recorded.
    let mut outcomes = Vec::new();
    for _ in 0..250 {
        outcomes = corridor
            .callbacks(&transfer.id)
            .await
            .into_iter()
            .filter(|(route, _)| route == "pay-out")
            .map(|(_, outcome)| outcome)
            .collect();
        if outcomes.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(outcomes, ["paid out", "duplicate pay-out result"]);
    assert_eq!(
        corridor.sandbox.mpesa_balances().customers[RECIPIENT],
        100_000,
        "credited once"
    );
    assert_eq!(corridor.b2c_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_pay_out_route_is_acknowledged_and_changes_nothing() {
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    for body in [
        "not json",
        r#"{"Result": {"ResultCode": 0}}"#,
        r#"{"Result": {"ResultCode": 0, "OriginatorConversationID": "x"}}"#,
    ] {
        let (status, reply) = post(&result_url, body.to_string()).await;
        assert_eq!(
            status, 200,
            "Daraja does not retry: a bad body is acknowledged, not bounced"
        );
        assert!(reply.contains("Accepted"), "{reply}");
    }
    let after = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(
        (after.state, after.events.len()),
        (TransferState::AwaitingPayIn, transfer.events.len())
    );
    let outcomes = corridor.callbacks(&transfer.id).await;
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes
            .iter()
            .all(|(_, outcome)| outcome.starts_with("ignored")),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_connector_setting_fails_the_pay_in_with_a_clear_code() {
    let setup = Setup {
        settings: vec![("alipay_sign_type", "SHA1".to_string())],
        ..Setup::default()
    };
    let corridor = Corridor::start(setup).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    assert_eq!(transfer.state, TransferState::PayInFailed);
    let failure = transfer.failure.expect("a failure");
    assert_eq!(failure.code, "misconfigured");
    assert!(
        failure.message.contains("alipay_sign_type"),
        "{}",
        failure.message
    );
    assert!(
        corridor.sandbox.journal(Some("alipay")).is_empty(),
        "nothing reached Alipay"
    );
}
