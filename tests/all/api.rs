//! The client API: bad input gets a stable code and a message and creates
//! nothing, whichever layer refuses it; idempotency keys; quotes that lapse
//! and are purged; per-client rate limits; connector failures that do not
//! leak their detail.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use corridor_host::api::{ApiConfig, RateLimit};
use corridor_host::{Clock, ConnectorSource, Host, HostConfig, ManualClock, QuoteRetention};
use corridor_tests::{Corridor, RECIPIENT, Setup, runtime_config, testbed_policy, testbed_wasm};
use serde_json::{Value, json};

async fn post(corridor: &Corridor, path: &str, body: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", corridor.url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("the host answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn transfer_count(corridor: &Corridor) -> usize {
    let listing: Value = reqwest::get(format!("{}/v1/transfers", corridor.url))
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    listing["transfers"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_stable_code_and_creates_nothing() {
    let corridor = Corridor::start(Setup::default()).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let cases: &[(&str, String, u16, &str)] = &[
        ("/v1/quotes", "not json".into(), 400, "invalid-json"),
        ("/v1/quotes", json!({"amount": "10.00", "currency": "USD", "receive_currency": "KESX"}).to_string(), 400, "invalid-currency"),
        ("/v1/quotes", json!({"amount": "10.00", "currency": "USD", "receive_currency": "KES", "extra": 1}).to_string(), 400, "invalid-request"),
        ("/v1/quotes", json!({"amount": "10.00", "currency": "usd", "receive_currency": "KES"}).to_string(), 400, "invalid-currency"),
        ("/v1/quotes", json!({"amount": "10.00", "currency": "EUR", "receive_currency": "KES"}).to_string(), 422, "unsupported-currency"),
        ("/v1/quotes", json!({"amount": "10.00", "currency": "USD", "receive_currency": "TZS"}).to_string(), 422, "unsupported-currency"),
        ("/v1/quotes", json!({"amount": "0", "currency": "USD", "receive_currency": "KES"}).to_string(), 400, "invalid-amount"),
        ("/v1/quotes", json!({"amount": "-5", "currency": "USD", "receive_currency": "KES"}).to_string(), 400, "invalid-amount"),
        ("/v1/quotes", json!({"amount": "10.001", "currency": "USD", "receive_currency": "KES"}).to_string(), 400, "invalid-amount"),
        ("/v1/quotes", json!({"amount": 10, "currency": "USD", "receive_currency": "KES"}).to_string(), 400, "invalid-request"),
        ("/v1/quotes", json!({"amount": "1000.01", "currency": "USD", "receive_currency": "KES"}).to_string(), 422, "amount-out-of-range"),
        ("/v1/quotes", json!({"amount": "0.99", "currency": "USD", "receive_currency": "KES"}).to_string(), 422, "amount-out-of-range"),
        ("/v1/transfers", json!({"quote_id": quote.id, "recipient": ""}).to_string(), 400, "invalid-recipient"),
        ("/v1/transfers", json!({"quote_id": quote.id, "recipient": "9".repeat(65)}).to_string(), 400, "invalid-recipient"),
        ("/v1/transfers", json!({"quote_id": quote.id, "recipient": "12345"}).to_string(), 422, "invalid-recipient"),
        ("/v1/transfers", json!({"quote_id": quote.id, "recipient": "255708374149"}).to_string(), 422, "invalid-recipient"),
        ("/v1/transfers", json!({"quote_id": "q_nope", "recipient": RECIPIENT}).to_string(), 404, "quote-not-found"),
        ("/v1/transfers", json!({"recipient": RECIPIENT}).to_string(), 400, "invalid-request"),
        ("/v1/transfers", json!({"quote_id": quote.id, "amount": "10.00", "currency": "USD", "recipient": RECIPIENT}).to_string(), 400, "invalid-request"),
    ];
    for (path, body, status, code) in cases {
        let (got_status, answer) = post(&corridor, path, body, None).await;
        assert_eq!(
            (got_status, answer["error"]["code"].as_str()),
            (*status, Some(*code)),
            "{path} {body}: {answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty())
        );
    }
    let (status, answer) = post(
        &corridor,
        "/v1/transfers",
        &json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string(),
        Some(""),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("invalid-idempotency-key"))
    );
    let missing = reqwest::get(format!("{}/v1/transfers/tr_nope", corridor.url))
        .await
        .expect("get");
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        transfer_count(&corridor).await,
        0,
        "bad input creates nothing"
    );
    assert_eq!(corridor.b2c_requests(), 0);
}

/// What a recipient is belongs to the connector: the host passes any
/// printable text on, and answers the connector's refusal with its words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_the_connector_refuses_is_invalid_recipient_with_its_message() {
    let corridor = Corridor::start(Setup::default()).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let refused = json!({"quote_id": quote.id, "recipient": "+255 708 374 149"}).to_string();
    let (status, answer) = post(&corridor, "/v1/transfers", &refused, Some("refused-1")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("invalid-recipient")),
        "{answer}"
    );
    assert_eq!(
        answer["error"]["message"],
        "recipient: \"+255 708 374 149\" is not a Kenyan mobile number such as 254708374149 or 0708374149",
        "the connector's message, as it wrote it"
    );
    assert_eq!(transfer_count(&corridor).await, 0, "nothing is stored");
    let accepted = json!({"quote_id": quote.id, "recipient": "0708 374 149"}).to_string();
    let (status, transfer) = post(&corridor, "/v1/transfers", &accepted, Some("accepted-1")).await;
    assert_eq!(status, 201, "the quote is still free: {transfer}");
    assert_eq!(
        transfer["pay_out"]["recipient"], "254708374149",
        "stored as the connector normalised it"
    );
    assert_eq!(transfer["pay_out"]["details"]["msisdn"], "254708374149");
    assert_eq!(
        transfer["pay_in"]["details"]["out_trade_no"],
        transfer["pay_in"]["reference"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_gives_the_same_transfer_and_a_different_body_conflicts() {
    let corridor = Corridor::start(Setup::default()).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let body = json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string();
    let (first_status, first) = post(&corridor, "/v1/transfers", &body, Some("order-42")).await;
    let (again_status, again) = post(&corridor, "/v1/transfers", &body, Some("order-42")).await;
    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(first["id"], again["id"]);
    let other = json!({"quote_id": quote.id, "recipient": "254705912645"}).to_string();
    let (status, answer) = post(&corridor, "/v1/transfers", &other, Some("order-42")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("idempotency-key-reused"))
    );
    let (status, answer) = post(&corridor, "/v1/transfers", &body, Some("order-43")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("quote-used")),
        "one transfer per quote"
    );
    assert_eq!(transfer_count(&corridor).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_quote_is_refused_and_creates_nothing() {
    let clock = ManualClock::new(corridor_host::SystemClock.now_ms());
    let corridor = Corridor::start(Setup {
        clock: Arc::new(clock.clone()),
        ..Setup::default()
    })
    .await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    clock.advance(Duration::from_millis(
        quote.expires_at_ms - quote.created_at_ms,
    ));
    let body = json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string();
    let (status, answer) = post(&corridor, "/v1/transfers", &body, Some("late")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("quote-expired")),
        "{answer}"
    );
    assert_eq!(transfer_count(&corridor).await, 0);
}

async fn send(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("the host answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or_default())
}

fn code(answer: &Value) -> Option<&str> {
    answer["error"]["code"].as_str()
}

fn quote_body() -> String {
    json!({"amount": "10.00", "currency": "USD", "receive_currency": "KES"}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_from_routing_and_body_limits_are_json_with_a_code() {
    let corridor = Corridor::start(Setup::default()).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", corridor.url);
    let (status, headers, answer) = send(client.delete(url("/v1/quotes"))).await;
    assert_eq!(
        (status, code(&answer)),
        (405, Some("method-not-allowed")),
        "{answer}"
    );
    assert_eq!(
        headers.get("allow").and_then(|allow| allow.to_str().ok()),
        Some("POST"),
        "405 names the methods the route takes"
    );
    let (status, _, answer) = send(client.put(url("/v1/transfers/tr_nope"))).await;
    assert_eq!(
        (status, code(&answer)),
        (405, Some("method-not-allowed")),
        "{answer}"
    );
    let (status, _, answer) = send(client.get(url("/v2/nowhere"))).await;
    assert_eq!(
        (status, code(&answer)),
        (404, Some("not-found")),
        "{answer}"
    );
    let (status, _, answer) = send(client.get(url("/v1/transfers/%FF%FE"))).await;
    assert_eq!(
        (status, code(&answer)),
        (400, Some("invalid-path")),
        "{answer}"
    );
    let padding = "x".repeat(65 << 10);
    let oversized =
        json!({"amount": "10.00", "currency": "USD", "receive_currency": "KES", "pad": padding});
    let (status, _, answer) = send(
        client
            .post(url("/v1/transfers"))
            .header("content-type", "application/json")
            .body(oversized.to_string()),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (413, Some("body-too-large")),
        "{answer}"
    );
    let callback = url("/callbacks/alipay-mpesa/pay-in/tr_nope/secret");
    let (status, _, answer) = send(client.post(callback).body(vec![b'x'; 2 << 20])).await;
    assert_eq!(
        (status, code(&answer)),
        (413, Some("body-too-large")),
        "{answer}"
    );
    assert_eq!(
        transfer_count(&corridor).await,
        0,
        "refusals create nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_post_that_is_not_declared_json_is_refused_with_415() {
    let corridor = Corridor::start(Setup::default()).await;
    let client = reqwest::Client::new();
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let transfer = json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
        Some("application/jsonp"),
    ] {
        for (path, body) in [
            ("/v1/quotes", quote_body()),
            ("/v1/transfers", transfer.clone()),
        ] {
            let mut request = client.post(format!("{}{path}", corridor.url)).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let (status, _, answer) = send(request).await;
            assert_eq!(
                (status, code(&answer)),
                (415, Some("unsupported-media-type")),
                "{path} as {content_type:?}: {answer}"
            );
        }
    }
    assert_eq!(
        transfer_count(&corridor).await,
        0,
        "refusals create nothing"
    );
    let (status, _, answer) = send(
        client
            .post(format!("{}/v1/transfers", corridor.url))
            .header("content-type", "application/json; charset=UTF-8")
            .body(transfer),
    )
    .await;
    assert_eq!(status, 201, "JSON with charset=utf-8 is JSON: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_repeats_a_key_is_refused_and_creates_nothing() {
    let corridor = Corridor::start(Setup::default()).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let cases = [
        (
            "/v1/quotes",
            r#"{"amount": "10.00", "amount": "999.00", "currency": "USD", "receive_currency": "KES"}"#.to_string(),
        ),
        (
            "/v1/transfers",
            format!(r#"{{"quote_id": "{}", "recipient": "{RECIPIENT}", "recipient": "254705912645"}}"#, quote.id),
        ),
        (
            "/v1/transfers",
            format!(r#"{{"quote_id": "{0}", "quote_id": "{0}", "recipient": "{RECIPIENT}"}}"#, quote.id),
        ),
    ];
    for (path, body) in &cases {
        let (status, answer) = post(&corridor, path, body, Some("dup-keys")).await;
        assert_eq!(
            (status, code(&answer)),
            (400, Some("invalid-json")),
            "{body}: {answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|message| message.contains("twice")),
            "{answer}"
        );
    }
    assert_eq!(
        transfer_count(&corridor).await,
        0,
        "refusals create nothing"
    );
    let body = json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string();
    let (status, _) = post(&corridor, "/v1/transfers", &body, Some("dup-keys")).await;
    assert_eq!(status, 201, "the key was not spent by the refused requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_given_twice_is_refused_and_creates_nothing() {
    let corridor = Corridor::start(Setup::default()).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let body = json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string();
    for (first, second) in [("order-1", "order-2"), ("order-1", "order-1")] {
        let (status, _, answer) = send(
            reqwest::Client::new()
                .post(format!("{}/v1/transfers", corridor.url))
                .header("content-type", "application/json")
                .header("idempotency-key", first)
                .header("idempotency-key", second)
                .body(body.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&answer)),
            (400, Some("invalid-idempotency-key")),
            "{first}, {second}: {answer}"
        );
    }
    assert_eq!(
        transfer_count(&corridor).await,
        0,
        "refusals create nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_that_contradicts_its_quote_is_refused_and_creates_nothing() {
    let corridor = Corridor::start(Setup::default()).await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    for contradiction in [
        json!({"quote_id": quote.id, "recipient": RECIPIENT, "receive_currency": "CNY"}),
        json!({"quote_id": quote.id, "recipient": RECIPIENT, "receive_currency": "USD"}),
        json!({"quote_id": quote.id, "recipient": RECIPIENT, "connector": "testbed"}),
    ] {
        let (status, answer) =
            post(&corridor, "/v1/transfers", &contradiction.to_string(), None).await;
        assert_eq!(
            (status, code(&answer)),
            (422, Some("quote-mismatch")),
            "{contradiction}: {answer}"
        );
    }
    assert_eq!(
        transfer_count(&corridor).await,
        0,
        "refusals create nothing"
    );
    let agreeing = json!({"quote_id": quote.id, "recipient": RECIPIENT, "receive_currency": "KES"});
    let (status, answer) = post(&corridor, "/v1/transfers", &agreeing.to_string(), None).await;
    assert_eq!(status, 201, "repeating the quote's terms is fine: {answer}");
    assert_eq!(answer["pay_out"]["amount"]["currency"], "KES");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_creation_budget_gets_429_with_retry_after_and_creates_nothing() {
    let corridor = Corridor::start(Setup {
        api: ApiConfig {
            creation_rate: RateLimit {
                replenish_every: Duration::from_secs(3600),
                burst: NonZeroU32::new(2).expect("2 is not zero"),
            },
            ..ApiConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let quote = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("the first is within budget");
    let body = json!({"quote_id": quote.id, "recipient": RECIPIENT}).to_string();
    let (status, _) = post(&corridor, "/v1/transfers", &body, Some("within")).await;
    assert_eq!(status, 201, "the second is within budget");
    for (path, body) in [
        ("/v1/quotes", quote_body()),
        (
            "/v1/transfers",
            json!({"amount": "10.00", "currency": "USD", "recipient": RECIPIENT}).to_string(),
        ),
    ] {
        let (status, headers, answer) = send(
            reqwest::Client::new()
                .post(format!("{}{path}", corridor.url))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(
            (status, code(&answer)),
            (429, Some("rate-limited")),
            "{path}: {answer}"
        );
        let retry_after_s: u64 = headers
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse().ok())
            .expect("a Retry-After in seconds");
        assert!((1..=3600).contains(&retry_after_s), "{retry_after_s}");
    }
    assert_eq!(
        transfer_count(&corridor).await,
        1,
        "reading is not limited; nothing more was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_quotes_are_purged_after_their_grace_and_used_ones_are_kept() {
    let clock = ManualClock::new(corridor_host::SystemClock.now_ms());
    let corridor = Corridor::start(Setup {
        clock: Arc::new(clock.clone()),
        quote_retention: QuoteRetention {
            sweep_every: Duration::from_millis(20),
            grace: Duration::from_secs(60),
        },
        ..Setup::default()
    })
    .await;
    let unused = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let used = corridor
        .client
        .quote("10.00", "USD", "KES")
        .await
        .expect("a quote");
    let made = corridor
        .client
        .transfer(&used.id, RECIPIENT, "kept")
        .await
        .expect("a transfer");
    let ask = |quote_id: &str| json!({"quote_id": quote_id, "recipient": RECIPIENT}).to_string();
    clock.advance(Duration::from_millis(
        unused.expires_at_ms - unused.created_at_ms,
    ));
    let (status, answer) = post(&corridor, "/v1/transfers", &ask(&unused.id), None).await;
    assert_eq!(
        (status, code(&answer)),
        (422, Some("quote-expired")),
        "kept during its grace"
    );
    clock.advance(Duration::from_secs(61));
    let mut purged = false;
    for _ in 0..500 {
        let (status, answer) = post(&corridor, "/v1/transfers", &ask(&unused.id), None).await;
        if (status, code(&answer)) == (404, Some("quote-not-found")) {
            purged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(purged, "the unused quote was never purged");
    let (status, answer) = post(&corridor, "/v1/transfers", &ask(&used.id), None).await;
    assert_eq!(
        (status, code(&answer)),
        (422, Some("quote-expired")),
        "a used quote is kept: {answer}"
    );
    assert_eq!(
        corridor
            .client
            .get(&made.id)
            .await
            .expect("its transfer")
            .quote_id,
        used.id
    );
    assert_eq!(transfer_count(&corridor).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_failure_reaches_the_client_as_a_short_message_with_a_reference() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = HostConfig::new(data.path(), "http://127.0.0.1:1");
    config.runtime = runtime_config();
    let source = ConnectorSource {
        component: testbed_wasm(),
        policy: testbed_policy("panic", ""),
    };
    let host = Host::start(config, vec![source])
        .await
        .expect("the host starts");
    let (status, _, answer) = send(
        reqwest::Client::new()
            .post(format!("{}/v1/quotes", host.url))
            .header("content-type", "application/json")
            .body(
                json!({"amount": "10.00", "currency": "USD", "receive_currency": "USD"})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (502, Some("connector-error")),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the connector failed: trap in quote; see the host log, ref "),
        "{message}"
    );
    for leak in ["backtrace", "panic", "/", ".rs", "wasm"] {
        assert!(!message.contains(leak), "{leak:?} in {message}");
    }
    let listing: Value = reqwest::get(format!("{}/v1/transfers", host.url))
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listing["transfers"], json!([]));
}

/// A transfer by amount, without a quote and without naming the receive
/// currency, is priced in the one currency the corridor's descriptor pays
/// out: the host itself names no currency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_by_amount_receives_the_corridors_only_pay_out_currency() {
    let corridor = Corridor::start(Setup::default()).await;
    let body = json!({"amount": "10.00", "currency": "USD", "recipient": "0708374149"});
    let (status, transfer) = post(&corridor, "/v1/transfers", &body.to_string(), None).await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(
        transfer["pay_out"]["amount"]["currency"], "KES",
        "{transfer}"
    );
    let body = json!({"amount": "10.00", "currency": "USD"});
    let (status, quote) = post(&corridor, "/v1/quotes", &body.to_string(), None).await;
    assert_eq!(status, 201, "{quote}");
    assert_eq!(quote["receive"]["currency"], "KES", "so does a quote");
}
