//! The client API: bad input gets a stable code and a message and creates
//! nothing; idempotency keys; quotes that lapse.

use std::sync::Arc;
use std::time::Duration;

use corridor_host::{Clock, ManualClock};
use corridor_tests::{Corridor, RECIPIENT, Setup};
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
        ("/v1/quotes", json!({"amount": "10.00", "currency": "USD"}).to_string(), 400, "invalid-request"),
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
        ("/v1/transfers", json!({"quote_id": quote.id, "recipient": "12345"}).to_string(), 400, "invalid-recipient"),
        ("/v1/transfers", json!({"quote_id": quote.id, "recipient": "255708374149"}).to_string(), 400, "invalid-recipient"),
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
