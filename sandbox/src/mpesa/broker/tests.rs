//! The broker simulator driven by the M-PESA rail's broker module over
//! loopback: what the rail builds the simulator accepts, and the rail reads
//! every answer, result and query the simulator gives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::Uri;
use corridor_connector_kit::bindings::corridor::connector::http::{Request, Response as Answer};
use corridor_connector_kit::bindings::corridor::connector::types::{
    Event, FailureKind, PayOutQuery, PayOutRequest, PayOutStarted, PayOutStatus,
};
use corridor_connector_kit::money::money;
use corridor_rail_mpesa::broker::{self as rail, BrokerSettings};

use crate::config::DEFAULT_MPESA_CERTIFICATE_PEM;
use crate::faults::{CallbackFaults, FaultPlan};
use crate::{Profile, Sandbox, SandboxConfig};

use super::{SpHeader, authenticated};
use base64::Engine as _;
use sha2::{Digest, Sha256};

const RECIPIENT: &str = "254708374149";

/// A callback received: path and body.
type Received = (String, String);

struct Harness {
    sandbox: Sandbox,
    client: reqwest::Client,
    callbacks: Arc<Mutex<Vec<Received>>>,
    callback_base: String,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// A sandbox with the zero profile and a SOAP server that answers every
/// `ResultMsg` with the rail's acknowledgement.
async fn start(change: impl FnOnce(&mut SandboxConfig)) -> Harness {
    let mut config = SandboxConfig {
        profile: Profile::Zero,
        ..SandboxConfig::default()
    };
    change(&mut config);
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let callbacks: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = callbacks.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let seen = seen.clone();
        async move {
            let body = String::from_utf8_lossy(&body).into_owned();
            crate::faults::lock(&seen).push((uri.path().to_string(), body));
            rail::result::acknowledgement().body
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let callback_base = format!("http://{}", listener.local_addr().expect("address"));
    let listener = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    Harness {
        sandbox,
        client,
        callbacks,
        callback_base,
        listener,
    }
}

impl Harness {
    fn settings(&self) -> BrokerSettings {
        BrokerSettings {
            url: self.sandbox.mpesa_url.clone(),
            sp_id: "151515".into(),
            sp_password: "corridor-sandbox-sp-password".into(),
            service_id: "151515000".into(),
            third_party_id: "898941".into(),
            shortcode: "600992".into(),
            initiator_name: "testapi".into(),
            initiator_password: "Safaricom999!*!".into(),
            certificate_pem: DEFAULT_MPESA_CERTIFICATE_PEM.into(),
            command_id: "BusinessPayment".into(),
        }
    }

    fn payout(&self, reference: &str) -> PayOutRequest {
        PayOutRequest {
            transfer_id: "t1".into(),
            reference: reference.into(),
            recipient: RECIPIENT.into(),
            amount: money(100_000, "KES"),
            remarks: "Corridor transfer".into(),
            result_url: format!("{}/pay-out/{reference}", self.callback_base),
            timeout_url: format!("{}/pay-out-timeout/{reference}", self.callback_base),
        }
    }

    fn query(&self, reference: &str, conversation: Option<&str>) -> PayOutQuery {
        PayOutQuery {
            transfer_id: "t1".into(),
            reference: reference.into(),
            provider_reference: conversation.map(str::to_string),
            result_url: format!("{}/pay-out-status/{reference}", self.callback_base),
            timeout_url: format!("{}/pay-out-timeout/{reference}", self.callback_base),
        }
    }

    /// Sends a rail request the way the host would.
    async fn send(&self, request: Request) -> Answer {
        let mut builder = self.client.post(&request.url).body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let answer = builder.send().await.expect("the simulator answers");
        Answer {
            status: answer.status().as_u16(),
            headers: vec![],
            body: answer.bytes().await.expect("body").to_vec(),
        }
    }

    /// Builds and sends a `GenericAPIRequest` sent at `now_ms`.
    async fn pay_at(
        &self,
        settings: &BrokerSettings,
        payout: &PayOutRequest,
        now_ms: u64,
    ) -> Result<PayOutStarted, corridor_connector_kit::bindings::corridor::connector::types::Failure>
    {
        let key = corridor_rail_mpesa::credential::certificate_key(&settings.certificate_pem)
            .expect("key");
        let credential = corridor_rail_mpesa::credential::security_credential(
            &settings.initiator_password,
            &key,
            &mut rand::rngs::OsRng,
        )
        .expect("credential");
        let request = rail::request::request(settings, &credential, payout, now_ms)
            .expect("the rail builds it");
        rail::request::parse(&self.send(request).await, payout)
    }

    async fn pay(&self, payout: &PayOutRequest) -> String {
        match self.pay_at(&self.settings(), payout, crate::now_ms()).await {
            Ok(PayOutStarted::Accepted(accepted)) => accepted.provider_reference,
            other => panic!("not accepted: {other:?}"),
        }
    }

    /// The callbacks received on `path`, waiting until there are `count` (bounded).
    async fn callbacks_on(&self, path: &str, count: usize) -> Vec<String> {
        for _ in 0..250 {
            let bodies: Vec<String> = crate::faults::lock(&self.callbacks)
                .iter()
                .filter(|(received, _)| received == path)
                .map(|(_, body)| body.clone())
                .collect();
            if bodies.len() >= count {
                return bodies;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("fewer than {count} callbacks on {path}");
    }

    async fn status(&self, reference: &str, conversation: Option<&str>) -> PayOutStatus {
        let query = self.query(reference, conversation);
        let request = rail::query::request(&self.settings(), &query, crate::now_ms())
            .expect("the rail builds it");
        rail::query::parse(&self.send(request).await, &query).expect("a status")
    }

    fn utility_cents(&self) -> i64 {
        self.sandbox.mpesa_balances().utility_cents
    }
}

#[tokio::test]
async fn the_rail_pays_once_through_the_broker_and_the_balances_move_as_daraja_moves_them() {
    let harness = start(|_| {}).await;
    let before = harness.sandbox.mpesa_balances();
    let conversation = harness.pay(&harness.payout("COR-1")).await;
    let results = harness.callbacks_on("/pay-out/COR-1", 1).await;
    let events = rail::result::result_events(results[0].as_bytes()).expect("a ResultMsg");
    let [Event::PayOutSucceeded(receipt)] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(
        (
            receipt.reference.as_str(),
            receipt.recipient.as_str(),
            receipt.amount.amount_minor
        ),
        ("COR-1", RECIPIENT, 100_000)
    );
    let after = harness.sandbox.mpesa_balances();
    assert_eq!(
        before.utility_cents - after.utility_cents,
        100_000 + 3_300,
        "the amount and Daraja's B2C charge"
    );
    assert_eq!(after.charges_paid_cents - before.charges_paid_cents, -3_300);
    assert_eq!(
        after.customers[RECIPIENT] - before.customers[RECIPIENT],
        100_000
    );
    let status = harness.status("COR-1", Some(&conversation)).await;
    assert!(
        matches!(&status, PayOutStatus::Succeeded(found) if found.provider_transaction_id == receipt.provider_transaction_id),
        "{status:?}"
    );
    assert!(matches!(
        harness.status("COR-never-sent", None).await,
        PayOutStatus::NotFound
    ));
}

#[tokio::test]
async fn a_wrong_sp_password_is_refused_at_once_and_nothing_is_recorded() {
    let harness = start(|_| {}).await;
    let mut settings = harness.settings();
    settings.sp_password = "not-the-sp-password".into();
    let failure = harness
        .pay_at(&settings, &harness.payout("COR-2"), crate::now_ms())
        .await
        .expect_err("refused");
    assert_eq!(
        (failure.kind, failure.code.as_str()),
        (FailureKind::Failed, "100000007")
    );
    assert!(matches!(
        harness.status("COR-2", None).await,
        PayOutStatus::NotFound
    ));
}

#[tokio::test]
async fn a_malformed_envelope_is_answered_with_a_soap_fault() {
    let harness = start(|_| {}).await;
    let answer = harness
        .client
        .post(format!("{}/mminterface/request", harness.sandbox.mpesa_url))
        .header("content-type", "text/xml")
        .body("<soapenv:Envelope><soapenv:Body><req:RequestMsg>")
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 500);
    let body = answer.text().await.expect("text");
    assert!(
        body.contains("<faultcode>soapenv:Client</faultcode>"),
        "{body}"
    );
    let failure = rail::request::parse(
        &Answer {
            status: 500,
            headers: vec![],
            body: body.into_bytes(),
        },
        &harness.payout("COR-3"),
    )
    .expect_err("a fault");
    assert_eq!(
        failure.kind,
        FailureKind::Failed,
        "a client fault processed nothing"
    );
}

#[tokio::test]
async fn a_repeated_originator_conversation_id_is_refused_by_result_15_and_pays_once() {
    let harness = start(|_| {}).await;
    let before = harness.utility_cents();
    let first = harness.pay(&harness.payout("COR-4")).await;
    let second = harness.pay(&harness.payout("COR-4")).await;
    assert_ne!(first, second, "each request has its own ConversationID");
    let results = harness.callbacks_on("/pay-out/COR-4", 2).await;
    let codes: Vec<String> = results
        .iter()
        .map(|body| {
            rail::result::parse(body.as_bytes())
                .expect("a result")
                .result_code
        })
        .collect();
    assert!(
        codes.contains(&"0".to_string()) && codes.contains(&"15".to_string()),
        "{codes:?}"
    );
    let duplicate = results
        .iter()
        .find(|body| body.contains("<ResultCode>15<"))
        .expect("the duplicate's result");
    assert!(matches!(
        &rail::result::result_events(duplicate.as_bytes()).expect("events")[..],
        [Event::PayOutUnknown(_)]
    ));
    assert_eq!(before - harness.utility_cents(), 103_300, "paid once");
    assert!(matches!(
        harness.status("COR-4", Some(&first)).await,
        PayOutStatus::Succeeded(_)
    ));
}

#[tokio::test]
async fn a_wrong_security_credential_is_result_18_and_moves_nothing() {
    let harness = start(|config| config.mpesa.initiator_password = "another".into()).await;
    let before = harness.utility_cents();
    let conversation = harness.pay(&harness.payout("COR-5")).await;
    let results = harness.callbacks_on("/pay-out/COR-5", 1).await;
    let events = rail::result::result_events(results[0].as_bytes()).expect("events");
    assert!(
        matches!(&events[..], [Event::PayOutFailed(failure)] if failure.failure.code == "18"),
        "{events:?}"
    );
    assert_eq!(harness.utility_cents(), before);
    assert!(matches!(
        harness.status("COR-5", Some(&conversation)).await,
        PayOutStatus::Failed(_)
    ));
}

#[tokio::test]
async fn a_message_older_than_the_broker_allows_is_result_19() {
    let harness = start(|_| {}).await;
    let hour_ago = crate::now_ms() - 3_600_000;
    let accepted = harness
        .pay_at(&harness.settings(), &harness.payout("COR-6"), hour_ago)
        .await;
    assert!(
        matches!(accepted, Ok(PayOutStarted::Accepted(_))),
        "the header's timeStamp is not checked for age"
    );
    let results = harness.callbacks_on("/pay-out/COR-6", 1).await;
    assert!(results[0].contains("ApiRequestMessageExpiryFailure"));
}

#[tokio::test]
async fn a_dropped_result_is_still_found_by_the_query() {
    let dropped = FaultPlan {
        callbacks: [(
            "mpesa".to_string(),
            CallbackFaults {
                drop_percent: 100,
                ..CallbackFaults::default()
            },
        )]
        .into(),
        ..FaultPlan::default()
    };
    let harness = start(|config| config.faults = dropped).await;
    let before = harness.utility_cents();
    let conversation = harness.pay(&harness.payout("COR-7")).await;
    let mut status = PayOutStatus::Pending;
    for _ in 0..250 {
        status = harness.status("COR-7", Some(&conversation)).await;
        if !matches!(status, PayOutStatus::Pending) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(status, PayOutStatus::Succeeded(_)), "{status:?}");
    assert_eq!(before - harness.utility_cents(), 103_300);
    assert!(crate::faults::lock(&harness.callbacks).is_empty());
}

#[tokio::test]
async fn a_queue_timeout_notifies_the_timeout_url_and_the_query_says_failed() {
    let expiring = FaultPlan {
        callbacks: [(
            "mpesa".to_string(),
            CallbackFaults {
                queue_timeout_percent: 100,
                ..CallbackFaults::default()
            },
        )]
        .into(),
        ..FaultPlan::default()
    };
    let harness = start(|config| config.faults = expiring).await;
    let before = harness.utility_cents();
    harness.pay(&harness.payout("COR-8")).await;
    let notices = harness.callbacks_on("/pay-out-timeout/COR-8", 1).await;
    assert!(matches!(
        &rail::result::queue_timeout_events(notices[0].as_bytes()).expect("events")[..],
        [Event::PayOutUnknown(_)]
    ));
    assert!(matches!(
        harness.status("COR-8", None).await,
        PayOutStatus::Failed(_)
    ));
    assert_eq!(harness.utility_cents(), before, "nothing was processed");
}

#[test]
fn sp_password_hex_is_accepted_in_either_case() {
    let config = crate::config::BrokerConfig::default();
    let stamp = "20140730093620";
    let digest = Sha256::digest(format!("151515{}{stamp}", config.sp_password).as_bytes());
    for hex_text in [hex::encode(digest), hex::encode_upper(digest)] {
        let header = SpHeader {
            sp_id: "151515".into(),
            sp_password: base64::engine::general_purpose::STANDARD.encode(hex_text),
            time_stamp: stamp.into(),
            service_id: "151515000".into(),
        };
        assert!(authenticated(&config, Some(&header)));
    }
}
