//! The operators' API on its own listener: tokens and roles, the transfer
//! listing and its filters, held transfers retried and resolved (each
//! audited, each refusal changing nothing), the OpenAPI documents and the
//! CLI verbs over it.

use std::time::Duration;

use clap::Parser;
use corridor_host::cli::{Cli, run};
use corridor_host::engine::model::TransferState;
use corridor_sandbox::faults::{EndpointFaults, FaultPlan};
use corridor_tests::{ADMIN_OPERATE_TOKEN, ADMIN_READ_TOKEN, Corridor, RECIPIENT, Setup};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    www_authenticate: Option<String>,
    body: Value,
}

async fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut request = match method {
        "GET" => http.get(url),
        _ => http.post(url),
    };
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the host answers");
    let status = response.status().as_u16();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.expect("a body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        www_authenticate,
        body,
    }
}

fn ledger_down() -> FaultPlan {
    let down = EndpointFaults {
        error_percent: 100,
        ..EndpointFaults::default()
    };
    FaultPlan {
        endpoints: [("ledger.register".to_string(), down)].into(),
        ..FaultPlan::default()
    }
}

/// A paid-in transfer held because the ledger refused every registration.
async fn held_on_the_ledger(corridor: &Corridor) -> String {
    corridor.sandbox.set_faults(ledger_down());
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    corridor
        .wait_for_state(&transfer.id, TransferState::Held)
        .await;
    corridor.sandbox.set_faults(FaultPlan::default());
    transfer.id
}

fn held_setup() -> Setup {
    let mut setup = Setup::default();
    setup.engine.max_attempts = 2;
    setup
}

