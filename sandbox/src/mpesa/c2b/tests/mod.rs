//! C2B and reversals over loopback: the M-PESA rail against the simulator.

mod harness;

use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, FailureKind, PayOutRequest,
};
use corridor_connector_kit::money::money;
use corridor_rail_mpesa::b2c;
use corridor_rail_mpesa::c2b::register::{self, Registered, Urls};
use corridor_rail_mpesa::c2b::status::{self as c2b_status, Callbacks};
use corridor_rail_mpesa::c2b::{C2bForm, C2bStatus, Rejection, ResponseType};
use corridor_rail_mpesa::callback::{ResultKind, result_events};
use corridor_rail_mpesa::reversal::{self, Reversal, ReversalOutcome};
use corridor_rail_mpesa::status::{Acknowledged, acknowledged};

use crate::faults::{CallbackFaults, FaultPlan};
use harness::{Harness, Mode, PAYBILL, PAYER, start};

/// Registers the organisation's routes in its form.
async fn register(harness: &Harness, response_type: ResponseType) -> Registered {
    let settings = {
        let mut organisation = crate::faults::lock(&harness.organisation);
        organisation.settings.response_type = response_type;
        organisation.settings.clone()
    };
    let (validation_url, confirmation_url) = (harness.url("/validate"), harness.url("/confirm"));
    let urls = Urls {
        validation_url: &validation_url,
        confirmation_url: &confirmation_url,
    };
    if settings.form == C2bForm::Soap {
        let request =
            register::soap_request(&settings, &urls, "600984_Corridor_1", 0).expect("a request");
        register::soap_parse(&harness.send(request).await).expect("registered")
    } else {
        let token = harness.token().await;
        let request =
            register::daraja_request(&harness.mpesa, &settings, &token, &urls).expect("a request");
        match register::daraja_parse(&harness.send(request).await) {
            Ok(registered) => registered,
            Err(_) => panic!("the registration is refused"),
        }
    }
}

fn callbacks<'a>(result_url: &'a str, timeout_url: &'a str) -> Callbacks<'a> {
    Callbacks {
        result_url,
        timeout_url,
        occasion: "t1",
    }
}

/// Asks Transaction Status for a receipt and reads the answer.
async fn status_of(harness: &Harness, receipt: &str, path: &str) -> C2bStatus {
    let settings = crate::faults::lock(&harness.organisation).settings.clone();
    let (result_url, timeout_url) = (harness.url(path), harness.url("/timeout"));
    let request = c2b_status::request(
        &harness.mpesa,
        &settings,
        &harness.token().await,
        &harness.credential(),
        receipt,
        &callbacks(&result_url, &timeout_url),
    );
    let answer = harness.send(request).await;
    assert!(matches!(acknowledged(&answer), Ok(Acknowledged::Pending)));
    let body = harness.results(path, 1).await.remove(0);
    c2b_status::result(body.as_bytes()).expect("a status")
}

fn paybill_utility(harness: &Harness) -> i64 {
    harness.sandbox.mpesa_balances().paybills[PAYBILL].utility_cents
}

fn payer_balance(harness: &Harness) -> i64 {
    harness.sandbox.mpesa_balances().customers[PAYER]
}

#[tokio::test]
async fn a_daraja_v2_payment_is_validated_completed_and_confirmed_with_the_masked_msisdn() {
    let harness = start(C2bForm::DarajaV2).await;
    assert!(matches!(
        register(&harness, ResponseType::Cancelled).await,
        Registered::Now { .. }
    ));
    let outcome = harness.pay(PAYER, "COR-42", "100.00").await;
    assert_eq!(outcome["outcome"], "completed", "{outcome}");
    assert_eq!(outcome["validation"]["result"], "accepted");
    let confirmed = harness.confirmations(1).await.remove(0);
    assert_eq!(confirmed.msisdn, "2547 ***** 614");
    assert_eq!(confirmed.bill_ref_number, "COR-42");
    assert_eq!(confirmed.amount_cents, 10_000);
    assert_eq!(confirmed.org_account_balance, Some(10_000));
    assert_eq!(paybill_utility(&harness), 10_000);
    assert_eq!(payer_balance(&harness), 5_000_000 - 10_000);
}

