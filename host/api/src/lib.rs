//! The host's HTTP API: the client's REST/JSON routes and the providers'
//! callback routes.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/quotes` | price a transfer: `{"amount": "10.00", "currency": "USD", "receive_currency": "KES"}` (`receive_currency` may be left out when the corridor pays out one currency) |
//! | `POST /v1/transfers` | `{"quote_id": "q_…", "recipient": "254708374149"}` (or `amount`/`currency` instead of a quote); honours `Idempotency-Key` |
//! | `GET /v1/transfers/{id}` | a transfer, its Pay In and Pay Out, and its state changes |
//! | `GET /v1/transfers` | the newest transfers: `?state=`, `?connector=`, `?limit=` (at most 1000); any other parameter is refused |
//! | `GET /health` | liveness and the loaded connectors |
//! | `GET /openapi.json` | this API's OpenAPI document |
//! | `* /callbacks/{connector}/{route}/{transfer}/{secret}` | providers' callbacks for one transfer |
//! | `* /callbacks/{connector}/{route}/{secret}` | providers' callbacks on a connector's own routes (one URL for every transfer, registered once with the provider) |
//!
//! The operators' API is on its own listener ([`admin`]).
//!
//! Every refusal is JSON with a stable code (see [`error`] for the list).
//! Client routes read at most [`ApiConfig::client_body_limit_bytes`] and take
//! `POST` bodies only as `application/json` without repeated keys; creating
//! quotes and transfers is rate-limited per client ([`limits`]). Callback
//! routes take what providers send (forms, XML) up to
//! [`ApiConfig::callback_body_limit_bytes`].

pub mod admin;
mod callbacks;
pub mod client;
pub mod error;
pub mod input;
pub mod limits;
pub mod listing;
pub mod openapi;
pub mod prometheus;
pub mod server;
pub mod view;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use self::error::ApiError;
pub use self::limits::{ApiConfig, RateLimit};
pub use self::server::{ConnectorSource, Host, HostConfig, QuoteRetention};
// The layers below, under the names the API's modules use.
use crate::engine::QuoteAsk;
use crate::engine::money::Money;
use crate::engine::{Engine, NewTransfer};
pub(crate) use corridor_engine as engine;
pub(crate) use corridor_runtime::{database, init_tls, redact, runtime, store};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub engine: Arc<Engine>,
}

/// Every route the client router serves: `(method, path)`, as the OpenAPI
/// document names them (callbacks take any method; documented as `post`).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/quotes"),
    ("get", "/v1/transfers"),
    ("post", "/v1/transfers"),
    ("get", "/v1/transfers/{id}"),
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("post", "/callbacks/{connector}/{route}/{transfer}/{secret}"),
];

/// The router: client routes and callback routes, with `config`'s limits.
pub fn router(engine: Arc<Engine>, config: &ApiConfig) -> Router {
    let throttle = axum::middleware::from_fn_with_state(
        limits::CreationLimiter::new(config.creation_rate),
        limits::throttle,
    );
    Router::new()
        .route(
            "/v1/quotes",
            post(create_quote).route_layer(throttle.clone()),
        )
        .route("/v1/transfers", get(list_transfers))
        .route("/v1/transfers", post(create_transfer).route_layer(throttle))
        .route("/v1/transfers/{id}", get(get_transfer))
        .route("/health", get(health))
        .route("/openapi.json", get(client_openapi))
        .layer(DefaultBodyLimit::max(config.client_body_limit_bytes))
        .route(
            "/callbacks/{connector}/{route}/{transfer}/{secret}",
            any(callbacks::transfer_route)
                .layer(DefaultBodyLimit::max(config.callback_body_limit_bytes)),
        )
        .route(
            "/callbacks/{connector}/{route}/{secret}",
            any(callbacks::connector_route)
                .layer(DefaultBodyLimit::max(config.callback_body_limit_bytes)),
        )
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            engine.clone(),
            refuse_when_stopped,
        ))
        .with_state(ApiState { engine })
}

/// A stopped host answers nothing, not even on connections that stay open:
/// a killed host must not act on a callback that arrives on one.
async fn refuse_when_stopped(
    State(engine): State<Arc<Engine>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if engine.is_alive() {
        next.run(request).await
    } else {
        ApiError {
            status: 503,
            code: "stopped",
            message: "the host is stopping".into(),
        }
        .into_response()
    }
}

/// A client `POST`'s JSON body, after its `Content-Type` and size checks.
fn client_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, ApiError> {
    input::json_content_type(headers)?;
    Ok(body?)
}

