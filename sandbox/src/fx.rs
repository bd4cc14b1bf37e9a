//! FX rates: `GET /v1/rates?base=USD` → every rate from `base`, each an exact
//! decimal string, with the time they stop being valid. Rates change through the
//! control API (`PUT /control/fx`), so quotes and their expiry matter.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::World;
use crate::faults::lock;
use crate::money::Rate;

/// The published rates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RateTable {
    /// "FROM/TO" → rate, units of TO per unit of FROM.
    pub rates: BTreeMap<String, Rate>,
    /// Incremented on every change.
    pub version: u64,
}

impl RateTable {
    /// Parses the configured rates.
    pub fn from_config(rates: &BTreeMap<String, String>) -> anyhow::Result<RateTable> {
        let mut table = BTreeMap::new();
        for (pair, text) in rates {
            let valid_pair = pair
                .split_once('/')
                .is_some_and(|(from, to)| is_currency(from) && is_currency(to));
            anyhow::ensure!(
                valid_pair,
                "fx.rates: {pair:?} is not FROM/TO with ISO 4217 codes"
            );
            let rate = Rate::parse(text)
                .ok_or_else(|| anyhow::anyhow!("fx.rates.{pair}: {text:?} is not a decimal"))?;
            table.insert(pair.clone(), rate);
        }
        Ok(RateTable {
            rates: table,
            version: 1,
        })
    }

    /// The rate from `from` to `to`.
    pub fn rate(&self, from: &str, to: &str) -> Option<Rate> {
        self.rates.get(&format!("{from}/{to}")).copied()
    }
}

fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase())
}

pub(crate) fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/v1/rates", get(rates))
        .with_state(world)
}

#[derive(Deserialize)]
struct RatesQuery {
    base: String,
}

async fn rates(State(world): State<Arc<World>>, Query(query): Query<RatesQuery>) -> Response {
    if let Some(injected) = world.gate("fx.rates", std::time::Duration::ZERO).await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{injected:?}")).into_response();
    }
    if !is_currency(&query.base) {
        let body = serde_json::json!({"code": "bad-currency", "message": format!("{:?} is not an ISO 4217 code", query.base)});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let table = lock(&world.fx).clone();
    let prefix = format!("{}/", query.base);
    let rates: BTreeMap<String, String> = table
        .rates
        .iter()
        .filter_map(|(pair, rate)| {
            pair.strip_prefix(&prefix)
                .map(|to| (to.to_string(), rate.to_string()))
        })
        .collect();
    let now_ms = crate::now_ms();
    Json(serde_json::json!({
        "base": query.base,
        "rates": rates,
        "version": table.version,
        "as_of_ms": now_ms,
        "valid_until_ms": now_ms.saturating_add(world.config.fx.validity_s.saturating_mul(1000)),
    }))
    .into_response()
}
