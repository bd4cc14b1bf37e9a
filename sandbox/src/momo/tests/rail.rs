//! The MoMo rail (`corridor-rail-momo`) against the simulator: the requests
//! it builds are the ones the simulator accepts, and it reads every answer.

use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    FailureKind, PayOutRequest, PayOutStarted, PayOutStatus,
};
use corridor_connector_kit::money::money;
use corridor_rail_momo::{MomoSettings, Rejection, account, callback, status, token, transfer};

use super::harness::{Harness, KEY, SUBSCRIPTION, USER, start};

/// Sends a rail request the way the host would.
async fn send(harness: &Harness, request: Request) -> Response {
    let method = match request.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Delete => reqwest::Method::DELETE,
        Method::Patch => reqwest::Method::PATCH,
        Method::Head => reqwest::Method::HEAD,
    };
    let mut builder = harness
        .client
        .request(method, &request.url)
        .body(request.body);
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let answer = builder.send().await.expect("the simulator answers");
    Response {
        status: answer.status().as_u16(),
        headers: vec![],
        body: answer.bytes().await.expect("body").to_vec(),
    }
}

fn settings(harness: &Harness) -> MomoSettings {
    MomoSettings {
        base_url: harness.sandbox.momo_url.clone(),
        subscription_key: SUBSCRIPTION.into(),
        api_user: USER.into(),
        api_key: KEY.into(),
        target_environment: "mtnuganda".into(),
        callback_host: "127.0.0.1".into(),
    }
}

fn payout(harness: &Harness, reference: &str, recipient: &str) -> PayOutRequest {
    PayOutRequest {
        transfer_id: "t1".into(),
        reference: reference.into(),
        recipient: recipient.into(),
        amount: money(37_000, "UGX"),
        remarks: "Rent for Mama's shop".into(),
        result_url: format!(
            "{}/callbacks/mpesa-momo/pay-out/t1/{reference}",
            harness.callback_base
        ),
        timeout_url: format!(
            "{}/callbacks/mpesa-momo/pay-out-timeout/t1/x",
            harness.callback_base
        ),
    }
}

/// Queries until the rail reports something other than `pending` (bounded).
async fn settled(
    harness: &Harness,
    settings: &MomoSettings,
    bearer: &str,
    reference: &str,
) -> PayOutStatus {
    for _ in 0..200 {
        let answer = send(harness, status::request(settings, bearer, reference)).await;
        match status::parse(&answer).expect("a status") {
            status::Answer::Found(result) => match status::to_pay_out_status(&result, reference) {
                PayOutStatus::Pending => {}
                decided => return decided,
            },
            status::Answer::NotFound => panic!("{reference} is unknown"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{reference} never settled");
}

#[tokio::test]
async fn the_rail_pays_once_reads_the_callback_as_evidence_and_confirms_by_status() {
    let harness = start(|_| {}).await;
    let settings = settings(&harness);
    let bearer =
        token::parse(&send(&harness, token::request(&settings)).await, 0).expect("a token");
    let bearer = bearer.access_token;
    let holder = send(
        &harness,
        account::holder_request(&settings, &bearer, "256772123456"),
    )
    .await;
    assert!(account::holder_parse(&holder).expect("an answer"));
    let paying = payout(&harness, "COR-t1-MOMO", "256772123456");
    let request = transfer::request(&settings, &bearer, &paying).expect("a request");
    let first = send(&harness, request.clone()).await;
    assert!(matches!(
        transfer::parse(&first, &paying),
        Ok(PayOutStarted::Accepted(_))
    ));
    let retry = send(
        &harness,
        transfer::request(&settings, &bearer, &paying).expect("again"),
    )
    .await;
    assert!(
        matches!(transfer::parse(&retry, &paying), Err(Rejection::Failed(failure)) if failure.kind == FailureKind::Unknown),
        "a retry is the same X-Reference-Id: 409, never a second payment"
    );
    let PayOutStatus::Succeeded(receipt) =
        settled(&harness, &settings, &bearer, "COR-t1-MOMO").await
    else {
        panic!("the transfer succeeds");
    };
    assert_eq!(
        (
            receipt.amount.amount_minor,
            receipt.amount.currency.as_str()
        ),
        (37_000, "UGX")
    );
    assert_eq!(receipt.recipient, "256772123456");
    let received = harness.callbacks_for("COR-t1-MOMO", 1).await;
    let evidence = callback::parse(received[0].2.as_bytes()).expect("evidence");
    assert!(evidence.names("COR-t1-MOMO"));
    assert_eq!(harness.sandbox.momo_transfers().len(), 1);
    let balance = send(&harness, account::balance_request(&settings, &bearer)).await;
    let balance = account::balance_parse(&balance).expect("a balance");
    assert_eq!(
        (balance.amount_minor, balance.currency.as_str()),
        (1_000_000_000 - 37_000, "UGX")
    );
}

#[tokio::test]
async fn the_rail_reads_each_failure_reason_as_a_definitive_failure() {
    let harness = start(|_| {}).await;
    let settings = settings(&harness);
    let bearer =
        token::parse(&send(&harness, token::request(&settings)).await, 0).expect("a token");
    for (msisdn, reason) in [
        ("256770000001", "PAYEE_NOT_FOUND"),
        ("256770000002", "PAYEE_NOT_ALLOWED_TO_RECEIVE"),
        ("256770000003", "NOT_ALLOWED"),
        ("46733123451", "APPROVAL_REJECTED"),
        ("46733123452", "EXPIRED"),
    ] {
        let reference = format!("COR-{msisdn}");
        let paying = payout(&harness, &reference, msisdn);
        let sent = send(
            &harness,
            transfer::request(&settings, &bearer.access_token, &paying).expect("request"),
        )
        .await;
        assert!(transfer::parse(&sent, &paying).is_ok(), "{msisdn}: 202");
        let PayOutStatus::Failed(failure) =
            settled(&harness, &settings, &bearer.access_token, &reference).await
        else {
            panic!("{msisdn} fails");
        };
        assert_eq!(
            (failure.kind, failure.code.as_str()),
            (FailureKind::Failed, reason),
            "{msisdn}"
        );
    }
    let unknown = send(
        &harness,
        status::request(&settings, &bearer.access_token, "COR-never-sent"),
    )
    .await;
    assert_eq!(
        status::parse(&unknown).expect("an answer"),
        status::Answer::NotFound
    );
}
