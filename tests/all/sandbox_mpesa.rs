//! The Daraja simulator, driven over HTTP by client code written here from the
//! protocol notes (not the sandbox's own code): OAuth, B2C, Transaction Status,
//! balances.

use std::time::Duration;

use base64::Engine as _;
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};
use corridor_tests::CallbackSink;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use serde_json::{Value, json};
use x509_cert::der::{DecodePem, Encode};

pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) async fn sandbox(adjust: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = SandboxConfig {
        profile: Profile::Zero,
        ..SandboxConfig::default()
    };
    adjust(&mut config);
    Sandbox::start(config).await.expect("the sandbox starts")
}

pub(crate) fn client() -> reqwest::Client {
    corridor_host::init_tls();
    reqwest::Client::new()
}

/// Asks for a token with the sandbox app's credentials; returns the grant.
pub(crate) async fn oauth(client: &reqwest::Client, base: &str) -> Value {
    let basic = base64::engine::general_purpose::STANDARD
        .encode("corridor-sandbox-consumer-key:corridor-sandbox-consumer-secret");
    let response = client
        .get(format!(
            "{base}/oauth/v1/generate?grant_type=client_credentials"
        ))
        .header("Authorization", format!("Basic {basic}"))
        .send()
        .await
        .expect("oauth");
    assert_eq!(response.status(), 200);
    let grant: Value = response.json().await.expect("json");
    assert!(
        grant["expires_in"].is_string(),
        "expires_in is a string on the wire: {grant}"
    );
    grant
}

/// A fresh access token (which supersedes any earlier one).
pub(crate) async fn token(client: &reqwest::Client, base: &str) -> String {
    oauth(client, base).await["access_token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Submits a B2C v3 payment request.
pub(crate) async fn submit_b2c(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    post(
        client,
        format!("{}/mpesa/b2c/v3/paymentrequest", sandbox.mpesa_url),
        token,
        body,
    )
    .await
}

/// The client's side of SecurityCredential: fetch the published certificate,
/// encrypt the password with RSA PKCS#1 v1.5, base64.
pub(crate) async fn security_credential(
    client: &reqwest::Client,
    base: &str,
    password: &str,
) -> String {
    let pem = client
        .get(format!("{base}/sandbox/certificate.cer"))
        .send()
        .await
        .expect("cert")
        .text()
        .await
        .expect("text");
    let certificate = x509_cert::Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate");
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("der");
    let key = RsaPublicKey::from_public_key_der(&spki).expect("an RSA key");
    let encrypted = key
        .encrypt(&mut rand_source(), Pkcs1v15Encrypt, password.as_bytes())
        .expect("encrypt");
    base64::engine::general_purpose::STANDARD.encode(encrypted)
}

fn rand_source() -> impl rsa::rand_core::CryptoRngCore {
    rsa::rand_core::OsRng
}

pub(crate) fn b2c_body(
    originator: &str,
    credential: &str,
    party_b: &str,
    amount: &str,
    sink: &str,
) -> Value {
    json!({
        "OriginatorConversationID": originator,
        "InitiatorName": "testapi",
        "SecurityCredential": credential,
        "CommandID": "BusinessPayment",
        "Amount": amount,
        "PartyA": "600992",
        "PartyB": party_b,
        "Remarks": "corridor test",
        "QueueTimeOutURL": format!("{sink}/timeout"),
        "ResultURL": format!("{sink}/result"),
        "Occassion": "test",
    })
}

pub(crate) async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) fn parameter<'a>(result: &'a Value, key: &str) -> Option<&'a Value> {
    result["Result"]["ResultParameters"]["ResultParameter"]
        .as_array()?
        .iter()
        .find(|item| item["Key"] == key)
        .and_then(|item| item.get("Value"))
}

