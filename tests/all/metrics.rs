//! The operator's metrics: what a transfer leaves in the Prometheus text.

use corridor_host::engine::model::TransferState;
use corridor_tests::{ADMIN_READ_TOKEN, Corridor, RECIPIENT, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_is_counted_by_call_step_callback_egress_and_state() {
    let corridor = Corridor::start(Setup::default()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    assert_eq!(corridor.pay(&transfer).await, "9000");
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let metrics = format!("{}/metrics", corridor.admin_url());
    let anonymous = http.get(&metrics).send().await.expect("answers");
    assert_eq!(anonymous.status(), 401, "metrics are for operators");
    let text = http
        .get(&metrics)
        .bearer_auth(ADMIN_READ_TOKEN)
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    let has = |needle: &str| {
        assert!(
            text.lines().any(|line| line.contains(needle)),
            "no line with {needle:?} in\n{text}"
        )
    };
    has(r#"corridor_connector_calls_total{connector="alipay-mpesa""#);
    has(r#"export="begin-pay-out",outcome="ok""#);
    has("corridor_connector_call_seconds");
    has("corridor_instantiation_seconds");
    has(r#"corridor_step_seconds_count{state="ledger-confirmed"}"#);
    has(r#"corridor_callbacks_total{connector="alipay-mpesa",route="pay-in",status="200"}"#);
    has(r#"corridor_egress_requests_total{connector="alipay-mpesa""#);
    has(r#"corridor_transitions_total{connector="alipay-mpesa",from="paying-out",to="completed"}"#);
    let completed = text.lines().find(|line| {
        line.starts_with(r#"corridor_transfers{connector="alipay-mpesa",version=""#)
            && line.contains(r#"state="completed"}"#)
    });
    assert!(
        completed.is_some_and(|line| line.ends_with(" 1")),
        "one completed transfer, by version: {completed:?}"
    );
    let ready: serde_json::Value = http
        .get(format!("{}/ready", corridor.admin_url()))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(
        ready["versions"][0]["connector"], "alipay-mpesa",
        "/ready names the versions taking work: {ready}"
    );
    has("corridor_pool_slots_free");
}
