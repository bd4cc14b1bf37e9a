//! Fault knobs, the queue timeout, and the rest of Daraja (Reversal, C2B, STK),
//! plus the ledger, FX rates and the control API.

use std::time::Duration;

use base64::Engine as _;
use corridor_sandbox::faults::{CallbackFaults, EndpointFaults, FaultPlan, InjectedError};
use corridor_tests::CallbackSink;
use serde_json::{Value, json};

use crate::sandbox_mpesa::{
    WAIT, b2c_body, client, parameter, post, sandbox, security_credential, submit_b2c, token,
};

fn plan(endpoint: Option<(&str, EndpointFaults)>, callbacks: Option<CallbackFaults>) -> FaultPlan {
    let mut plan = FaultPlan::default();
    if let Some((name, faults)) = endpoint {
        plan.endpoints.insert(name.into(), faults);
    }
    if let Some(faults) = callbacks {
        plan.callbacks.insert("mpesa".into(), faults);
    }
    plan
}

#[tokio::test]
async fn a_busy_endpoint_answers_spike_arrest_and_records_nothing() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let token = token(&client, &sandbox.mpesa_url).await;
    sandbox.set_faults(plan(
        Some((
            "mpesa.b2c",
            EndpointFaults {
                error_percent: 100,
                error: InjectedError::Busy,
                ..Default::default()
            },
        )),
        None,
    ));
    let body = b2c_body(
        "corridor-f1",
        "x",
        "254708374149",
        "10",
        "http://127.0.0.1:9",
    );
    let (status, error) = submit_b2c(&client, &sandbox, &token, &body).await;
    assert_eq!((status, &error["errorCode"]), (500, &json!("500.003.02")));
    sandbox.set_faults(FaultPlan::default());
    assert_eq!(
        submit_b2c(&client, &sandbox, &token, &body).await.0,
        200,
        "the id was not used"
    );
}

#[tokio::test]
async fn dropped_and_duplicated_results_are_what_the_plan_says() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let url = format!("{}/mpesa/b2c/v3/paymentrequest", sandbox.mpesa_url);

    sandbox.set_faults(plan(
        None,
        Some(CallbackFaults {
            drop_percent: 100,
            ..Default::default()
        }),
    ));
    post(
        &client,
        url.clone(),
        &token,
        &b2c_body(
            "corridor-f2-a",
            &credential,
            "254708374149",
            "10",
            &sink.url,
        ),
    )
    .await;
    assert!(
        sink.next(Duration::from_millis(500)).await.is_none(),
        "dropped"
    );
    assert_eq!(
        sandbox.mpesa_balances().customers["254708374149"],
        1000,
        "but paid: only the callback was lost"
    );

    sandbox.set_faults(plan(
        None,
        Some(CallbackFaults {
            duplicate_percent: 100,
            ..Default::default()
        }),
    ));
    post(
        &client,
        url,
        &token,
        &b2c_body(
            "corridor-f2-b",
            &credential,
            "254708374149",
            "10",
            &sink.url,
        ),
    )
    .await;
    let first = sink.next(WAIT).await.expect("first copy");
    let second = sink.next(WAIT).await.expect("second copy");
    assert_eq!(first.body, second.body);
    assert_eq!(
        sandbox.mpesa_balances().customers["254708374149"],
        2000,
        "paid once"
    );
}

#[tokio::test]
async fn a_queue_timeout_calls_the_timeout_url_and_status_says_expired() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let before = sandbox.mpesa_balances();
    sandbox.set_faults(plan(
        None,
        Some(CallbackFaults {
            queue_timeout_percent: 100,
            ..Default::default()
        }),
    ));
    submit_b2c(
        &client,
        &sandbox,
        &token,
        &b2c_body("corridor-f3", &credential, "254708374149", "10", &sink.url),
    )
    .await;
    let timeout = sink.next(WAIT).await.expect("the queue timeout");
    assert_eq!(timeout.path, "/timeout");
    let echo: Value = serde_json::from_str(&timeout.body).expect("json");
    assert_eq!(
        echo["OriginatorConversationID"],
        json!("corridor-f3"),
        "an echo of the request"
    );
    assert_eq!(sandbox.mpesa_balances(), before, "nothing moved");

    sandbox.set_faults(FaultPlan::default());
    let query = json!({
        "Initiator": "testapi", "SecurityCredential": credential, "CommandID": "TransactionStatusQuery",
        "OriginalConversationID": "corridor-f3", "PartyA": "600992", "IdentifierType": "4",
        "ResultURL": format!("{}/status", sink.url), "QueueTimeOutURL": format!("{}/timeout", sink.url), "Remarks": "ok",
    });
    post(
        &client,
        format!("{}/mpesa/transactionstatus/v1/query", sandbox.mpesa_url),
        &token,
        &query,
    )
    .await;
    let status: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("status").body).expect("json");
    assert_eq!(
        parameter(&status, "TransactionStatus"),
        Some(&json!("Expired"))
    );
}