#[tokio::test]
async fn a_soap_paybill_registers_and_is_paid_under_a_signed_header_with_the_plain_msisdn() {
    let harness = start(C2bForm::Soap).await;
    assert!(matches!(
        register(&harness, ResponseType::Cancelled).await,
        Registered::Now { originator_conversation_id } if originator_conversation_id == "600984_Corridor_1"
    ));
    let outcome = harness.pay(PAYER, "COR-7", "123.00").await;
    assert_eq!(outcome["outcome"], "completed", "{outcome}");
    let validated = crate::faults::lock(&harness.organisation).validations[0].clone();
    assert_eq!(validated.msisdn, PAYER);
    assert_eq!(validated.payer_name, "Hoiyor G Chen");
    assert_eq!(validated.org_account_balance, None);
    let confirmed = harness.confirmations(1).await.remove(0);
    assert_eq!(confirmed.amount_cents, 12_300);
    assert_eq!(confirmed.org_account_balance, Some(12_300));
    assert!(crate::faults::lock(&harness.organisation).errors.is_empty());
}

#[tokio::test]
async fn a_rejected_validation_cancels_the_payment_and_moves_no_money() {
    let harness = start(C2bForm::DarajaV1).await;
    register(&harness, ResponseType::Completed).await;
    harness.set_mode(Mode::Reject(Rejection::UnknownAccount));
    let outcome = harness.pay(PAYER, "NOBODY", "250.00").await;
    assert_eq!(outcome["outcome"], "cancelled", "{outcome}");
    assert_eq!(outcome["validation"]["code"], "C2B00012");
    assert_eq!(paybill_utility(&harness), 0);
    assert_eq!(payer_balance(&harness), 5_000_000);
    let validated = crate::faults::lock(&harness.organisation).validations[0].clone();
    assert_eq!(validated.msisdn.len(), 64, "v1 sends the MSISDN's SHA-256");
    let trans_id = outcome["trans_id"].as_str().expect("a receipt");
    assert!(matches!(
        status_of(&harness, trans_id, "/status/cancelled").await,
        C2bStatus::Failed(failure) if failure.kind == FailureKind::Failed
    ));
    assert!(
        crate::faults::lock(&harness.organisation)
            .confirmations
            .is_empty()
    );
}

