//! The Alipay → M-PESA corridor paying out over the G2 SOAP broker
//! (`mpesa_pay_out_protocol = "broker"`): the same guarantees as Daraja B2C.
//! One `GenericAPIRequest` per transfer; the `ResultMsg` on the `pay-out`
//! route is unsigned evidence; an unknown outcome is resolved by
//! `queryTransaction`, never by a second request.

use std::time::Duration;

use corridor_host::api::view::TransferView;
use corridor_host::engine::model::{LegStatus, TransferState};
use corridor_sandbox::faults::{CallbackFaults, FaultPlan};
use corridor_tests::{Corridor, RECIPIENT, Setup};

/// An M-PESA customer the sandbox knows as unregistered: ApiResult 7.
const UNREGISTERED: &str = "254700000040";

fn broker_setup() -> Setup {
    Setup {
        settings: vec![("mpesa_pay_out_protocol", "broker".to_string())],
        ..Setup::default()
    }
}

fn mpesa_callbacks(faults: CallbackFaults) -> FaultPlan {
    FaultPlan {
        callbacks: [("mpesa".to_string(), faults)].into(),
        ..FaultPlan::default()
    }
}

/// `GenericAPIRequest`s the broker received, and Daraja B2C requests.
fn requests(corridor: &Corridor) -> (usize, usize) {
    let journal = corridor.sandbox.journal(Some("mpesa"));
    let count = |path: &str| {
        journal
            .iter()
            .filter(|entry| entry.target.contains(path))
            .count()
    };
    (count("/mminterface/request"), count("/paymentrequest"))
}

fn queries(corridor: &Corridor) -> usize {
    corridor
        .sandbox
        .journal(Some("mpesa"))
        .iter()
        .filter(|entry| entry.target.contains("/queryTransactionService/"))
        .count()
}

async fn post_xml(url: &str, body: String) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .expect("the host answers");
    let status = answer.status().as_u16();
    (status, answer.text().await.expect("text"))
}

/// A `ResultMsg` as the broker posts it.
fn result_msg(reference: &str, code: &str, shillings: &str, msisdn: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ResultMsg xmlns="http://api-v1.gen.mm.vodafone.com/mminterface/result"><![CDATA[<Result><ResultType>0</ResultType><ResultCode>{code}</ResultCode><ResultDesc>forged</ResultDesc><OriginatorConversationID>{reference}</OriginatorConversationID><ConversationID>AG_forged</ConversationID><TransactionID>FORGED0001</TransactionID><ResultParameters><ResultParameter><Key>TransactionReceipt</Key><Value>FORGED0001</Value></ResultParameter><ResultParameter><Key>TransactionAmount</Key><Value>{shillings}</Value></ResultParameter><ResultParameter><Key>ReceiverPartyPublicName</Key><Value>{msisdn}-Forger</Value></ResultParameter></ResultParameters></Result>]]></ResultMsg></s:Body></s:Envelope>"#
    )
}