#[tokio::test]
async fn a_b2c_payment_cannot_be_reversed_through_the_api() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    submit_b2c(
        &client,
        &sandbox,
        &token,
        &b2c_body("corridor-f4", &credential, "254708374149", "10", &sink.url),
    )
    .await;
    let result: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("result").body).expect("json");
    let receipt = result["Result"]["TransactionID"]
        .as_str()
        .expect("receipt")
        .to_string();
    let reversal = json!({
        "Initiator": "testapi", "SecurityCredential": credential, "CommandID": "TransactionReversal",
        "TransactionID": receipt, "Amount": "10", "ReceiverParty": "600992", "RecieverIdentifierType": "11",
        "ResultURL": format!("{}/reversal", sink.url), "QueueTimeOutURL": format!("{}/timeout", sink.url), "Remarks": "undo",
    });
    assert_eq!(
        post(
            &client,
            format!("{}/mpesa/reversal/v1/request", sandbox.mpesa_url),
            &token,
            &reversal
        )
        .await
        .0,
        200
    );
    let answer: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("reversal result").body).expect("json");
    assert_eq!(answer["Result"]["ResultCode"], json!("R000002"));
    assert_eq!(
        sandbox.mpesa_balances().customers["254708374149"],
        1000,
        "still paid"
    );
}

#[tokio::test]
async fn c2b_validates_then_confirms_with_a_masked_msisdn() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("{\"ResultCode\":\"0\",\"ResultDesc\":\"Accepted\"}").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let register = json!({ "ShortCode": "600984", "ResponseType": "Completed", "ConfirmationURL": format!("{}/confirm", sink.url), "ValidationURL": format!("{}/validate", sink.url) });
    let (status, ack) = post(
        &client,
        format!("{}/mpesa/c2b/v2/registerurl", sandbox.mpesa_url),
        &token,
        &register,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        ack.get("OriginatorCoversationID").is_some(),
        "the real, misspelt field: {ack}"
    );
    let simulate = json!({ "ShortCode": 600984, "CommandID": "CustomerPayBillOnline", "Amount": 5, "Msisdn": 254708374149u64, "BillRefNumber": "Test" });
    assert_eq!(
        post(
            &client,
            format!("{}/mpesa/c2b/v2/simulate", sandbox.mpesa_url),
            &token,
            &simulate
        )
        .await
        .0,
        200
    );
    let validation = sink.next(WAIT).await.expect("validation");
    assert_eq!(validation.path, "/validate");
    let confirmation = sink.next(WAIT).await.expect("confirmation");
    assert_eq!(confirmation.path, "/confirm");
    let payload: Value = serde_json::from_str(&confirmation.body).expect("json");
    assert_eq!(payload["MSISDN"], json!("2547 ***** 149"));
    assert_eq!(payload["TransAmount"], json!("5.00"));
}

#[tokio::test]
async fn stk_push_checks_its_password_and_the_query_is_pending_until_the_customer_acts() {
    let sandbox = sandbox(|config| config.mpesa.result_delay_ms = Some(400)).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let timestamp = "20260101120000";
    let password = base64::engine::general_purpose::STANDARD.encode(format!(
        "174379bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919{timestamp}"
    ));
    let mut push = json!({
        "BusinessShortCode": 174379, "Password": password, "Timestamp": timestamp, "TransactionType": "CustomerPayBillOnline",
        "Amount": "1", "PartyA": "254722000000", "PartyB": "174379", "PhoneNumber": "254722000000",
        "CallBackURL": format!("{}/stk", sink.url), "AccountReference": "ref", "TransactionDesc": "desc",
    });
    let (status, ack) = post(
        &client,
        format!("{}/mpesa/stkpush/v1/processrequest", sandbox.mpesa_url),
        &token,
        &push,
    )
    .await;
    assert_eq!(status, 200, "{ack}");
    let query = json!({ "BusinessShortCode": 174379, "Password": password, "Timestamp": timestamp, "CheckoutRequestID": ack["CheckoutRequestID"] });
    let (status, pending) = post(
        &client,
        format!("{}/mpesa/stkpushquery/v1/query", sandbox.mpesa_url),
        &token,
        &query,
    )
    .await;
    assert_eq!(
        (status, &pending["errorCode"]),
        (500, &json!("500.001.1001")),
        "still being processed"
    );
    let callback: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("stk callback").body).expect("json");
    assert_eq!(callback["Body"]["stkCallback"]["ResultCode"], json!(0));
    let (_, done) = post(
        &client,
        format!("{}/mpesa/stkpushquery/v1/query", sandbox.mpesa_url),
        &token,
        &query,
    )
    .await;
    assert_eq!(done["ResultCode"], json!("0"), "a string in the query");
    push["Password"] = json!("d3Jvbmc=");
    let (status, wrong) = post(
        &client,
        format!("{}/mpesa/stkpush/v1/processrequest", sandbox.mpesa_url),
        &token,
        &push,
    )
    .await;
    assert_eq!((status, &wrong["errorCode"]), (500, &json!("500.001.1001")));
}

