//! The test harness: a sandbox with the zero profile, a loopback client,
//! and a loopback listener that records every callback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Uri};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Profile, Sandbox, SandboxConfig};

pub(super) const USER: &str = "9f1c4e2a-7b3d-4c5e-8a6f-0d2b1e3c4a5f";
pub(super) const KEY: &str = "0f6d2c8e4a1b4e7f9c3d5a7b9e1f3c5d";
pub(super) const SUBSCRIPTION: &str = "corridor-sandbox-momo-disbursement-key";

/// A callback the listener received: method, path, body.
pub(super) type Received = (String, String, String);

pub(super) struct Harness {
    pub sandbox: Sandbox,
    pub client: reqwest::Client,
    callbacks: Arc<Mutex<Vec<Received>>>,
    pub callback_base: String,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

pub(super) async fn start(change: impl FnOnce(&mut SandboxConfig)) -> Harness {
    let mut config = SandboxConfig {
        profile: Profile::Zero,
        ..SandboxConfig::default()
    };
    change(&mut config);
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let callbacks: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = callbacks.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let seen = seen.clone();
        async move {
            let body = String::from_utf8_lossy(&body).into_owned();
            crate::faults::lock(&seen).push((method.to_string(), uri.path().to_string(), body));
            ""
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
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.momo_url)
    }

    pub(super) async fn token_for(&self, user: &str, key: &str) -> reqwest::Response {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}"));
        self.client
            .post(self.url("/disbursement/token/"))
            .header("Authorization", format!("Basic {basic}"))
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION)
            .send()
            .await
            .expect("token call")
    }

    pub(super) async fn token(&self) -> String {
        let answer: Value = self
            .token_for(USER, KEY)
            .await
            .text()
            .await
            .map(|text| parse(&text))
            .expect("json");
        answer["access_token"]
            .as_str()
            .expect("a token")
            .to_string()
    }

    /// A product GET with the default headers.
    pub(super) async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .header("Ocp-Apim-Subscription-Key", SUBSCRIPTION)
            .header("X-Target-Environment", "mtnuganda")
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        (
            status,
            response
                .text()
                .await
                .map(|text| parse(&text))
                .unwrap_or(Value::Null),
        )
    }

    /// A transfer POST; `headers` replace or add to the defaults (an empty
    /// value removes one).
    pub(super) async fn transfer(
        &self,
        token: &str,
        id: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let callback = format!("{}/callbacks/momo/{id}", self.callback_base);
        let mut all = vec![
            ("Authorization", format!("Bearer {token}")),
            ("Ocp-Apim-Subscription-Key", SUBSCRIPTION.to_string()),
            ("X-Target-Environment", "mtnuganda".to_string()),
            ("X-Reference-Id", id.to_string()),
            ("X-Callback-Url", callback),
        ];
        for (name, value) in headers {
            all.retain(|(known, _)| !known.eq_ignore_ascii_case(name));
            if !value.is_empty() {
                all.push((name, value.to_string()));
            }
        }
        let mut request = self
            .client
            .post(self.url("/disbursement/v1_0/transfer"))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in all {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("transfer");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The transfer's status once it is no longer `PENDING` (bounded wait).
    pub(super) async fn decided(&self, token: &str, id: &str) -> Value {
        for _ in 0..200 {
            let (status, body) = self
                .get(token, &format!("/disbursement/v1_0/transfer/{id}"))
                .await;
            assert_eq!(status, 200, "{body}");
            if body["status"] != "PENDING" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("transfer {id} was never decided");
    }

    /// The callbacks for transfer `id`, waiting (bounded) for `count` of them.
    pub(super) async fn callbacks_for(&self, id: &str, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let seen: Vec<Received> = crate::faults::lock(&self.callbacks)
                .iter()
                .filter(|(_, path, _)| path.ends_with(id))
                .cloned()
                .collect();
            if seen.len() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} callbacks for {id}");
    }
}

pub(super) fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub(super) fn uuid(n: u8) -> String {
    format!("{n:08x}-1111-4111-8111-111111111111")
}

pub(super) fn body(payee: &str, amount: &str, currency: &str) -> Value {
    json!({
        "amount": amount, "currency": currency, "externalId": "COR-1",
        "payee": { "partyIdType": "MSISDN", "partyId": payee },
        "payerMessage": "Corridor transfer", "payeeNote": "From Nairobi",
    })
}
