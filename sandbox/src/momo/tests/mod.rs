//! The MoMo simulator over loopback HTTP, as a connector meets it.

mod harness;
mod rail;

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::faults::{CallbackFaults, EndpointFaults, FaultPlan, InjectedError};
use harness::{SUBSCRIPTION, USER, body, parse, start, uuid};

#[tokio::test]
async fn provisioning_makes_a_user_whose_key_gets_a_token_and_a_new_key_revokes_it() {
    let harness = start(|_| {}).await;
    let user = uuid(7);
    let create = || {
        harness
            .client
            .post(harness.url("/v1_0/apiuser"))
            .header("X-Reference-Id", &user)
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION)
            .header("content-type", "application/json")
            .body(json!({ "providerCallbackHost": "clinic.com" }).to_string())
            .send()
    };
    let created = create().await.expect("create");
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(
        created.text().await.expect("body"),
        "",
        "201 has an empty body"
    );
    assert_eq!(create().await.expect("again").status().as_u16(), 409);
    let read: Value = harness
        .client
        .get(harness.url(&format!("/v1_0/apiuser/{user}")))
        .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION)
        .send()
        .await
        .expect("read")
        .text()
        .await
        .map(|text| parse(&text))
        .expect("json");
    assert_eq!(
        read,
        json!({ "providerCallbackHost": "clinic.com", "targetEnvironment": "sandbox" })
    );
    let new_key = || {
        harness
            .client
            .post(harness.url(&format!("/v1_0/apiuser/{user}/apikey")))
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION)
            .send()
    };
    let first = new_key().await.expect("key");
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.text().await.map(|text| parse(&text)).expect("json");
    let first = first["apiKey"].as_str().expect("apiKey").to_string();
    assert_eq!(first.len(), 32);
    let token: Value = harness
        .token_for(&user, &first)
        .await
        .text()
        .await
        .map(|text| parse(&text))
        .expect("json");
    assert_eq!(
        (token["token_type"].clone(), token["expires_in"].clone()),
        (json!("access_token"), json!(3600))
    );
    let token = token["access_token"].as_str().expect("token").to_string();
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    assert!(String::from_utf8_lossy(&claims).contains(&user));
    let balance = |token: String| {
        let request = harness
            .client
            .get(harness.url("/disbursement/v1_0/account/balance"))
            .bearer_auth(token)
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION)
            .header("X-Target-Environment", "sandbox");
        async move { request.send().await.expect("balance").status().as_u16() }
    };
    assert_eq!(balance(token.clone()).await, 200);
    let second: Value = new_key()
        .await
        .expect("key")
        .text()
        .await
        .map(|text| parse(&text))
        .expect("json");
    assert_ne!(second["apiKey"].as_str(), Some(first.as_str()));
    assert_eq!(
        balance(token).await,
        401,
        "a new key revokes the user's tokens"
    );
    assert_eq!(
        harness.token_for(&user, &first).await.status().as_u16(),
        401
    );
}

