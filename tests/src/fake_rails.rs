//! Two tiny fake providers for the second test corridor
//! (`tests/guests/paylink-walletly`), which is neither Alipay nor M-PESA:
//!
//! - **PayLink** takes EUR through checkouts, idempotent by reference, and
//!   notifies a payment with JSON signed `PayLink-Signature: hex(HMAC-SHA256)`.
//! - **Walletly** pays GHS into `WL-` wallets, idempotent by reference: an
//!   account ending in 0 is paid asynchronously (the result is POSTed to the
//!   callback URL), any other registered account at once; an unknown account
//!   is refused with 422.
//!
//! They check their API keys and keep their own books, so a test can assert
//! that money moved once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// PayLink's API key, webhook secret, and Walletly's API key.
pub const PAYLINK_KEY: &str = "pl_test_3f9a";
/// The secret PayLink signs notifications with.
pub const PAYLINK_WEBHOOK_SECRET: &str = "whsec_test_51c2";
/// Walletly's API key.
pub const WALLETLY_KEY: &str = "wl_test_77b0";

#[derive(Debug, Clone)]
struct Checkout {
    id: String,
    amount_minor: i64,
    currency: String,
    notify_url: String,
    paid: bool,
    refunded_minor: i64,
}

#[derive(Debug, Clone)]
struct Payout {
    id: String,
    account: String,
    amount_minor: i64,
    currency: String,
    status: &'static str,
}

#[derive(Default)]
struct Books {
    checkouts: BTreeMap<String, Checkout>,
    refunds: BTreeMap<String, (String, i64)>,
    payouts: BTreeMap<String, Payout>,
    wallets: BTreeMap<String, i64>,
    payout_requests: usize,
}