#[tokio::test]
async fn a_b2c_pays_the_recipient_and_posts_the_full_result() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("{\"ResultCode\":0}").await;
    let grant = oauth(&client, &sandbox.mpesa_url).await;
    assert_eq!(grant["expires_in"], json!("3599"));
    let token = grant["access_token"].as_str().expect("token").to_string();
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let before = sandbox.mpesa_balances();

    let body = b2c_body(
        "corridor-t1-b2c-1",
        &credential,
        "254708374149",
        "1000",
        &sink.url,
    );
    let (status, ack) = submit_b2c(&client, &sandbox, &token, &body).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["ResponseCode"], json!("0"));
    assert_eq!(ack["OriginatorConversationID"], json!("corridor-t1-b2c-1"));

    let callback = sink.next(WAIT).await.expect("the result arrives");
    assert_eq!(callback.path, "/result");
    let result: Value = serde_json::from_str(&callback.body).expect("json");
    assert_eq!(result["Result"]["ResultCode"], json!(0));
    assert_eq!(result["Result"]["ConversationID"], ack["ConversationID"]);
    assert_eq!(
        parameter(&result, "TransactionAmount"),
        Some(&json!(1000)),
        "a number"
    );
    assert_eq!(
        parameter(&result, "B2CRecipientIsRegisteredCustomer"),
        Some(&json!("Y")),
        "a string"
    );
    let completed = parameter(&result, "TransactionCompletedDateTime")
        .and_then(Value::as_str)
        .expect("a time");
    assert_eq!(completed.len(), 19);
    assert_eq!(&completed[2..3], ".", "dd.MM.yyyy HH:mm:ss");
    assert!(
        callback
            .body
            .contains("\"B2CChargesPaidAccountAvailableFunds\",\"Value\":-33.00"),
        "{}",
        callback.body
    );

    let after = sandbox.mpesa_balances();
    assert_eq!(
        before.utility_cents - after.utility_cents,
        100_000 + 3300,
        "amount plus the 33 KES charge"
    );
    assert_eq!(
        after.customers["254708374149"] - before.customers["254708374149"],
        100_000
    );
}

#[tokio::test]
async fn a_wrong_initiator_password_ends_in_result_2001_and_moves_nothing() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "not-the-password").await;
    let before = sandbox.mpesa_balances();
    let body = b2c_body(
        "corridor-t2-b2c-1",
        &credential,
        "254708374149",
        "100",
        &sink.url,
    );
    let (status, _) = submit_b2c(&client, &sandbox, &token, &body).await;
    assert_eq!(
        status, 200,
        "accepted first; the credential is checked when processed"
    );
    let result: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("result").body).expect("json");
    assert_eq!(result["Result"]["ResultCode"], json!(2001));
    assert!(result["Result"].get("ResultParameters").is_none());
    assert_eq!(sandbox.mpesa_balances(), before);
}

#[tokio::test]
async fn a_replayed_originator_conversation_id_is_rejected_and_pays_once() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let body = b2c_body(
        "corridor-t3-b2c-1",
        &credential,
        "254705912645",
        "50",
        &sink.url,
    );
    let url = format!("{}/mpesa/b2c/v3/paymentrequest", sandbox.mpesa_url);
    assert_eq!(post(&client, url.clone(), &token, &body).await.0, 200);
    let (status, error) = post(&client, url, &token, &body).await;
    assert_eq!(status, 500);
    assert_eq!(error["errorCode"], json!("500.002.1001"));
    assert_eq!(
        error["errorMessage"],
        json!("Duplicate OriginatorConversationID.")
    );
    assert!(sink.next(WAIT).await.is_some());
    assert!(
        sink.next(Duration::from_millis(300)).await.is_none(),
        "one payment, one result"
    );
    assert_eq!(sandbox.mpesa_balances().customers["254705912645"], 5000);
}