#[tokio::test]
async fn a_token_expires_and_a_wrong_subscription_key_meets_the_gateways_401() {
    let harness = start(|config| config.momo.token_ttl_s = 1).await;
    let token = harness.token().await;
    assert_eq!(
        harness
            .get(&token, "/disbursement/v1_0/account/balance")
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = harness
        .get(&token, "/disbursement/v1_0/account/balance")
        .await;
    assert_eq!(status, 401, "an expired token is refused: {body}");
    assert_eq!(
        harness.token_for(USER, "wrong").await.status().as_u16(),
        401
    );
    let refused = harness
        .client
        .post(harness.url("/disbursement/token/"))
        .header("Ocp-Apim-Subscription-Key", "a-collection-key")
        .send()
        .await
        .expect("token call");
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.text().await.map(|text| parse(&text)).expect("json");
    assert_eq!(body["statusCode"], 401);
    assert!(body["message"].as_str().is_some_and(|message| {
        message.starts_with("Access denied due to invalid subscription key")
    }));
}

/// Extra headers, the body, the HTTP status and MoMo's code expected.
type Case = (
    Vec<(&'static str, &'static str)>,
    Value,
    u16,
    Option<&'static str>,
);

#[tokio::test]
async fn each_required_header_and_field_is_checked_with_the_published_error() {
    let harness = start(|_| {}).await;
    let token = harness.token().await;
    let good = body("256772123456", "5000", "UGX");
    let cases: Vec<Case> = vec![
        (vec![("X-Target-Environment", "")], good.clone(), 400, None),
        (
            vec![("X-Target-Environment", "mtnghana")],
            good.clone(),
            500,
            Some("NOT_ALLOWED_TARGET_ENVIRONMENT"),
        ),
        (
            vec![("X-Reference-Id", "not-a-uuid")],
            good.clone(),
            400,
            None,
        ),
        (
            vec![("X-Reference-Id", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")],
            good.clone(),
            400,
            None,
        ),
        (
            vec![],
            body("256772123456", "5000", "EUR"),
            500,
            Some("INVALID_CURRENCY"),
        ),
        (
            vec![("X-Callback-Url", "http://elsewhere.example/cb")],
            good.clone(),
            500,
            Some("INVALID_CALLBACK_URL_HOST"),
        ),
        (vec![], body("256772123456", "50.5", "UGX"), 400, None),
        (vec![], body("+256772123456", "5000", "UGX"), 400, None),
        (
            vec![],
            {
                let mut long = good.clone();
                long["payeeNote"] = json!("x".repeat(161));
                long
            },
            400,
            None,
        ),
        (
            vec![],
            {
                let mut quote = good.clone();
                quote["payerMessage"] = json!("Mama's");
                quote
            },
            400,
            None,
        ),
        (
            vec![("Authorization", "Bearer nonsense")],
            good.clone(),
            401,
            None,
        ),
    ];
    for (n, (headers, body, status, code)) in cases.into_iter().enumerate() {
        let id = uuid(u8::try_from(n).expect("few cases"));
        let (answered, reply) = harness.transfer(&token, &id, body, &headers).await;
        assert_eq!(answered, status, "case {n}: {reply}");
        if let Some(code) = code {
            assert_eq!(reply["code"], code, "case {n}");
        }
    }
    assert!(
        harness.sandbox.momo_transfers().is_empty(),
        "no refused request became a transfer"
    );
}

#[tokio::test]
async fn a_transfer_is_202_then_pending_then_successful_by_one_put_callback_and_moves_the_money() {
    let harness = start(|config| config.momo.result_delay_ms = Some(1500)).await;
    let token = harness.token().await;
    let before = harness.sandbox.momo_balances();
    let id = uuid(1);
    let (status, reply) = harness
        .transfer(&token, &id, body("256772123456", "37000", "UGX"), &[])
        .await;
    assert_eq!((status, reply), (202, json!("")), "202 with an empty body");
    let (_, pending) = harness
        .get(&token, &format!("/disbursement/v1_0/transfer/{id}"))
        .await;
    assert_eq!(pending["status"], "PENDING");
    let decided = harness.decided(&token, &id).await;
    assert_eq!(decided["status"], "SUCCESSFUL");
    assert_eq!(decided["amount"], "37000");
    assert_eq!(decided["externalId"], "COR-1");
    assert!(decided["financialTransactionId"].is_string());
    let callbacks = harness.callbacks_for(&id, 1).await;
    assert_eq!(callbacks.len(), 1, "sent once");
    assert_eq!(callbacks[0].0, "PUT");
    let claimed: Value = serde_json::from_str(&callbacks[0].2).expect("json");
    assert_eq!(
        claimed, decided,
        "the callback's body is the status resource"
    );
    let after = harness.sandbox.momo_balances();
    assert_eq!(
        after.disbursement["UGX"],
        before.disbursement["UGX"] - 37_000
    );
    assert_eq!(after.payees["256772123456"]["UGX"], 37_000);
    let (missing, _) = harness
        .get(&token, &format!("/disbursement/v1_0/transfer/{}", uuid(99)))
        .await;
    assert_eq!(missing, 404);
}

#[tokio::test]
async fn a_reused_reference_id_is_409_and_never_a_second_payment() {
    let harness = start(|_| {}).await;
    let token = harness.token().await;
    let id = uuid(2);
    assert_eq!(
        harness
            .transfer(&token, &id, body("256772123456", "1000", "UGX"), &[])
            .await
            .0,
        202
    );
    let (status, reply) = harness
        .transfer(&token, &id, body("256772123456", "9000", "UGX"), &[])
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        reply,
        json!({ "message": "Duplicated reference id. Creation of resource failed.", "code": "RESOURCE_ALREADY_EXIST" })
    );
    assert_eq!(
        harness.decided(&token, &id).await["amount"],
        "1000",
        "the first request stands"
    );
    assert_eq!(harness.sandbox.momo_transfers().len(), 1);
    assert_eq!(
        harness.sandbox.momo_balances().payees["256772123456"]["UGX"],
        1000
    );
}

#[tokio::test]
async fn the_test_numbers_fail_with_their_reasons_stay_pending_or_succeed_late() {
    let harness = start(|config| config.momo.delayed_success_ms = Some(300)).await;
    let token = harness.token().await;
    let before = harness.sandbox.momo_balances();
    let expected = [
        ("46733123450", "FAILED", Some("INTERNAL_PROCESSING_ERROR")),
        ("46733123451", "FAILED", Some("APPROVAL_REJECTED")),
        ("46733123452", "FAILED", Some("EXPIRED")),
        ("46733123454", "SUCCESSFUL", None),
        ("256770000001", "FAILED", Some("PAYEE_NOT_FOUND")),
        (
            "256770000002",
            "FAILED",
            Some("PAYEE_NOT_ALLOWED_TO_RECEIVE"),
        ),
        ("256770000003", "FAILED", Some("NOT_ALLOWED")),
        ("256770000004", "FAILED", Some("NOT_ENOUGH_FUNDS")),
        ("256770000005", "FAILED", Some("SERVICE_UNAVAILABLE")),
        ("256770000006", "FAILED", Some("INTERNAL_PROCESSING_ERROR")),
    ];
    for (n, (msisdn, _, _)) in expected.iter().enumerate() {
        let id = uuid(10 + u8::try_from(n).expect("few"));
        assert_eq!(
            harness
                .transfer(&token, &id, body(msisdn, "100", "UGX"), &[])
                .await
                .0,
            202
        );
    }
    let stuck = uuid(60);
    assert_eq!(
        harness
            .transfer(&token, &stuck, body("46733123453", "100", "UGX"), &[])
            .await
            .0,
        202
    );
    for (n, (msisdn, status, reason)) in expected.iter().enumerate() {
        let id = uuid(10 + u8::try_from(n).expect("few"));
        let decided = harness.decided(&token, &id).await;
        assert_eq!(decided["status"], *status, "{msisdn}");
        assert_eq!(
            decided["reason"].as_str(),
            *reason,
            "{msisdn}: a bare string"
        );
        if *status == "FAILED" {
            assert!(decided["financialTransactionId"].is_null(), "{msisdn}");
            harness.callbacks_for(&id, 1).await;
        }
    }
    let (_, still) = harness
        .get(&token, &format!("/disbursement/v1_0/transfer/{stuck}"))
        .await;
    assert_eq!(still["status"], "PENDING", "46733123453 never settles");
    let after = harness.sandbox.momo_balances();
    assert_eq!(
        after.disbursement["UGX"],
        before.disbursement["UGX"] - 100,
        "only 46733123454 was paid"
    );
}

#[tokio::test]
async fn an_empty_disbursement_account_fails_not_enough_funds_and_the_documented_object_reason_is_an_option()
 {
    let harness = start(|config| {
        config
            .momo
            .disbursement_balances
            .insert("UGX".into(), "500".into());
        config.momo.reason_as_object = true;
    })
    .await;
    let token = harness.token().await;
    let id = uuid(3);
    assert_eq!(
        harness
            .transfer(&token, &id, body("256772123456", "501", "UGX"), &[])
            .await
            .0,
        202
    );
    let decided = harness.decided(&token, &id).await;
    assert_eq!(decided["status"], "FAILED");
    assert_eq!(decided["reason"]["code"], "NOT_ENOUGH_FUNDS");
    assert_eq!(
        harness.sandbox.momo_balances().disbursement["UGX"],
        500,
        "nothing moved"
    );
}

#[tokio::test]
async fn the_balance_and_the_account_holder_check_answer_as_documented() {
    let harness = start(|_| {}).await;
    let token = harness.token().await;
    let (status, balance) = harness
        .get(&token, "/disbursement/v1_0/account/balance")
        .await;
    assert_eq!(
        (status, balance),
        (
            200,
            json!({ "availableBalance": "1000000000", "currency": "UGX" })
        )
    );
    for (kind, msisdn, active) in [
        ("msisdn", "256772123456", true),
        ("MSISDN", "256772123456", true),
        ("msisdn", "256770000001", false),
    ] {
        let (status, answer) = harness
            .get(
                &token,
                &format!("/disbursement/v1_0/accountholder/{kind}/{msisdn}/active"),
            )
            .await;
        assert_eq!(
            (status, answer),
            (200, json!({ "result": active })),
            "{kind} {msisdn}"
        );
    }
    let (status, _) = harness
        .get(
            &token,
            "/disbursement/v1_0/accountholder/msisdn/not-a-number/active",
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_fault_knobs_refuse_calls_and_drop_or_duplicate_callbacks() {
    let harness = start(|_| {}).await;
    let token = harness.token().await;
    let mut plan = FaultPlan::default();
    plan.endpoints.insert(
        "momo.transfer".into(),
        EndpointFaults {
            error_percent: 100,
            error: InjectedError::Busy,
            ..Default::default()
        },
    );
    harness.sandbox.set_faults(plan);
    let (status, reply) = harness
        .transfer(&token, &uuid(4), body("256772123456", "100", "UGX"), &[])
        .await;
    assert_eq!(
        (status, reply["code"].clone()),
        (503, json!("SERVICE_UNAVAILABLE"))
    );
    assert!(harness.sandbox.momo_transfers().is_empty());

    let mut plan = FaultPlan::default();
    plan.callbacks.insert(
        "momo".into(),
        CallbackFaults {
            duplicate_percent: 100,
            ..Default::default()
        },
    );
    harness.sandbox.set_faults(plan);
    let twice = uuid(5);
    assert_eq!(
        harness
            .transfer(&token, &twice, body("256772123456", "100", "UGX"), &[])
            .await
            .0,
        202
    );
    assert_eq!(harness.callbacks_for(&twice, 2).await.len(), 2);

    let mut plan = FaultPlan::default();
    plan.callbacks.insert(
        "momo".into(),
        CallbackFaults {
            drop_percent: 100,
            ..Default::default()
        },
    );
    harness.sandbox.set_faults(plan);
    let silent = uuid(6);
    assert_eq!(
        harness
            .transfer(&token, &silent, body("256772123456", "100", "UGX"), &[])
            .await
            .0,
        202
    );
    assert_eq!(
        harness.decided(&token, &silent).await["status"],
        "SUCCESSFUL",
        "decided, only never told"
    );
    let sent: Vec<_> = harness
        .sandbox
        .journal(Some("momo"))
        .into_iter()
        .filter(|entry| entry.target.ends_with(&silent) && entry.target.starts_with("PUT"))
        .collect();
    assert!(sent.is_empty(), "{sent:?}");
    assert!(
        harness
            .sandbox
            .journal(Some("momo"))
            .iter()
            .any(|entry| entry.target == "POST /disbursement/v1_0/transfer")
    );
}