/// Both fakes, on their own loopback ports.
#[derive(Clone)]
pub struct FakeRails {
    /// PayLink's base URL.
    pub paylink_url: String,
    /// Walletly's base URL.
    pub walletly_url: String,
    books: Arc<Mutex<Books>>,
    /// Walletly in trouble: it pays but answers 500, and its status route 503.
    troubled: Arc<std::sync::atomic::AtomicBool>,
    http: reqwest::Client,
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn authorised(headers: &HeaderMap, key: &str) -> bool {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(format!("Bearer {key}").as_str())
}

impl FakeRails {
    /// Starts both, with `wallets` registered at Walletly (balance 0).
    pub async fn start(wallets: &[&str]) -> FakeRails {
        corridor_host::init_tls();
        let books = Books {
            wallets: wallets
                .iter()
                .map(|wallet| (wallet.to_string(), 0))
                .collect(),
            ..Books::default()
        };
        let mut rails = FakeRails {
            paylink_url: String::new(),
            walletly_url: String::new(),
            books: Arc::new(Mutex::new(books)),
            troubled: Arc::default(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        };
        let paylink = Router::new()
            .route("/checkouts", post(new_checkout))
            .route("/checkouts/{reference}", get(checkout))
            .route("/refunds", post(refund))
            .with_state(rails.clone());
        let walletly = Router::new()
            .route("/payouts", post(new_payout))
            .route("/payouts/{reference}", get(payout))
            .with_state(rails.clone());
        rails.paylink_url = serve(paylink).await;
        rails.walletly_url = serve(walletly).await;
        rails
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The payer pays checkout `reference`: PayLink marks it paid and notifies
    /// the merchant, signed. Returns the status the merchant answered.
    pub async fn pay(&self, reference: &str) -> u16 {
        let checkout = {
            let mut books = self.books();
            let checkout = books.checkouts.get_mut(reference).expect("a checkout");
            checkout.paid = true;
            checkout.clone()
        };
        let body = json!({
            "event": "checkout.paid",
            "checkout_id": checkout.id,
            "reference": reference,
            "amount_minor": checkout.amount_minor,
            "currency": checkout.currency,
        })
        .to_string();
        self.notify(&checkout.notify_url, body, PAYLINK_WEBHOOK_SECRET)
            .await
    }

    /// POSTs `body` to `url`, signed with `secret`, as PayLink does.
    pub async fn notify(&self, url: &str, body: String, secret: &str) -> u16 {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        self.http
            .post(url)
            .header("content-type", "application/json")
            .header("paylink-signature", signature)
            .body(body)
            .send()
            .await
            .map(|response| response.status().as_u16())
            .unwrap_or(0)
    }

    /// Puts Walletly in trouble (it pays but answers 500, and its status
    /// route answers 503), or takes it out.
    pub fn set_troubled(&self, troubled: bool) {
        self.troubled
            .store(troubled, std::sync::atomic::Ordering::SeqCst);
    }

    fn troubled(&self) -> bool {
        self.troubled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What wallet `account` holds, in pesewas.
    pub fn wallet(&self, account: &str) -> i64 {
        self.books()
            .wallets
            .get(account)
            .copied()
            .unwrap_or_default()
    }

    /// How many pay-out requests Walletly received (duplicates included).
    pub fn payout_requests(&self) -> usize {
        self.books().payout_requests
    }

    /// The refunds PayLink made: `reference → (checkout reference, amount)`.
    pub fn refunds(&self) -> BTreeMap<String, (String, i64)> {
        self.books().refunds.clone()
    }

    /// The notify URL the merchant gave for checkout `reference`.
    pub fn notify_url(&self, reference: &str) -> String {
        self.books().checkouts[reference].notify_url.clone()
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

fn text(body: &Value, key: &str) -> Option<String> {
    body.get(key)?.as_str().map(str::to_string)
}

fn checkout_json(reference: &str, checkout: &Checkout, paylink_url: &str) -> Value {
    json!({
        "checkout_id": checkout.id,
        "reference": reference,
        "status": if checkout.paid { "paid" } else { "open" },
        "amount_minor": checkout.amount_minor,
        "currency": checkout.currency,
        "pay_url": format!("{paylink_url}/pay/{reference}"),
    })
}

async fn new_checkout(
    State(rails): State<FakeRails>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers, PAYLINK_KEY) {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorised", "bad API key");
    }
    let (Some(reference), Some(amount_minor), Some(currency), Some(notify_url)) = (
        text(&body, "reference"),
        body["amount_minor"].as_i64().filter(|amount| *amount > 0),
        text(&body, "currency"),
        text(&body, "notify_url"),
    ) else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-checkout",
            "missing or bad fields",
        );
    };
    let mut books = rails.books();
    let fresh = format!("chk_{}", books.checkouts.len() + 1);
    let checkout = books
        .checkouts
        .entry(reference.clone())
        .or_insert(Checkout {
            id: fresh,
            amount_minor,
            currency,
            notify_url,
            paid: false,
            refunded_minor: 0,
        });
    (
        StatusCode::CREATED,
        Json(checkout_json(&reference, checkout, &rails.paylink_url)),
    )
        .into_response()
}

async fn checkout(
    State(rails): State<FakeRails>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if !authorised(&headers, PAYLINK_KEY) {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorised", "bad API key");
    }
    match rails.books().checkouts.get(&reference) {
        Some(checkout) => {
            Json(checkout_json(&reference, checkout, &rails.paylink_url)).into_response()
        }
        None => json_error(StatusCode::NOT_FOUND, "not-found", "no such checkout"),
    }
}

async fn refund(
    State(rails): State<FakeRails>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers, PAYLINK_KEY) {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorised", "bad API key");
    }
    let (Some(of), Some(reference), Some(amount)) = (
        text(&body, "checkout_reference"),
        text(&body, "reference"),
        body["amount_minor"].as_i64(),
    ) else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-refund",
            "missing fields",
        );
    };
    let mut books = rails.books();
    if !books.refunds.contains_key(&reference) {
        let Some(checkout) = books
            .checkouts
            .get_mut(&of)
            .filter(|checkout| checkout.paid)
        else {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-paid",
                "nothing to refund",
            );
        };
        if checkout.refunded_minor + amount > checkout.amount_minor {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "too-much",
                "more than was paid",
            );
        }
        checkout.refunded_minor += amount;
        books.refunds.insert(reference.clone(), (of, amount));
    }
    let (_, amount) = books.refunds[&reference].clone();
    let currency = books
        .checkouts
        .get(&books.refunds[&reference].0)
        .map(|c| c.currency.clone());
    Json(json!({
        "refund_id": format!("rf_{reference}"),
        "reference": reference,
        "amount_minor": amount,
        "currency": currency,
    }))
    .into_response()
}

fn payout_json(reference: &str, payout: &Payout) -> Value {
    json!({
        "payout_id": payout.id,
        "reference": reference,
        "status": payout.status,
        "account": payout.account,
        "amount_minor": payout.amount_minor,
        "currency": payout.currency,
    })
}

async fn new_payout(
    State(rails): State<FakeRails>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers, WALLETLY_KEY) {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorised", "bad API key");
    }
    let (Some(reference), Some(account), Some(amount_minor), Some(currency), Some(callback)) = (
        text(&body, "reference"),
        text(&body, "account"),
        body["amount_minor"].as_i64().filter(|amount| *amount > 0),
        text(&body, "currency"),
        text(&body, "callback_url"),
    ) else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-payout",
            "missing or bad fields",
        );
    };
    let mut books = rails.books();
    books.payout_requests += 1;
    if let Some(earlier) = books.payouts.get(&reference) {
        return Json(payout_json(&reference, earlier)).into_response();
    }
    if !books.wallets.contains_key(&account) {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-account",
            "no such wallet",
        );
    }
    let later = account.ends_with('0');
    let payout = Payout {
        id: format!("po_{}", books.payouts.len() + 1),
        account: account.clone(),
        amount_minor,
        currency,
        status: if later { "pending" } else { "completed" },
    };
    *books.wallets.entry(account).or_default() += amount_minor;
    books.payouts.insert(reference.clone(), payout.clone());
    drop(books);
    if rails.troubled() {
        // Paid, but the answer is lost: the caller cannot know.
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "try later");
    }
    if later {
        let rails = rails.clone();
        let reference = reference.clone();
        tokio::spawn(async move { rails.complete_later(&reference, &callback).await });
    }
    Json(payout_json(&reference, &payout)).into_response()
}