/// A policy an operator uploaded as text, checked like a policy file.
/// Secrets given by `env` are read in the host's environment; by `file`,
/// relative to the host's working directory (give an absolute path).
pub(crate) fn runtime_policy(
    text: &str,
) -> Result<corridor_runtime::Policy, corridor_runtime::PolicyError> {
    // A policy names its file (`<id>.toml`); an upload has none, so it is
    // named after the id it declares, and every other check applies as usual.
    let id = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|table| table.get("id")?.as_str().map(str::to_string))
        .unwrap_or_default();
    let name = format!("{id}.toml");
    corridor_runtime::Policy::parse(std::path::Path::new(&name), text, &|name| {
        std::env::var(name).ok()
    })
}

/// Parses a JSON body strictly: repeated keys, unknown fields and wrong types
/// are refused.
fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    Ok(parse_body_and_fingerprint(body)?.0)
}

/// [`parse_body`], and the request's fingerprint for its idempotency key: the
/// SHA-256 of its JSON with the keys sorted, so spacing and key order do not count.
fn parse_body_and_fingerprint<T: serde::de::DeserializeOwned>(
    body: &Bytes,
) -> Result<(T, String), ApiError> {
    let value = input::json_value(body)?;
    let fingerprint = hex::encode(Sha256::digest(value.to_string().as_bytes()));
    let parsed = serde_json::from_value(value)
        .map_err(|error| ApiError::bad_request("invalid-request", error.to_string()))?;
    Ok((parsed, fingerprint))
}

/// The currency a corridor pays out when the request names none: its
/// descriptor's, when it pays out exactly one; else the client must say.
fn only_pay_out_currency(engine: &Engine, connector: &str) -> Result<String, ApiError> {
    let descriptor = engine.connector(connector)?.descriptor().clone();
    match descriptor.pay_out_currencies.as_slice() {
        [only] => Ok(only.clone()),
        several => Err(ApiError::bad_request(
            "invalid-request",
            format!(
                "receive_currency is required: {connector} pays out {}",
                several.join(", ")
            ),
        )),
    }
}

/// The connector a request names, or the only one loaded.
fn connector_of(engine: &Engine, named: Option<String>) -> Result<String, ApiError> {
    if let Some(named) = named {
        return Ok(named);
    }
    match engine.connector_ids().as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError {
            status: 503,
            code: "no-connector",
            message: "no connector is loaded".into(),
        }),
        several => Err(ApiError::bad_request(
            "connector-required",
            format!("name the connector: one of {}", several.join(", ")),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteBody {
    connector: Option<String>,
    amount: String,
    currency: String,
    /// Left out: the corridor's only pay-out currency.
    receive_currency: Option<String>,
}

impl QuoteBody {
    fn request(&self, engine: &Engine, connector: &str) -> Result<QuoteAsk, ApiError> {
        let currency = input::currency("currency", &self.currency)?;
        let receive_currency = match &self.receive_currency {
            Some(asked) => asked.clone(),
            None => only_pay_out_currency(engine, connector)?,
        };
        let receive_currency = input::currency("receive_currency", &receive_currency)?;
        let amount_minor = input::amount("amount", &self.amount, currency.as_str())?;
        Ok(QuoteAsk {
            send: Money::new(amount_minor, currency),
            receive_currency,
        })
    }
}

/// Honours `Idempotency-Key` as `POST /v1/transfers` does, so a client that
/// retries (`corridor send` after a lost answer) gets the quote it was given,
/// and with it the same transfer, instead of a second one.
#[utoipa::path(post, path = "/v1/quotes", responses(
    (status = 201, description = "a new quote"),
    (status = 200, description = "the quote made earlier under this Idempotency-Key"),
))]
async fn create_quote(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = client_body(&headers, body)?;
    let (body, idempotency): (QuoteBody, _) = match input::idempotency_header(&headers)? {
        None => (parse_body(&body)?, None),
        Some(key) => {
            let (body, fingerprint) = parse_body_and_fingerprint(&body)?;
            (body, Some((key, fingerprint)))
        }
    };
    let connector = connector_of(&state.engine, body.connector.clone())?;
    let request = body.request(&state.engine, &connector)?;
    let (quote, created) = state.engine.quote(&connector, request, idempotency).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(quote)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    quote_id: Option<String>,
    recipient: String,
    payer: Option<String>,
    connector: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    receive_currency: Option<String>,
}