#[tokio::test]
async fn the_ledger_registers_once_per_reference_and_fx_rates_change_through_control() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let register =
        |reference: &str| json!({ "reference": reference, "facts": { "out_trade_no": "COR-1" } });
    let first: Value = client
        .post(format!("{}/ledger/register", sandbox.ledger_url))
        .json(&register("T-1"))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let again: Value = client
        .post(format!("{}/ledger/register", sandbox.ledger_url))
        .json(&register("T-1"))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    assert_eq!(first["ledger_id"], again["ledger_id"]);
    let id = first["ledger_id"].as_str().expect("id");
    let check: Value = client
        .get(format!("{}/ledger/check/{id}", sandbox.ledger_url))
        .send()
        .await
        .expect("check")
        .json()
        .await
        .expect("json");
    assert_eq!(check["status"], json!("confirmed"));
    assert_eq!(sandbox.ledger_records().len(), 1);
    let bad = client
        .post(format!("{}/ledger/register", sandbox.ledger_url))
        .body("{\"nope\":1}")
        .send()
        .await
        .expect("register");
    assert_eq!(bad.status(), 400);

    let rates: Value = client
        .get(format!("{}/v1/rates?base=USD", sandbox.fx_url))
        .send()
        .await
        .expect("rates")
        .json()
        .await
        .expect("json");
    assert_eq!(rates["rates"]["CNY"], json!("6.5943"));
    let changed = client
        .put(format!("{}/control/fx", sandbox.control_url))
        .body(r#"{"USD/KES": "101.25", "USD/CNY": "6.6"}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(changed.status(), 200);
    let rates: Value = client
        .get(format!("{}/v1/rates?base=USD", sandbox.fx_url))
        .send()
        .await
        .expect("rates")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (rates["rates"]["KES"].as_str(), rates["version"].as_u64()),
        (Some("101.25"), Some(2))
    );
    let refused = client
        .put(format!("{}/control/fx", sandbox.control_url))
        .body(r#"{"USD/KES": "1.2.3"}"#)
        .send()
        .await
        .expect("put");
    assert_eq!(refused.status(), 400);
    let journal: Value = client
        .get(format!(
            "{}/control/journal?service=ledger",
            sandbox.control_url
        ))
        .send()
        .await
        .expect("journal")
        .json()
        .await
        .expect("json");
    assert_eq!(
        journal.as_array().map(Vec::len),
        Some(2),
        "both registrations were received"
    );
    assert!(sandbox.describe().contains("/gateway.do"));
}

#[tokio::test]
async fn account_balance_reports_the_accounts_in_darajas_pipe_format() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let query = json!({
        "Initiator": "testapi", "SecurityCredential": credential, "CommandID": "AccountBalance", "PartyA": "600992",
        "IdentifierType": "4", "Remarks": "ok", "QueueTimeOutURL": format!("{}/timeout", sink.url), "ResultURL": format!("{}/balance", sink.url),
    });
    assert_eq!(
        post(
            &client,
            format!("{}/mpesa/accountbalance/v1/query", sandbox.mpesa_url),
            &token,
            &query
        )
        .await
        .0,
        200
    );
    let result: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("balance result").body).expect("json");
    assert_eq!(
        result["Result"]["ResultCode"],
        json!("0"),
        "a string in this API"
    );
    let summary = parameter(&result, "AccountBalance")
        .and_then(Value::as_str)
        .expect("summary");
    assert!(
        summary.contains("Utility Account|KES|10000000.00|10000000.00|0.00|0.00"),
        "{summary}"
    );
    assert_eq!(summary.split('&').count(), 5);
}