impl FakeRails {
    async fn complete_later(&self, reference: &str, callback: &str) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let body = {
            let mut books = self.books();
            let payout = books.payouts.get_mut(reference).expect("the pay-out");
            payout.status = "completed";
            payout_json(reference, payout)
        };
        let _ = self.http.post(callback).json(&body).send().await;
    }
}

async fn payout(
    State(rails): State<FakeRails>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if !authorised(&headers, WALLETLY_KEY) {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorised", "bad API key");
    }
    if rails.troubled() {
        return json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try later");
    }
    match rails.books().payouts.get(&reference) {
        Some(payout) => Json(payout_json(&reference, payout)).into_response(),
        None => json_error(StatusCode::NOT_FOUND, "not-found", "no such pay-out"),
    }
}

// ---- the second corridor running in a real host ----

use corridor_host::client::Client;
use corridor_host::{ConnectorSource, Host, HostConfig};

/// The host running the PayLink → Walletly connector against [`FakeRails`],
/// with the sandbox's Centiglobe ledger.
pub struct SecondCorridor {
    /// The fake providers.
    pub rails: FakeRails,
    /// A client of the host's API.
    pub client: Client,
    /// The host.
    pub host: Host,
    _ledger: corridor_sandbox::Sandbox,
    _data: tempfile::TempDir,
}

/// The connector's policy, as an operator would write it.
fn second_policy(rails: &FakeRails) -> corridor_host::Policy {
    let text = format!(
        r#"id = "paylink-walletly"
[http]
allow = ["http://127.0.0.1:*"]
[config]
paylink_url = "{}"
walletly_url = "{}"
rate = "15.2500"
fee_minor = "75"
[secrets]
paylink_api_key = {{ env = "PAYLINK_API_KEY" }}
paylink_webhook_secret = {{ env = "PAYLINK_WEBHOOK_SECRET" }}
walletly_api_key = {{ env = "WALLETLY_API_KEY" }}
"#,
        rails.paylink_url, rails.walletly_url
    );
    let env = |name: &str| match name {
        "PAYLINK_API_KEY" => Some(PAYLINK_KEY.to_string()),
        "PAYLINK_WEBHOOK_SECRET" => Some(PAYLINK_WEBHOOK_SECRET.to_string()),
        "WALLETLY_API_KEY" => Some(WALLETLY_KEY.to_string()),
        _ => None,
    };
    corridor_host::Policy::parse(std::path::Path::new("paylink-walletly.toml"), &text, &env)
        .expect("the second corridor's policy is valid")
}

impl SecondCorridor {
    /// Quotes `amount` EUR in GHS and creates the transfer to `recipient`
    /// under the idempotency key `key`.
    pub async fn send(
        &self,
        amount: &str,
        recipient: &str,
        key: &str,
    ) -> corridor_host::api::view::TransferView {
        let quote = self
            .client
            .quote(amount, "EUR", "GHS")
            .await
            .expect("a quote");
        self.client
            .transfer(&quote.id, recipient, key)
            .await
            .expect("a transfer")
    }

    /// Starts the fakes (with `wallets` registered), a ledger and the host.
    pub async fn start(wallets: &[&str]) -> SecondCorridor {
        let rails = FakeRails::start(wallets).await;
        let ledger = corridor_sandbox::Sandbox::start(corridor_sandbox::SandboxConfig::default())
            .await
            .expect("the ledger starts");
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = HostConfig::new(data.path(), &ledger.ledger_url);
        config.engine = corridor_host::engine::EngineConfig {
            // A pay-out whose fate cannot be learned is held soon.
            max_attempts: 3,
            max_status_queries: 3,
            ..crate::Setup::default().engine
        };
        config.admin_bind = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        config.admin_tokens = corridor_host::api::admin::auth::AdminTokens::parse(
            &format!("operate alice {}\n", crate::ADMIN_OPERATE_TOKEN),
            None,
        )
        .expect("the test token parses");
        config.runtime = crate::runtime_config();
        let source = ConnectorSource {
            component: crate::wasm("corridor_paylink_walletly.wasm"),
            policy: second_policy(&rails),
        };
        let host = Host::start(config, vec![source])
            .await
            .expect("the host starts with the second corridor");
        SecondCorridor {
            client: Client::new(&host.url),
            rails,
            host,
            _ledger: ledger,
            _data: data,
        }
    }
}