async fn audit(corridor: &Corridor) -> Vec<Value> {
    let url = format!("{}/admin/v1/audit", corridor.admin_url());
    let answer = call("GET", &url, Some(ADMIN_READ_TOKEN), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn state_of(corridor: &Corridor, id: &str) -> TransferState {
    corridor.client.get(id).await.expect("the transfer").state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_refuse_no_token_an_unknown_one_and_a_read_token_on_an_operate_route() {
    let corridor = Corridor::start(Setup::default()).await;
    let admin = corridor.admin_url();
    let list = format!("{admin}/admin/v1/transfers");
    let none = call("GET", &list, None, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["error"]["code"], "unauthorized");
    assert!(
        none.www_authenticate
            .is_some_and(|value| value.starts_with("Bearer"))
    );
    let unknown = call("GET", &list, Some("not-a-token-the-host-knows"), None).await;
    assert_eq!(unknown.status, 401);
    let retry = format!("{admin}/admin/v1/transfers/tr_none/retry");
    let body = json!({ "reason": "looking" });
    let read_on_operate = call("POST", &retry, Some(ADMIN_READ_TOKEN), Some(body.clone())).await;
    assert_eq!(read_on_operate.status, 403);
    assert_eq!(read_on_operate.body["error"]["code"], "forbidden");
    assert_eq!(
        call("GET", &list, Some(ADMIN_READ_TOKEN), None)
            .await
            .status,
        200
    );
    let operate = call("POST", &retry, Some(ADMIN_OPERATE_TOKEN), Some(body)).await;
    assert_eq!(operate.status, 404, "authorised, and no such transfer");
    for open in ["/health", "/ready", "/openapi.json"] {
        assert_eq!(
            call("GET", &format!("{admin}{open}"), None, None)
                .await
                .status,
            200,
            "{open}"
        );
    }
    assert!(
        audit(&corridor).await.len() == 1,
        "only the authorised change is audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_listing_filters_by_state_and_refuses_unknown_parameters() {
    let corridor = Corridor::start(Setup::default()).await;
    let paid = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&paid).await;
    corridor
        .wait_for_state(&paid.id, TransferState::Completed)
        .await;
    let waiting = corridor.send("10.00", RECIPIENT).await;
    let url = |query: &str| format!("{}/v1/transfers?{query}", corridor.url);
    let ids = |answer: &Answer| -> Vec<String> {
        answer.body["transfers"]
            .as_array()
            .expect("transfers")
            .iter()
            .map(|transfer| transfer["id"].as_str().expect("an id").to_string())
            .collect()
    };
    let awaiting = call("GET", &url("state=awaiting-pay-in"), None, None).await;
    assert_eq!(ids(&awaiting), [waiting.id]);
    let held = call("GET", &url("state=held"), None, None).await;
    assert!(ids(&held).is_empty(), "no transfer is held");
    let unknown = call("GET", &url("color=blue"), None, None).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"]["code"], "invalid-query");
    let bad_state = call("GET", &url("state=stuck"), None, None).await;
    assert_eq!(bad_state.body["error"]["code"], "invalid-query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listing_filters_and_pages_with_a_cursor() {
    let corridor = Corridor::start(Setup::default()).await;
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(corridor.send("10.00", RECIPIENT).await.id);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let admin = corridor.admin_url();
    let page = |query: String| {
        let url = format!("{admin}/admin/v1/transfers?{query}");
        async move { call("GET", &url, Some(ADMIN_READ_TOKEN), None).await.body }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["transfers"]
            .as_array()
            .expect("transfers")
            .iter()
            .map(|transfer| transfer["id"].as_str().expect("an id").to_string())
            .collect()
    };
    let first = page("limit=2".into()).await;
    assert_eq!(
        ids(&first),
        [sent[2].clone(), sent[1].clone()],
        "newest first"
    );
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = page(format!("limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), [sent[0].clone()]);
    assert!(second["next_cursor"].is_null(), "the last page");
    assert_eq!(
        ids(&page("connector=alipay-mpesa&state=awaiting-pay-in".into()).await).len(),
        3
    );
    assert!(ids(&page("connector=another".into()).await).is_empty());
    assert!(ids(&page("created_to=1".into()).await).is_empty());
    assert_eq!(ids(&page("created_from=1".into()).await).len(), 3);
    assert!(ids(&page("state=held".into()).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_transfer_retried_once_the_ledger_is_back_completes_and_the_retry_is_audited() {
    let corridor = Corridor::start(held_setup()).await;
    let id = held_on_the_ledger(&corridor).await;
    let admin = corridor.admin_url();
    let held = call(
        "GET",
        &format!("{admin}/admin/v1/transfers?state=held"),
        Some(ADMIN_READ_TOKEN),
        None,
    )
    .await;
    assert_eq!(held.body["transfers"][0]["id"], id.as_str());
    let url = format!("{admin}/admin/v1/transfers/{id}/retry");
    let no_reason = call(
        "POST",
        &url,
        Some(ADMIN_OPERATE_TOKEN),
        Some(json!({ "reason": " " })),
    )
    .await;
    assert_eq!(no_reason.status, 400, "a reason is required");
    assert_eq!(state_of(&corridor, &id).await, TransferState::Held);
    let body = json!({ "reason": "the ledger is back" });
    let retried = call("POST", &url, Some(ADMIN_OPERATE_TOKEN), Some(body.clone())).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    corridor.wait_for_state(&id, TransferState::Completed).await;
    assert_eq!(corridor.b2c_requests(), 1);
    let again = call("POST", &url, Some(ADMIN_OPERATE_TOKEN), Some(body)).await;
    assert_eq!(again.status, 409, "a completed transfer is not retried");
    assert_eq!(again.body["error"]["code"], "refused");
    let entries = audit(&corridor).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["outcome"]
            .as_str()
            .map(|o| o.starts_with("refused")),
        Some(true)
    );
    assert_eq!(entries[1]["actor"], "alice");
    assert_eq!(entries[1]["operation"], "transfer.retry");
    assert_eq!(entries[1]["target"], id.as_str());
    assert_eq!(entries[1]["reason"], "the ledger is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_resolution_refunds_exactly_once_and_paid_out_without_a_pay_out_is_refused() {
    let corridor = Corridor::start(held_setup()).await;
    let buyer_before = corridor.buyer_balance();
    let id = held_on_the_ledger(&corridor).await;
    let url = format!("{}/admin/v1/transfers/{id}/resolve", corridor.admin_url());
    let paid_out =
        json!({ "action": "paid-out", "receipt": "SG000000", "reason": "the customer says so" });
    let refused = call("POST", &url, Some(ADMIN_OPERATE_TOKEN), Some(paid_out)).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(
        state_of(&corridor, &id).await,
        TransferState::Held,
        "a refusal changes nothing"
    );
    let refund = json!({ "action": "refund", "reason": "the ledger lost it" });
    let resolved = call(
        "POST",
        &url,
        Some(ADMIN_OPERATE_TOKEN),
        Some(refund.clone()),
    )
    .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    corridor.wait_for_state(&id, TransferState::Refunded).await;
    let again = call("POST", &url, Some(ADMIN_OPERATE_TOKEN), Some(refund)).await;
    assert_eq!(again.status, 409);
    assert_eq!(corridor.refund_requests(), 1, "exactly one refund");
    assert_eq!(corridor.b2c_requests(), 0, "nothing paid out");
    assert_eq!(corridor.buyer_balance(), buyer_before, "every fen back");
    let operations: Vec<String> = audit(&corridor)
        .await
        .iter()
        .map(|entry| {
            format!(
                "{} {}",
                entry["operation"].as_str().unwrap_or("?"),
                entry["outcome"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(operations.len(), 3, "{operations:?}");
    assert!(
        operations[0].starts_with("transfer.resolve.refund refused"),
        "{operations:?}"
    );
    assert!(
        operations[1].starts_with("transfer.resolve.refund done"),
        "{operations:?}"
    );
    assert!(
        operations[2].starts_with("transfer.resolve.paid-out refused"),
        "{operations:?}"
    );
}

/// Daraja's status query answers by callback, so the host's own query never
/// confirms a receipt there: marking it paid out is refused, and nothing moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_paid_out_is_refused_when_the_providers_query_does_not_confirm_the_receipt() {
    let mut setup = Setup::default();
    setup.sandbox.mpesa.initiator_password = "not-what-the-policy-grants".into();
    setup.engine.max_status_queries = 2;
    let corridor = Corridor::start(setup).await;
    let transfer = corridor.send("10.00", RECIPIENT).await;
    corridor.pay(&transfer).await;
    let held = corridor
        .wait_for_state(&transfer.id, TransferState::Held)
        .await;
    let url = format!(
        "{}/admin/v1/transfers/{}/resolve",
        corridor.admin_url(),
        transfer.id
    );
    let body = json!({ "action": "paid-out", "receipt": "SG632NMUAB", "reason": "M-PESA portal shows it" });
    let refused = call("POST", &url, Some(ADMIN_OPERATE_TOKEN), Some(body)).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let after = corridor
        .client
        .get(&transfer.id)
        .await
        .expect("the transfer");
    assert_eq!(after.state, TransferState::Held);
    assert_eq!(
        after.events.len(),
        held.events.len(),
        "a refusal changes nothing"
    );
    let refund = json!({ "action": "refund", "reason": "try" });
    let refused = call("POST", &url, Some(ADMIN_OPERATE_TOKEN), Some(refund)).await;
    assert_eq!(
        refused.status, 409,
        "the provider has not said the pay-out failed: {}",
        refused.body
    );
    assert_eq!(corridor.refund_requests(), 0);
}

#[test]
fn every_route_the_routers_serve_is_in_its_openapi_document() {
    let documents = [
        (
            corridor_host::api::ROUTES,
            corridor_host::api::openapi::client(),
        ),
        (
            corridor_host::api::admin::ROUTES,
            corridor_host::api::openapi::admin(),
        ),
    ];
    for (routes, document) in documents {
        let document = serde_json::to_value(document).expect("the document serializes");
        for (method, path) in routes {
            assert!(
                document["paths"][path][method].is_object(),
                "{method} {path} is not in the document"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_verbs_list_retry_and_read_the_audit_and_a_refusal_is_an_error() {
    let corridor = Corridor::start(held_setup()).await;
    let id = held_on_the_ledger(&corridor).await;
    let admin = corridor.admin_url();
    let cli = |arguments: Vec<&str>| Cli::parse_from(std::iter::once("corridor").chain(arguments));
    let with = |verb: Vec<&'static str>, token: &'static str| {
        let mut arguments = verb;
        arguments.extend([
            "--admin-url",
            Box::leak(admin.clone().into_boxed_str()),
            "--token",
            token,
        ]);
        arguments
    };
    run(cli(with(
        vec!["transfers", "list", "--state", "held"],
        ADMIN_READ_TOKEN,
    )))
    .await
    .expect("list");
    let leaked: &'static str = Box::leak(id.clone().into_boxed_str());
    let refused = run(cli(with(
        vec!["transfers", "retry", leaked, "--reason", "try"],
        ADMIN_READ_TOKEN,
    )))
    .await;
    assert!(
        refused
            .expect_err("a read token cannot retry")
            .to_string()
            .contains("forbidden")
    );
    assert_eq!(state_of(&corridor, &id).await, TransferState::Held);
    run(cli(with(
        vec!["transfers", "retry", leaked, "--reason", "ledger back"],
        ADMIN_OPERATE_TOKEN,
    )))
    .await
    .expect("retry");
    corridor.wait_for_state(&id, TransferState::Completed).await;
    let summary = corridor_host::commands::admin::execute(
        &corridor_host::commands::admin::AdminArgs {
            admin_url: admin.clone(),
            token: ADMIN_READ_TOKEN.into(),
            json: false,
        },
        &corridor_host::commands::admin::Verb::Audit { limit: Some(10) },
    )
    .await
    .expect("audit");
    assert!(
        summary.contains("transfer.retry") && summary.contains("ledger back"),
        "{summary}"
    );
    run(cli(with(vec!["audit", "--json"], ADMIN_READ_TOKEN)))
        .await
        .expect("audit --json");
    let bad = run(cli(with(
        vec!["transfers", "resolve", leaked, "--reason", "x", "--refund"],
        ADMIN_OPERATE_TOKEN,
    )))
    .await;
    assert!(
        bad.expect_err("a completed transfer is not refunded")
            .to_string()
            .starts_with("refused")
    );
}
