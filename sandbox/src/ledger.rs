//! The Centiglobe ledger (the thesis's simulated blockchain): `register` a
//! transfer, get a ledger id; `check` it. Registering the same reference twice
//! returns the first ledger id.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::World;
use crate::faults::lock;

/// A registration request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The caller's unique reference for the transfer.
    pub reference: String,
    /// Free-form facts to record (pay-in and pay-out ids, amounts).
    #[serde(default)]
    pub facts: serde_json::Map<String, serde_json::Value>,
}

/// A recorded transfer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The ledger's id.
    pub ledger_id: String,
    /// The caller's reference.
    pub reference: String,
    /// What was registered.
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// Always `confirmed` once registered.
    pub status: String,
}

/// The ledger's records, in registration order.
#[derive(Default)]
pub struct Ledger {
    records: Vec<Record>,
}

impl Ledger {
    /// Every record, for the audit list.
    pub fn records(&self) -> Vec<Record> {
        self.records.clone()
    }
}

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/ledger/register", post(register))
        .route("/ledger/check/{ledger_id}", get(check))
        .with_state(world)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": code, "message": message })),
    )
        .into_response()
}

async fn register(State(world): State<Arc<World>>, body: String) -> Response {
    let latency = world
        .config
        .delay(world.config.ledger.register_latency_ms, 5000);
    if let Some(injected) = world.gate("ledger.register", latency).await {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &format!("{injected:?}"),
        );
    }
    let registration: Registration = match serde_json::from_str(&body) {
        Ok(registration) => registration,
        Err(problem) => return error(StatusCode::BAD_REQUEST, "bad-request", &problem.to_string()),
    };
    if registration.reference.is_empty() || registration.reference.len() > 128 {
        return error(
            StatusCode::BAD_REQUEST,
            "bad-reference",
            "reference must be 1 to 128 characters",
        );
    }
    let record = {
        let mut ledger = lock(&world.ledger);
        match ledger
            .records
            .iter()
            .find(|record| record.reference == registration.reference)
        {
            Some(existing) => existing.clone(),
            None => {
                let record = Record {
                    ledger_id: format!("LDG{:010}", ledger.records.len() + 1),
                    reference: registration.reference,
                    facts: registration.facts,
                    status: "confirmed".into(),
                };
                ledger.records.push(record.clone());
                record
            }
        }
    };
    world.journal.record(
        "ledger",
        crate::journal::Direction::Received,
        "POST /ledger/register".into(),
        200,
        body,
    );
    Json(record).into_response()
}

async fn check(State(world): State<Arc<World>>, Path(ledger_id): Path<String>) -> Response {
    let latency = world
        .config
        .delay(world.config.ledger.check_latency_ms, 100);
    if let Some(injected) = world.gate("ledger.check", latency).await {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            &format!("{injected:?}"),
        );
    }
    let found = lock(&world.ledger)
        .records
        .iter()
        .find(|record| record.ledger_id == ledger_id)
        .cloned();
    match found {
        Some(record) => Json(record).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not-found",
            &format!("no ledger entry {ledger_id}"),
        ),
    }
}