/// A transfer from a quote may repeat the quote's terms, but not contradict
/// them: a client that asks for shillings must not get a transfer in another
/// currency because the quote said so.
async fn agrees_with_quote(
    engine: &Engine,
    quote_id: &str,
    body: &TransferBody,
) -> Result<(), ApiError> {
    if body.receive_currency.is_none() && body.connector.is_none() {
        return Ok(());
    }
    let Some(quote) = engine.stored_quote(quote_id).await? else {
        // Refused as quote-not-found when the transfer is created.
        return Ok(());
    };
    let mismatch = |field: &str, asked: &str, quoted: &str| ApiError {
        status: 422,
        code: "quote-mismatch",
        message: format!("{field} {asked:?} contradicts quote {quote_id}, which is for {quoted:?}"),
    };
    if let Some(asked) = &body.receive_currency
        && quote.receive.currency != asked.as_str()
    {
        return Err(mismatch(
            "receive_currency",
            asked,
            quote.receive.currency.as_str(),
        ));
    }
    if let Some(asked) = &body.connector
        && *asked != quote.connector
    {
        return Err(mismatch("connector", asked, &quote.connector));
    }
    Ok(())
}

#[utoipa::path(post, path = "/v1/transfers", responses(
    (status = 201, description = "a new transfer"),
    (status = 200, description = "the transfer made earlier under this Idempotency-Key"),
))]
async fn create_transfer(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = client_body(&headers, body)?;
    let key = input::idempotency_header(&headers)?;
    let (parsed, fingerprint): (TransferBody, String) = parse_body_and_fingerprint(&body)?;
    let recipient = input::recipient(&parsed.recipient)?;
    let payer = parsed.payer.as_deref().map(input::payer).transpose()?;
    let idempotency = key.map(|key| (key, fingerprint));
    if let Some((key, sha)) = &idempotency
        && let Some(earlier) = state.engine.replay(key, sha).await?
    {
        return Ok((
            StatusCode::OK,
            axum::Json(view::transfer(&state.engine, earlier).await?),
        )
            .into_response());
    }
    let quote_id = match (&parsed.quote_id, &parsed.amount, &parsed.currency) {
        (Some(quote_id), None, None) => {
            agrees_with_quote(&state.engine, quote_id, &parsed).await?;
            quote_id.clone()
        }
        (None, Some(amount), Some(currency)) => {
            let connector = connector_of(&state.engine, parsed.connector.clone())?;
            let quote = QuoteBody {
                connector: parsed.connector.clone(),
                amount: amount.clone(),
                currency: currency.clone(),
                receive_currency: parsed.receive_currency.clone(),
            };
            state
                .engine
                .quote(&connector, quote.request(&state.engine, &connector)?, None)
                .await?
                .0
                .id
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid-request",
                "give either quote_id, or amount and currency (not both)",
            ));
        }
    };
    let (transfer, created) = state
        .engine
        .create_transfer(NewTransfer {
            quote_id,
            recipient,
            payer,
            idempotency,
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(view::transfer(&state.engine, transfer).await?),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/transfers/{id}",
    params(
        ("id" = String, Path, description = "the transfer"),
        ("wait_ms" = Option<u64>, Query, description = "if the transfer is not final, answer when it is or after this many ms, at most 60000 (0: at once)"),
    ),
    responses(
        (status = 200, description = "the transfer, its legs and its state changes"),
        (status = 400, description = "`invalid-query`: a parameter the route does not take, or a bad value"),
    ))]
async fn get_transfer(
    State(state): State<ApiState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let Query(query) = query?;
    let wait = listing::wait(&query)?;
    let transfer = if wait.is_zero() {
        state.engine.get(&id).await?
    } else {
        state.engine.wait_until_final(&id, wait).await?
    };
    Ok(axum::Json(view::transfer(&state.engine, transfer).await?).into_response())
}

#[utoipa::path(get, path = "/v1/transfers",
    params(
        ("state" = Option<String>, Query, description = "only transfers in this state, e.g. held"),
        ("connector" = Option<String>, Query, description = "only this connector's"),
        ("limit" = Option<usize>, Query, description = "at most this many, 1 to 1000 (100)"),
    ),
    responses(
        (status = 200, description = "`{\"transfers\": [...]}`, newest first"),
        (status = 400, description = "`invalid-query`: a parameter the route does not take, or a bad value"),
    ))]
async fn list_transfers(
    State(state): State<ApiState>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let filter = listing::filter(&query, &["state", "connector", "limit"])?;
    let mut views = Vec::new();
    for transfer in state.engine.list_filtered(filter).await? {
        views.push(view::transfer(&state.engine, transfer).await?);
    }
    Ok(axum::Json(serde_json::json!({ "transfers": views })).into_response())
}

#[utoipa::path(get, path = "/health", responses((status = 200, description = "alive, and the loaded connectors")))]
async fn health(State(state): State<ApiState>) -> Response {
    axum::Json(serde_json::json!({ "status": "ok", "connectors": state.engine.connector_ids() }))
        .into_response()
}

#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "this document")))]
async fn client_openapi() -> Response {
    axum::Json(openapi::client()).into_response()
}

#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "this document")))]
async fn admin_openapi() -> Response {
    axum::Json(openapi::admin()).into_response()
}
