//! The control API, for tests and the demo: what each simulator received and
//! sent, balances, the ledger's audit list, the fault plan and the FX rates.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::World;
use crate::faults::{FaultPlan, lock};
use crate::fx::RateTable;

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/control/journal", get(journal))
        .route("/control/faults", get(faults).put(set_faults))
        .route("/control/fx", get(rates).put(set_rates))
        .route("/control/balances", get(balances))
        .route("/control/ledger", get(ledger))
        .route("/control/alipay/trades", get(trades))
        .route("/control/momo/transfers", get(momo_transfers))
        .route("/control/mpesa/c2b/pay", post(mpesa_c2b_pay))
        .with_state(world)
}

#[derive(Deserialize)]
struct JournalQuery {
    service: Option<String>,
}

async fn journal(State(world): State<Arc<World>>, Query(query): Query<JournalQuery>) -> Response {
    Json(world.journal.entries(query.service.as_deref())).into_response()
}

async fn faults(State(world): State<Arc<World>>) -> Response {
    Json(world.faults.plan()).into_response()
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "code": "bad-request", "message": message })),
    )
        .into_response()
}

async fn set_faults(State(world): State<Arc<World>>, body: String) -> Response {
    match serde_json::from_str::<FaultPlan>(&body) {
        Ok(plan) => {
            world.faults.set(plan.clone());
            Json(plan).into_response()
        }
        Err(error) => bad_request(error.to_string()),
    }
}

async fn rates(State(world): State<Arc<World>>) -> Response {
    Json(lock(&world.fx).clone()).into_response()
}

/// Replaces the rates: `{"USD/KES": "101.25", …}`.
async fn set_rates(State(world): State<Arc<World>>, body: String) -> Response {
    let parsed = serde_json::from_str::<BTreeMap<String, String>>(&body)
        .map_err(|error| error.to_string())
        .and_then(|rates| RateTable::from_config(&rates).map_err(|error| error.to_string()));
    match parsed {
        Ok(mut table) => {
            let mut current = lock(&world.fx);
            table.version = current.version + 1;
            *current = table.clone();
            Json(table).into_response()
        }
        Err(message) => bad_request(message),
    }
}

async fn balances(State(world): State<Arc<World>>) -> Response {
    Json(serde_json::json!({
        "mpesa": world.mpesa.balances(),
        "momo": world.momo.balances(),
        "alipay_buyers_cny_fen": world.alipay.buyer_balances(),
    }))
    .into_response()
}

async fn ledger(State(world): State<Arc<World>>) -> Response {
    Json(lock(&world.ledger).records()).into_response()
}

async fn trades(State(world): State<Arc<World>>) -> Response {
    Json(world.alipay.trades()).into_response()
}

async fn momo_transfers(State(world): State<Arc<World>>) -> Response {
    Json(world.momo.transfers()).into_response()
}

/// "Customer `msisdn` pays Paybill `shortcode`, account `account`, `amount`",
/// in the form the Paybill registered for; answers with the outcome.
async fn mpesa_c2b_pay(State(world): State<Arc<World>>, body: String) -> Response {
    crate::mpesa::control_c2b_pay(world, &body).await
}