#[tokio::test]
async fn tokens_are_refused_when_expired_superseded_or_missing() {
    let sandbox = sandbox(|config| config.mpesa.token_ttl_s = 1).await;
    let client = client();
    let url = format!("{}/mpesa/b2c/v3/paymentrequest", sandbox.mpesa_url);
    let body = b2c_body(
        "corridor-t4",
        "x",
        "254708374149",
        "10",
        "http://127.0.0.1:9",
    );
    let first = token(&client, &sandbox.mpesa_url).await;
    let second = token(&client, &sandbox.mpesa_url).await;
    let (status, error) = post(&client, url.clone(), &first, &body).await;
    assert_eq!(
        (status, &error["errorCode"]),
        (404, &json!("404.001.03")),
        "a new token invalidates the old one"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, error) = post(&client, url.clone(), &second, &body).await;
    assert_eq!(
        (status, &error["errorCode"]),
        (404, &json!("404.001.03")),
        "expired"
    );
    let (status, _) = post(&client, url, "", &body).await;
    assert_eq!(status, 404);
    let wrong_grant = client
        .get(format!(
            "{}/oauth/v1/generate?grant_type=password",
            sandbox.mpesa_url
        ))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .expect("oauth");
    let wrong_grant: Value = wrong_grant.json().await.expect("json");
    assert_eq!(wrong_grant["errorCode"], json!("400.008.02"));
}

#[tokio::test]
async fn invalid_b2c_fields_get_400_002_02_and_create_nothing() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let token = token(&client, &sandbox.mpesa_url).await;
    let body = b2c_body("corridor-t5", "x", "0708374149", "10", "http://127.0.0.1:9");
    let (status, error) = submit_b2c(&client, &sandbox, &token, &body).await;
    assert_eq!(status, 400);
    assert_eq!(error["errorCode"], json!("400.002.02"));
    assert_eq!(error["errorMessage"], json!("Bad Request - Invalid PartyB"));
    // The same id is still free: nothing was recorded.
    let body = b2c_body(
        "corridor-t5",
        "x",
        "254708374149",
        "10",
        "http://127.0.0.1:9",
    );
    assert_eq!(submit_b2c(&client, &sandbox, &token, &body).await.0, 200);
}

#[tokio::test]
async fn an_unregistered_recipient_gets_2040_and_v1_accepts_the_occasion_spelling() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let mut body = b2c_body("unused", &credential, "254700000040", "100", &sink.url);
    let object = body.as_object_mut().expect("object");
    object.remove("OriginatorConversationID");
    object.remove("Occassion");
    object.insert("Occasion".into(), json!("legacy spelling"));
    let (status, ack) = post(
        &client,
        format!("{}/mpesa/b2c/v1/paymentrequest", sandbox.mpesa_url),
        &token,
        &body,
    )
    .await;
    assert_eq!(status, 200, "{ack}");
    let result: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("result").body).expect("json");
    assert_eq!(result["Result"]["ResultCode"], json!(2040));
}

#[tokio::test]
async fn transaction_status_reports_a_completed_b2c_by_its_originator_id() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let body = b2c_body(
        "corridor-t7-b2c-1",
        &credential,
        "254708374149",
        "200",
        &sink.url,
    );
    submit_b2c(&client, &sandbox, &token, &body).await;
    sink.next(WAIT).await.expect("the b2c result");

    let query = json!({
        "Initiator": "testapi", "SecurityCredential": credential, "CommandID": "TransactionStatusQuery",
        "OriginalConversationID": "corridor-t7-b2c-1", "PartyA": "600992", "IdentifierType": "4",
        "ResultURL": format!("{}/status", sink.url), "QueueTimeOutURL": format!("{}/timeout", sink.url),
        "Remarks": "reconcile", "Occasion": "",
    });
    let (status, _) = post(
        &client,
        format!("{}/mpesa/transactionstatus/v1/query", sandbox.mpesa_url),
        &token,
        &query,
    )
    .await;
    assert_eq!(status, 200);
    let result: Value =
        serde_json::from_str(&sink.next(WAIT).await.expect("status result").body).expect("json");
    assert_eq!(
        parameter(&result, "TransactionStatus"),
        Some(&json!("Completed"))
    );
    assert_eq!(
        parameter(&result, "DebitPartyCharges"),
        Some(&json!("Fee For B2C Payment|KES|33.00"))
    );
    assert_eq!(parameter(&result, "Amount"), Some(&json!("200")));

    let mut unknown = query.clone();
    unknown["OriginalConversationID"] = json!("never-sent");
    let (status, error) = post(
        &client,
        format!("{}/mpesa/transactionstatus/v1/query", sandbox.mpesa_url),
        &token,
        &unknown,
    )
    .await;
    assert_eq!((status, &error["errorCode"]), (404, &json!("404.003.01")));
}