#[tokio::test]
async fn an_unreachable_validation_falls_back_to_the_registered_response_type() {
    let harness = start(C2bForm::DarajaV2).await;
    harness.set_mode(Mode::Silent);
    register(&harness, ResponseType::Cancelled).await;
    let cancelled = harness.pay(PAYER, "COR-1", "10.00").await;
    assert_eq!(cancelled["outcome"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["validation"]["result"], "unreachable");
    assert_eq!(payer_balance(&harness), 5_000_000);
    register(&harness, ResponseType::Completed).await;
    let completed = harness.pay(PAYER, "COR-2", "10.00").await;
    assert_eq!(completed["outcome"], "completed", "{completed}");
    assert_eq!(completed["validation"]["result"], "unreachable");
    assert_eq!(paybill_utility(&harness), 1_000);
}

#[tokio::test]
async fn a_payer_short_of_funds_is_not_validated_and_nothing_moves() {
    let harness = start(C2bForm::DarajaV2).await;
    register(&harness, ResponseType::Completed).await;
    let outcome = harness.pay("254711000001", "COR-1", "11.00").await;
    assert_eq!(outcome["outcome"], "insufficient-funds", "{outcome}");
    assert!(
        crate::faults::lock(&harness.organisation)
            .validations
            .is_empty()
    );
}

#[tokio::test]
async fn a_confirmation_is_delivered_again_until_it_is_acknowledged() {
    let harness = start(C2bForm::Soap).await;
    register(&harness, ResponseType::Cancelled).await;
    crate::faults::lock(&harness.organisation).refuse_confirmations = 2;
    let outcome = harness.pay(PAYER, "COR-9", "50.00").await;
    assert_eq!(outcome["outcome"], "completed", "{outcome}");
    let confirmed = harness.confirmations(1).await;
    assert_eq!(confirmed.len(), 1);
    let deliveries = harness
        .sandbox
        .journal(Some("mpesa"))
        .iter()
        .filter(|entry| entry.target.ends_with("/confirm"))
        .count();
    assert_eq!(deliveries, 3, "two refused, the third acknowledged");
}

#[tokio::test]
async fn the_status_of_a_receipt_is_completed_with_its_amount() {
    let harness = start(C2bForm::DarajaV2).await;
    register(&harness, ResponseType::Cancelled).await;
    let outcome = harness.pay(PAYER, "COR-5", "75.00").await;
    let trans_id = outcome["trans_id"].as_str().expect("a receipt");
    match status_of(&harness, trans_id, "/status/paid").await {
        C2bStatus::Completed {
            receipt,
            amount_cents,
            debit_party,
            ..
        } => {
            assert_eq!(receipt, trans_id);
            assert_eq!(amount_cents, 7_500);
            assert_eq!(debit_party, "254722703614 - Hoiyor G Chen");
        }
        other => panic!("{other:?}"),
    }
}

/// Sends a reversal of `receipt` and reads its acknowledgement.
async fn reverse(harness: &Harness, receipt: &str, cents: i64, path: &str) -> reversal::Accepted {
    let settings = crate::faults::lock(&harness.organisation).settings.clone();
    let (result_url, timeout_url) = (harness.url(path), harness.url("/timeout"));
    let request = reversal::request(
        &harness.mpesa,
        &settings,
        &harness.token().await,
        &harness.credential(),
        &Reversal {
            receipt,
            amount_cents: cents,
            callbacks: callbacks(&result_url, &timeout_url),
            remarks: "Refund",
        },
    )
    .expect("a request");
    match reversal::parse(&harness.send(request).await) {
        Ok(accepted) => accepted,
        Err(_) => panic!("the reversal is not acknowledged"),
    }
}

#[tokio::test]
async fn a_reversal_gives_the_money_back_once_and_a_second_is_refused() {
    let harness = start(C2bForm::DarajaV2).await;
    register(&harness, ResponseType::Cancelled).await;
    let outcome = harness.pay(PAYER, "COR-3", "200.00").await;
    let trans_id = outcome["trans_id"].as_str().expect("a receipt").to_string();
    let accepted = reverse(&harness, &trans_id, 20_000, "/reversal/1").await;
    let body = harness.results("/reversal/1", 1).await.remove(0);
    let result = reversal::result(body.as_bytes()).expect("a result");
    assert_eq!(
        result.originator_conversation_id,
        accepted.originator_conversation_id
    );
    match result.outcome {
        ReversalOutcome::Reversed {
            original_receipt,
            amount_cents,
            ..
        } => {
            assert_eq!(original_receipt.as_deref(), Some(trans_id.as_str()));
            assert_eq!(amount_cents, 20_000);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(payer_balance(&harness), 5_000_000);
    assert_eq!(paybill_utility(&harness), 0);
    reverse(&harness, &trans_id, 20_000, "/reversal/2").await;
    let again = harness.results("/reversal/2", 1).await.remove(0);
    assert!(matches!(
        reversal::result(again.as_bytes())
            .expect("a result")
            .outcome,
        ReversalOutcome::AlreadyReversed
    ));
    assert_eq!(payer_balance(&harness), 5_000_000, "no second refund");
    assert!(matches!(
        status_of(&harness, &trans_id, "/status/reversed").await,
        C2bStatus::Reversed
    ));
}

#[tokio::test]
async fn a_reversal_whose_result_is_lost_is_found_completed_by_its_originator_id() {
    let harness = start(C2bForm::DarajaV2).await;
    register(&harness, ResponseType::Cancelled).await;
    let outcome = harness.pay(PAYER, "COR-4", "30.00").await;
    let trans_id = outcome["trans_id"].as_str().expect("a receipt").to_string();
    let mut plan = FaultPlan::default();
    plan.callbacks.insert(
        "mpesa".into(),
        CallbackFaults {
            drop_percent: 100,
            ..CallbackFaults::default()
        },
    );
    harness.sandbox.set_faults(plan);
    let accepted = reverse(&harness, &trans_id, 3_000, "/reversal/lost").await;
    harness.sandbox.set_faults(FaultPlan::default());
    let settings = crate::faults::lock(&harness.organisation).settings.clone();
    let (result_url, timeout_url) = (harness.url("/status/reversal"), harness.url("/timeout"));
    let request = reversal::status_request(
        &harness.mpesa,
        &settings,
        &harness.token().await,
        &harness.credential(),
        &accepted,
        &callbacks(&result_url, &timeout_url),
    );
    assert!(matches!(
        acknowledged(&harness.send(request).await),
        Ok(Acknowledged::Pending)
    ));
    let body = harness.results("/status/reversal", 1).await.remove(0);
    assert!(matches!(
        c2b_status::result(body.as_bytes()).expect("a status"),
        C2bStatus::Completed {
            amount_cents: 3_000,
            ..
        }
    ));
    assert!(
        crate::faults::lock(&harness.organisation)
            .results
            .iter()
            .all(|(path, _)| path != "/reversal/lost")
    );
}

#[tokio::test]
async fn a_b2c_receipt_cannot_be_reversed() {
    let harness = start(C2bForm::DarajaV2).await;
    let token = harness.token().await;
    let payout = PayOutRequest {
        transfer_id: "t1".into(),
        reference: "COR-t1-B2C".into(),
        recipient: "254708374149".into(),
        amount: money(100_000, "KES"),
        remarks: "Corridor transfer".into(),
        result_url: harness.url("/b2c/result"),
        timeout_url: harness.url("/b2c/timeout"),
    };
    let request =
        b2c::request(&harness.mpesa, &token, &harness.credential(), &payout).expect("a request");
    assert!(b2c::parse(&harness.mpesa, &harness.send(request).await, &payout).is_ok());
    let body = harness.results("/b2c/result", 1).await.remove(0);
    let receipt = match &result_events(body.as_bytes(), ResultKind::B2c).expect("events")[..] {
        [Event::PayOutSucceeded(receipt)] => receipt.provider_transaction_id.clone(),
        other => panic!("{other:?}"),
    };
    reverse(&harness, &receipt, 100_000, "/reversal/b2c").await;
    let result = harness.results("/reversal/b2c", 1).await.remove(0);
    assert!(matches!(
        reversal::result(result.as_bytes()).expect("a result").outcome,
        ReversalOutcome::Failed(failure) if failure.code == "R000002" && failure.kind == FailureKind::Failed
    ));
}

#[tokio::test]
async fn a_malformed_envelope_is_a_soap_fault_and_a_wrong_password_is_refused() {
    let harness = start(C2bForm::Soap).await;
    let settings = crate::faults::lock(&harness.organisation).settings.clone();
    let mut request = register::soap_request(
        &settings,
        &Urls {
            validation_url: "http://127.0.0.1:9/v",
            confirmation_url: "http://127.0.0.1:9/c",
        },
        "600984_Corridor_2",
        0,
    )
    .expect("a request");
    let mut broken = request.clone();
    broken.body = b"<soapenv:Envelope><soapenv:Body><req:RequestMsg>".to_vec();
    let fault = harness.send(broken).await;
    assert_eq!(fault.status, 500);
    let failure = register::soap_parse(&fault).expect_err("a fault");
    assert_eq!(
        (failure.code.as_str(), failure.kind),
        ("soap-client-fault", FailureKind::Failed)
    );
    let mut forger = settings.clone();
    if let Some(sp) = forger.sp.as_mut() {
        sp.sp_password = "guessed".into();
    }
    request = register::soap_request(
        &forger,
        &Urls {
            validation_url: "http://127.0.0.1:9/v",
            confirmation_url: "http://127.0.0.1:9/c",
        },
        "600984_Corridor_3",
        0,
    )
    .expect("a request");
    let refused = register::soap_parse(&harness.send(request).await).expect_err("refused");
    assert_eq!(refused.code, "100000007");
}

#[tokio::test]
async fn darajas_simulate_lets_its_public_test_number_pay_without_funds() {
    let harness = start(C2bForm::DarajaV2).await;
    register(&harness, ResponseType::Completed).await;
    let token = harness.token().await;
    let simulate = serde_json::json!({ "ShortCode": 600984, "CommandID": "CustomerPayBillOnline", "Amount": 5, "Msisdn": 254708374149u64, "BillRefNumber": "Test" });
    let answer = harness
        .send(
            corridor_connector_kit::bindings::corridor::connector::http::Request {
                method: corridor_connector_kit::bindings::corridor::connector::http::Method::Post,
                url: format!("{}/mpesa/c2b/v2/simulate", harness.sandbox.mpesa_url),
                headers: vec![
                    ("authorization".into(), format!("Bearer {token}")),
                    ("content-type".into(), "application/json".into()),
                ],
                body: simulate.to_string().into_bytes(),
                timeout_ms: None,
            },
        )
        .await;
    assert_eq!(answer.status, 200);
    let confirmed = harness.confirmations(1).await.remove(0);
    assert_eq!(confirmed.msisdn, "2547 ***** 149");
    assert_eq!(confirmed.amount_cents, 500);
    assert_eq!(
        harness.sandbox.mpesa_balances().customers["254708374149"],
        -500
    );
}
