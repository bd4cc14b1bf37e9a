//! A zero-latency sandbox, a loopback listener that records every callback,
//! and a client that sends the rail's requests as the host would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{Method as HttpMethod, Uri};
use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::InboundRequest;
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};

/// Daraja's sample payer, funded; pays at once.
pub const PAYER: &str = "254722000000";
/// Cancels every prompt.
pub const CANCELS: &str = "254700000101";
/// Never answers.
pub const TIMES_OUT: &str = "254700000102";
/// Enters a wrong PIN.
pub const WRONG_PIN: &str = "254700000103";
/// Has no money.
pub const NO_FUNDS: &str = "254700000104";
/// Pays after `late_answer_ms`.
pub const PAYS_LATE: &str = "254700000105";

pub struct Harness {
    pub sandbox: Sandbox,
    client: reqwest::Client,
    callbacks: Arc<Mutex<Vec<InboundRequest>>>,
    pub callback_base: String,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

pub async fn start(change: impl FnOnce(&mut SandboxConfig)) -> Harness {
    let mut config = SandboxConfig {
        profile: Profile::Zero,
        ..SandboxConfig::default()
    };
    change(&mut config);
    let sandbox = Sandbox::start(config).await.expect("sandbox starts");
    let callbacks: Arc<Mutex<Vec<InboundRequest>>> = Arc::default();
    let seen = callbacks.clone();
    let app = axum::Router::new().fallback(move |method: HttpMethod, uri: Uri, body: Bytes| {
        let seen = seen.clone();
        async move {
            seen.lock().expect("lock").push(InboundRequest {
                route: "pay-in".into(),
                method: method.to_string(),
                path: uri.path().to_string(),
                query: uri.query().unwrap_or_default().to_string(),
                headers: vec![],
                body: body.to_vec(),
            });
            "ok"
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

pub fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

impl Harness {
    /// Sends a rail request the way the host would.
    pub async fn send(&self, request: Request) -> Response {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
            Method::Head => reqwest::Method::HEAD,
        };
        let mut builder = self.client.request(method, &request.url).body(request.body);
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

    /// The callback URL of pay-in `name`.
    pub fn callback_url(&self, name: &str) -> String {
        format!("{}/callbacks/pay-in/{name}", self.callback_base)
    }

    /// The callbacks to pay-in `name`, waiting (bounded) for `count`.
    pub async fn callbacks(&self, name: &str, count: usize) -> Vec<InboundRequest> {
        let path = format!("/callbacks/pay-in/{name}");
        for _ in 0..200 {
            let seen: Vec<InboundRequest> = self
                .callbacks
                .lock()
                .expect("lock")
                .iter()
                .filter(|request| request.path == path)
                .cloned()
                .collect();
            if seen.len() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {count} callbacks for {name}");
    }

    /// The customer's KES cents.
    /// What the collecting organisations' utility accounts hold in all: a
    /// prompted payment goes to the account of the shortcode it was made to.
    pub fn collected(&self) -> i64 {
        self.sandbox
            .mpesa_balances()
            .paybills
            .values()
            .map(|paybill| paybill.utility_cents)
            .sum()
    }

    pub fn balance(&self, msisdn: &str) -> i64 {
        self.sandbox
            .mpesa_balances()
            .customers
            .get(msisdn)
            .copied()
            .unwrap_or(0)
    }
}