/// Waits until the sandbox has settled the payment (its result decided).
async fn wait_until_paid_out(corridor: &Corridor, utility_before: i64) {
    for _ in 0..500 {
        if corridor.sandbox.mpesa_balances().utility_cents < utility_before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sandbox never settled the pay-out");
}

/// A transfer paid in whose `GenericAPIRequest` was accepted.
async fn paying_out(corridor: &Corridor, recipient: &str) -> TransferView {
    let transfer = corridor.send("10.00", recipient).await;
    corridor.pay(&transfer).await;
    corridor
        .wait_for(&transfer.id, "an accepted GenericAPIRequest", |transfer| {
            transfer.state == TransferState::PayingOut
                && transfer.pay_out.provider_reference.is_some()
        })
        .await
}

/// Paid exactly once over the broker, nobody refunded.
fn assert_paid_once(corridor: &Corridor, done: &TransferView, utility_before: i64) {
    assert_eq!(done.state, TransferState::Completed, "{done:#?}");
    assert_eq!(
        requests(corridor),
        (1, 0),
        "one GenericAPIRequest, no Daraja B2C"
    );
    assert_eq!(corridor.refund_requests(), 0, "no refund");
    let balances = corridor.sandbox.mpesa_balances();
    assert_eq!(balances.customers[RECIPIENT], 100_000, "credited once");
    assert_eq!(utility_before - balances.utility_cents, 100_000 + 3_300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_pays_out_over_the_broker_and_completes() {
    let corridor = Corridor::start(broker_setup()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
    let receipt = done.pay_out.receipt.clone().expect("a receipt");
    assert!(receipt.starts_with('S'), "the sandbox's receipt: {receipt}");
    let request = corridor
        .sandbox
        .journal(Some("mpesa"))
        .into_iter()
        .find(|entry| entry.target.contains("/mminterface/request"))
        .expect("the GenericAPIRequest");
    assert!(
        request.body.contains(&done.pay_out.reference) && request.body.contains("spPassword"),
        "OriginatorConversationID is the host's reference: {}",
        request.body
    );
    let outcomes = corridor.callbacks(&transfer.id).await;
    assert!(
        outcomes
            .iter()
            .any(|(route, outcome)| route == "pay-out" && outcome == "paid out"),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_result_confirmed_by_the_query_refunds_the_payer() {
    let corridor = Corridor::start(broker_setup()).await;
    let buyer_before = corridor.buyer_balance();
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    let transfer = corridor.send("10.00", UNREGISTERED).await;
    corridor.pay(&transfer).await;
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Refunded)
        .await;
    assert_eq!(
        done.failure.as_ref().map(|failure| failure.code.as_str()),
        Some("7"),
        "UnresolvedReceiverParty"
    );
    assert_eq!(
        (done.pay_in.status, done.pay_out.status),
        (LegStatus::Refunded, LegStatus::Failed)
    );
    assert_eq!(corridor.buyer_balance(), buyer_before, "every fen back");
    assert_eq!(
        corridor.sandbox.mpesa_balances().utility_cents,
        utility_before,
        "nothing was paid out"
    );
    assert_eq!(requests(&corridor), (1, 0));
    assert_eq!(corridor.refund_requests(), 1);
    assert!(
        queries(&corridor) >= 1,
        "the unsigned failure was confirmed first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_result_is_resolved_by_the_query_without_a_second_request() {
    let corridor = Corridor::start(broker_setup()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(mpesa_callbacks(CallbackFaults {
        drop_percent: 100,
        ..CallbackFaults::default()
    }));
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    // The query answers at once: the faults stay on, no result ever arrives.
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
    assert!(done.pay_out.status_queries >= 1, "resolved by a query");
    assert!(queries(&corridor) >= 1);
    let pay_out_callbacks = corridor
        .callbacks(&transfer.id)
        .await
        .into_iter()
        .filter(|(route, _)| route != "pay-in")
        .count();
    assert_eq!(pay_out_callbacks, 0, "no ResultMsg reached the host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_mismatching_result_msg_moves_nothing() {
    let corridor = Corridor::start(broker_setup()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(mpesa_callbacks(CallbackFaults {
        delay_ms: 1_500,
        ..CallbackFaults::default()
    }));
    let transfer = paying_out(&corridor, RECIPIENT).await;
    let reference = transfer.pay_out.reference.clone();
    // With the pay-in's secret: no pay-out route opens.
    let with_pay_in_secret = Corridor::notify_url(&transfer).replace("/pay-in/", "/pay-out/");
    let (status, _) = post_xml(
        &with_pay_in_secret,
        result_msg(&reference, "1", "1000.00", RECIPIENT),
    )
    .await;
    assert_eq!(status, 404);
    // As if the secret leaked: a failure is only evidence, a success must match.
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    for forged in [
        result_msg(&reference, "1", "1000.00", RECIPIENT),
        result_msg(&reference, "0", "999999.00", RECIPIENT),
        result_msg(&reference, "0", "1000.00", "254700000001"),
        result_msg("COR-someone-else", "0", "1000.00", RECIPIENT),
    ] {
        let (status, reply) = post_xml(&result_url, forged).await;
        assert!(status == 200 || status == 403, "{status}: {reply}");
    }
    let done = corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
    assert_ne!(
        done.pay_out.receipt.as_deref(),
        Some("FORGED0001"),
        "the forged receipt was never taken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_result_msg_is_applied_once() {
    let corridor = Corridor::start(broker_setup()).await;
    corridor.sandbox.set_faults(mpesa_callbacks(CallbackFaults {
        duplicate_percent: 100,
        ..CallbackFaults::default()
    }));
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    corridor
        .wait_for_state(&transfer.id, TransferState::Completed)
        .await;
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(outcomes, ["paid out", "duplicate pay-out result"]);
    assert_eq!(
        corridor.sandbox.mpesa_balances().customers[RECIPIENT],
        100_000,
        "credited once"
    );
    assert_eq!(requests(&corridor), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_envelope_is_answered_with_a_soap_fault_and_changes_nothing() {
    let corridor = Corridor::start(broker_setup()).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    let result_url = corridor.callback_url(&transfer.id, "pay-out").await;
    let (status, reply) = post_xml(&result_url, "<s:Envelope><s:Body><ResultMsg>".into()).await;
    assert_eq!(status, 500, "{reply}");
    assert!(
        reply.contains("<faultcode>soapenv:Client</faultcode>"),
        "{reply}"
    );
    // A readable envelope that establishes nothing is acknowledged.
    let (status, reply) = post_xml(
        &result_url,
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><ResultMsg><![CDATA[<Result><ResultCode>0</ResultCode></Result>]]></ResultMsg></s:Body></s:Envelope>"#.into(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(reply.contains("00000000"), "{reply}");
    let after = corridor.client.get(&transfer.id).await.expect("transfer");
    assert_eq!(
        (after.state, after.events.len()),
        (TransferState::AwaitingPayIn, transfer.events.len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_between_the_request_and_the_result_resumes_with_one_request() {
    let mut corridor = Corridor::start(broker_setup()).await;
    let utility_before = corridor.sandbox.mpesa_balances().utility_cents;
    corridor.sandbox.set_faults(mpesa_callbacks(CallbackFaults {
        drop_percent: 100,
        ..CallbackFaults::default()
    }));
    let sent = paying_out(&corridor, RECIPIENT).await;
    wait_until_paid_out(&corridor, utility_before).await;
    corridor.kill_host().await;
    assert!(
        corridor.client.get(&sent.id).await.is_err(),
        "the host is down"
    );
    corridor.start_host().await;
    let done = corridor
        .wait_for_state(&sent.id, TransferState::Completed)
        .await;
    assert_paid_once(&corridor, &done, utility_before);
    assert!(
        done.pay_out.status_queries >= 1,
        "the restarted host asked, it did not resend"
    );
    assert_eq!(
        done.pay_out.provider_reference,
        sent.pay_out.provider_reference
    );
}
