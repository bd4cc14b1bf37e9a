//! The Alipay mapi simulator, driven over HTTP by signing code written here
//! from the protocol notes (sorted k=v without sign/sign_type/empty values;
//! MD5 with the key appended; SHA1withRSA; SHA256withRSA).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};
use corridor_tests::{CallbackSink, root};
use md5::{Digest, Md5};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};

const PARTNER: &str = "2088101122136241";
const MD5_KEY: &str = "760bdzec6y9goq7ctyx96ezkz78287de";
const BUYER: &str = "alipaytest20091@gmail.com";
const WAIT: Duration = Duration::from_secs(10);

async fn sandbox() -> Sandbox {
    let config = SandboxConfig {
        profile: Profile::Zero,
        time_compression: 100_000,
        ..SandboxConfig::default()
    };
    Sandbox::start(config).await.expect("the sandbox starts")
}

fn content(params: &BTreeMap<String, String>) -> String {
    let mut pairs: Vec<(&String, &String)> = params
        .iter()
        .filter(|(key, value)| *key != "sign" && *key != "sign_type" && !value.is_empty())
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn sign(params: &mut BTreeMap<String, String>, sign_type: &str) {
    let text = content(params);
    let merchant_key = || {
        let pem = std::fs::read_to_string(root().join("sandbox/keys/merchant_private.pem"))
            .expect("merchant key");
        rsa::RsaPrivateKey::from_pkcs8_pem(&pem).expect("pkcs8")
    };
    let signature = match sign_type {
        "MD5" => hex::encode(Md5::digest(format!("{text}{MD5_KEY}"))),
        "RSA" => base64::engine::general_purpose::STANDARD.encode(
            SigningKey::<sha1::Sha1>::new(merchant_key())
                .sign(text.as_bytes())
                .to_bytes(),
        ),
        _ => base64::engine::general_purpose::STANDARD.encode(
            SigningKey::<sha2::Sha256>::new(merchant_key())
                .sign(text.as_bytes())
                .to_bytes(),
        ),
    };
    params.insert("sign".into(), signature);
    params.insert("sign_type".into(), sign_type.into());
}

fn alipay_signature_is_valid(params: &BTreeMap<String, String>) -> bool {
    let text = content(params);
    let sign = &params["sign"];
    match params["sign_type"].as_str() {
        "MD5" => *sign == hex::encode(Md5::digest(format!("{text}{MD5_KEY}"))),
        sign_type => {
            let pem = std::fs::read_to_string(root().join("sandbox/keys/alipay_public.pem"))
                .expect("alipay key");
            let key = rsa::RsaPublicKey::from_public_key_pem(&pem).expect("spki");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(sign)
                .expect("base64");
            let signature = Signature::try_from(bytes.as_slice()).expect("signature");
            match sign_type {
                "RSA" => VerifyingKey::<sha1::Sha1>::new(key)
                    .verify(text.as_bytes(), &signature)
                    .is_ok(),
                _ => VerifyingKey::<sha2::Sha256>::new(key)
                    .verify(text.as_bytes(), &signature)
                    .is_ok(),
            }
        }
    }
}

fn order(out_trade_no: &str, notify_url: &str, sign_type: &str) -> BTreeMap<String, String> {
    let mut params: BTreeMap<String, String> = [
        ("service", "create_forex_trade_wap"),
        ("partner", PARTNER),
        ("_input_charset", "utf-8"),
        ("notify_url", notify_url),
        ("out_trade_no", out_trade_no),
        ("subject", "Remit to 254708374149"),
        ("currency", "USD"),
        ("total_fee", "10.00"),
        ("product_code", "NEW_WAP_OVERSEAS_SELLER"),
        ("app_pay", "Y"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    sign(&mut params, sign_type);
    params
}

async fn gateway_get(sandbox: &Sandbox, params: &BTreeMap<String, String>) -> String {
    let query = serde_urlencoded::to_string(params).expect("query");
    reqwest::get(format!("{}/gateway.do?{query}", sandbox.alipay_url))
        .await
        .expect("get")
        .text()
        .await
        .expect("text")
}

async fn gateway_post(sandbox: &Sandbox, params: &BTreeMap<String, String>) -> String {
    reqwest::Client::new()
        .post(format!("{}/gateway.do", sandbox.alipay_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(params).expect("form"))
        .send()
        .await
        .expect("post")
        .text()
        .await
        .expect("text")
}

async fn pay(sandbox: &Sandbox, out_trade_no: &str, password: &str) -> serde_json::Value {
    let body = serde_json::json!({ "partner": PARTNER, "out_trade_no": out_trade_no, "login": BUYER, "pay_password": password });
    reqwest::Client::new()
        .post(format!("{}/sandbox/pay", sandbox.alipay_url))
        .json(&body)
        .send()
        .await
        .expect("pay")
        .json()
        .await
        .expect("json")
}

fn form(body: &str) -> BTreeMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(body)
        .expect("form")
        .into_iter()
        .collect()
}

#[tokio::test]
async fn an_md5_order_is_paid_at_the_days_rate_and_notified_once_acknowledged() {
    corridor_host::init_tls();
    let sandbox = sandbox().await;
    let mut sink = CallbackSink::start("success").await;
    let page = gateway_get(
        &sandbox,
        &order("COR-1", &format!("{}/notify", sink.url), "MD5"),
    )
    .await;
    assert!(page.contains("Alipay cashier"), "{page}");
    let before = sandbox.alipay_buyer_balances()[BUYER];
    assert_eq!(
        pay(&sandbox, "COR-1", "111111").await["resultStatus"],
        "9000"
    );
    // US$10.00 at 6.5943 CNY/USD = 65.943 → 65.94 CNY.
    assert_eq!(before - sandbox.alipay_buyer_balances()[BUYER], 6594);

    let notification = form(&sink.next(WAIT).await.expect("a notification").body);
    for key in ["notify_id", "notify_time", "trade_no", "sign"] {
        assert!(!notification[key].is_empty(), "{key}");
    }
    assert_eq!(notification["notify_type"], "trade_status_sync");
    assert_eq!(notification["trade_status"], "TRADE_FINISHED");
    assert_eq!(notification["out_trade_no"], "COR-1");
    assert_eq!(
        (
            notification["total_fee"].as_str(),
            notification["currency"].as_str()
        ),
        ("10.00", "USD")
    );
    assert_eq!(notification["sign_type"], "MD5");
    assert!(
        alipay_signature_is_valid(&notification),
        "the notification verifies with the MD5 key"
    );
    let verify: BTreeMap<String, String> = [
        ("service", "notify_verify"),
        ("partner", PARTNER),
        ("notify_id", notification["notify_id"].as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect();
    assert_eq!(gateway_get(&sandbox, &verify).await, "true");
    let mut forged = verify.clone();
    forged.insert("notify_id".into(), "0".repeat(34));
    assert_eq!(gateway_get(&sandbox, &forged).await, "false");
    assert!(
        sink.next(Duration::from_millis(300)).await.is_none(),
        "acknowledged with success: not sent again"
    );
}

#[tokio::test]
async fn a_notification_not_answered_success_is_retried_and_rsa2_notifications_verify() {
    corridor_host::init_tls();
    let sandbox = sandbox().await;
    let mut sink = CallbackSink::start("SUCCESS!").await;
    gateway_post(
        &sandbox,
        &order("COR-2", &format!("{}/notify", sink.url), "RSA2"),
    )
    .await;
    assert_eq!(
        pay(&sandbox, "COR-2", "111111").await["resultStatus"],
        "9000"
    );
    let mut seen = Vec::new();
    while let Some(callback) = sink.next(Duration::from_secs(2)).await {
        seen.push(form(&callback.body));
    }
    assert_eq!(
        seen.len(),
        8,
        "the first attempt and 7 retries, none answered exactly `success`"
    );
    assert!(
        seen.iter()
            .all(|notification| notification["out_trade_no"] == "COR-2"
                && notification["sign_type"] == "RSA2")
    );
    assert!(
        seen.iter().all(alipay_signature_is_valid),
        "signed with Alipay's key, SHA256withRSA"
    );
}

#[tokio::test]
async fn bad_signatures_partners_and_arguments_are_refused_with_mapi_codes() {
    corridor_host::init_tls();
    let sandbox = sandbox().await;
    let notify = "http://127.0.0.1:9/notify";
    let mut forged = order("COR-3", notify, "RSA");
    forged.insert("total_fee".into(), "1000.00".into());
    assert!(
        gateway_get(&sandbox, &forged)
            .await
            .contains("<error>ILLEGAL_SIGN</error>")
    );
    let mut stranger = order("COR-3", notify, "MD5");
    stranger.insert("partner".into(), "2088000000000000".into());
    assert!(
        gateway_get(&sandbox, &stranger)
            .await
            .contains("<error>ILLEGAL_PARTNER</error>")
    );
    let mut both = order("COR-3", notify, "MD5");
    both.insert("rmb_fee".into(), "65.94".into());
    sign(&mut both, "MD5");
    assert!(
        gateway_get(&sandbox, &both)
            .await
            .contains("<error>ILLEGAL_ARGUMENT</error>"),
        "total_fee with rmb_fee"
    );
    let mut bad_amount = order("COR-3", notify, "MD5");
    bad_amount.insert("total_fee".into(), "10.001".into());
    sign(&mut bad_amount, "MD5");
    assert!(
        gateway_get(&sandbox, &bad_amount)
            .await
            .contains("<error>ILLEGAL_ARGUMENT</error>")
    );
    assert!(sandbox.alipay_trades().is_empty(), "nothing was created");

    assert!(
        gateway_get(&sandbox, &order("COR-3", notify, "RSA"))
            .await
            .contains("cashier"),
        "an RSA order is accepted"
    );
    assert!(
        gateway_get(&sandbox, &order("COR-3", notify, "RSA"))
            .await
            .contains("cashier"),
        "reopening the same order is the same trade"
    );
    let mut changed = order("COR-3", notify, "MD5");
    changed.insert("total_fee".into(), "20.00".into());
    sign(&mut changed, "MD5");
    assert!(
        gateway_get(&sandbox, &changed)
            .await
            .contains("DUPLICATE_OUT_TRADE_NO")
    );
    assert_eq!(
        pay(&sandbox, "COR-3", "000000").await["resultStatus"],
        "4000",
        "wrong payment password"
    );
}

#[tokio::test]
async fn single_trade_query_and_forex_refund_follow_the_trade() {
    corridor_host::init_tls();
    let sandbox = sandbox().await;
    let sink = CallbackSink::start("success").await;
    let query = |out_trade_no: &str| {
        let mut params: BTreeMap<String, String> = [
            ("service", "single_trade_query"),
            ("partner", PARTNER),
            ("_input_charset", "utf-8"),
            ("out_trade_no", out_trade_no),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        sign(&mut params, "MD5");
        params
    };
    assert!(
        gateway_post(&sandbox, &query("COR-4"))
            .await
            .contains("<error>TRADE_NOT_EXIST</error>")
    );
    gateway_get(
        &sandbox,
        &order("COR-4", &format!("{}/notify", sink.url), "MD5"),
    )
    .await;
    assert!(
        gateway_post(&sandbox, &query("COR-4"))
            .await
            .contains("<trade_status>WAIT_BUYER_PAY</trade_status>")
    );
    let before = sandbox.alipay_buyer_balances()[BUYER];
    pay(&sandbox, "COR-4", "111111").await;
    let answer = gateway_post(&sandbox, &query("COR-4")).await;
    assert!(
        answer.contains("<is_success>T</is_success>")
            && answer.contains("<trade_status>TRADE_FINISHED</trade_status>"),
        "{answer}"
    );

    let refund = |out_return_no: &str, amount: &str| {
        let mut params: BTreeMap<String, String> = [
            ("service", "forex_refund"),
            ("partner", PARTNER),
            ("_input_charset", "utf-8"),
            ("out_return_no", out_return_no),
            ("out_trade_no", "COR-4"),
            ("return_amount", amount),
            ("currency", "USD"),
            ("reason", "pay-out failed"),
            ("gmt_return", "2026-11-22 12:00:00"),
            ("is_sync", "Y"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        sign(&mut params, "MD5");
        params
    };
    assert!(
        gateway_post(&sandbox, &refund("RET-1", "10.01"))
            .await
            .contains("RETURN_AMOUNT_EXCEED")
    );
    assert!(
        gateway_post(&sandbox, &refund("RET-1", "10.00"))
            .await
            .contains("<is_success>T</is_success>")
    );
    assert_eq!(
        sandbox.alipay_buyer_balances()[BUYER],
        before,
        "the full refund returns exactly what was charged"
    );
    assert!(
        gateway_post(&sandbox, &refund("RET-1", "10.00"))
            .await
            .contains("<is_success>T</is_success>"),
        "the same refund again is idempotent"
    );
    assert_eq!(
        sandbox.alipay_buyer_balances()[BUYER],
        before,
        "and credits nothing twice"
    );
}

#[tokio::test]
async fn single_trade_query_answers_the_trade_it_names_in_every_state() {
    corridor_host::init_tls();
    let sandbox = sandbox().await;
    let mut sink = CallbackSink::start("success").await;
    let notify = format!("{}/notify", sink.url);
    for out_trade_no in ["Q-UNPAID", "Q-PAID", "Q-REFUNDED"] {
        gateway_get(&sandbox, &order(out_trade_no, &notify, "MD5")).await;
    }
    for out_trade_no in ["Q-PAID", "Q-REFUNDED"] {
        assert_eq!(
            pay(&sandbox, out_trade_no, "111111").await["resultStatus"],
            "9000"
        );
    }
    let mut refund: BTreeMap<String, String> = [
        ("service", "forex_refund"),
        ("partner", PARTNER),
        ("_input_charset", "utf-8"),
        ("out_return_no", "Q-RET-1"),
        ("out_trade_no", "Q-REFUNDED"),
        ("return_amount", "10.00"),
        ("currency", "USD"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    sign(&mut refund, "MD5");
    assert!(
        gateway_post(&sandbox, &refund)
            .await
            .contains("<is_success>T</is_success>")
    );
    let trade_no = |out_trade_no: &str| {
        sandbox
            .alipay_trades()
            .into_iter()
            .find(|trade| trade.out_trade_no == out_trade_no)
            .and_then(|trade| trade.trade_no)
            .expect("paid, so numbered")
    };
    let (paid_no, refunded_no) = (trade_no("Q-PAID"), trade_no("Q-REFUNDED"));

    let query = |key: &str, value: &str| {
        let mut params: BTreeMap<String, String> = [
            ("service", "single_trade_query"),
            ("partner", PARTNER),
            ("_input_charset", "utf-8"),
            (key, value),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        sign(&mut params, "MD5");
        params
    };
    let cases = [
        (
            "out_trade_no",
            "Q-UNPAID",
            "Q-UNPAID",
            "WAIT_BUYER_PAY",
            "0.00",
        ),
        ("out_trade_no", "Q-PAID", "Q-PAID", "TRADE_FINISHED", "0.00"),
        (
            "out_trade_no",
            "Q-REFUNDED",
            "Q-REFUNDED",
            "TRADE_FINISHED",
            "10.00",
        ),
        ("trade_no", &paid_no, "Q-PAID", "TRADE_FINISHED", "0.00"),
        (
            "trade_no",
            &refunded_no,
            "Q-REFUNDED",
            "TRADE_FINISHED",
            "10.00",
        ),
    ];
    for (key, value, out_trade_no, status, refunded) in cases {
        let answer = gateway_post(&sandbox, &query(key, value)).await;
        assert!(
            answer.contains(&format!("<out_trade_no>{out_trade_no}</out_trade_no>"))
                && answer.contains(&format!("<trade_status>{status}</trade_status>"))
                && answer.contains(&format!("<refund_fee>{refunded}</refund_fee>")),
            "{key}={value}: {answer}"
        );
    }
    for (key, value) in [
        ("out_trade_no", "Q-UNKNOWN"),
        ("trade_no", "2026010121001001000000000000"),
    ] {
        let answer = gateway_post(&sandbox, &query(key, value)).await;
        assert!(
            answer.contains("<error>TRADE_NOT_EXIST</error>"),
            "{key}={value}, with an unpaid trade in the book: {answer}"
        );
    }
    while sink.next(Duration::from_millis(200)).await.is_some() {}
}