#[tokio::test]
async fn account_balance_and_reversal_name_each_request_anew_and_results_carry_its_ids() {
    let sandbox = sandbox(|_| {}).await;
    let client = client();
    let mut sink = CallbackSink::start("ok").await;
    let token = token(&client, &sandbox.mpesa_url).await;
    let credential = security_credential(&client, &sandbox.mpesa_url, "Safaricom999!*!").await;
    let balance = |path: &str| {
        json!({
            "Initiator": "testapi", "SecurityCredential": credential, "CommandID": "AccountBalance",
            "PartyA": "600992", "IdentifierType": "4", "Remarks": "ok",
            "QueueTimeOutURL": format!("{}/timeout", sink.url), "ResultURL": format!("{}{path}", sink.url),
        })
    };
    let reversal = |path: &str| {
        json!({
            "Initiator": "testapi", "SecurityCredential": credential, "CommandID": "TransactionReversal",
            "TransactionID": "NLJ41HAY6Q", "Amount": "10", "ReceiverParty": "600992", "RecieverIdentifierType": "11",
            "ResultURL": format!("{}{path}", sink.url), "QueueTimeOutURL": format!("{}/timeout", sink.url), "Remarks": "undo",
        })
    };
    let requests = [
        (
            "accountbalance/v1/query",
            "/balance-1",
            balance("/balance-1"),
        ),
        (
            "accountbalance/v1/query",
            "/balance-2",
            balance("/balance-2"),
        ),
        (
            "reversal/v1/request",
            "/reversal-1",
            reversal("/reversal-1"),
        ),
        (
            "reversal/v1/request",
            "/reversal-2",
            reversal("/reversal-2"),
        ),
    ];
    let mut acknowledged = std::collections::BTreeMap::new();
    for (endpoint, path, body) in &requests {
        let url = format!("{}/mpesa/{endpoint}", sandbox.mpesa_url);
        let (status, ack) = post(&client, url, &token, body).await;
        assert_eq!((status, &ack["ResponseCode"]), (200, &json!("0")), "{ack}");
        let ids = (
            ack["ConversationID"]
                .as_str()
                .expect("ConversationID")
                .to_string(),
            ack["OriginatorConversationID"]
                .as_str()
                .expect("OriginatorConversationID")
                .to_string(),
        );
        acknowledged.insert(path.to_string(), ids);
    }
    let conversations: std::collections::BTreeSet<_> =
        acknowledged.values().map(|ids| ids.0.clone()).collect();
    let originators: std::collections::BTreeSet<_> =
        acknowledged.values().map(|ids| ids.1.clone()).collect();
    assert_eq!(
        (conversations.len(), originators.len()),
        (4, 4),
        "every request has its own ids: {acknowledged:?}"
    );
    for _ in 0..requests.len() {
        let callback = sink.next(WAIT).await.expect("a result");
        let result: Value = serde_json::from_str(&callback.body).expect("json");
        let own = &acknowledged[&callback.path];
        assert_eq!(
            (
                result["Result"]["ConversationID"].as_str(),
                result["Result"]["OriginatorConversationID"].as_str()
            ),
            (Some(own.0.as_str()), Some(own.1.as_str())),
            "the result on {} carries its own request's ids",
            callback.path
        );
    }
}
