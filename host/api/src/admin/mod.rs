//! The operators' API, on its own listener (`--admin-bind`, loopback only),
//! every route but liveness, readiness and the document behind a bearer
//! token ([`auth`]).
//!
//! | route | role | what |
//! |---|---|---|
//! | `GET /health` | none | liveness |
//! | `GET /ready` | none | the store answers and connectors are loaded (503 otherwise) |
//! | `GET /openapi.json` | none | this API's OpenAPI document |
//! | `GET /admin/v1/transfers` | read | transfers by `state`, `connector`, `created_from`/`created_to` (ms), newest first; `limit`, `cursor` → `next_cursor` |
//! | `POST /admin/v1/transfers/{id}/retry` | operate | `{"reason"}`: a held transfer runs its step again |
//! | `POST /admin/v1/transfers/{id}/resolve` | operate | `{"action": "paid-out", "receipt", "reason"}` or `{"action": "refund", "reason"}` |
//! | `GET /admin/v1/audit` | read | the audit log, newest first; `limit`, `cursor` → `next_cursor` |
//! | `GET /metrics` | read | the Prometheus text ([`crate::prometheus`]) |
//! | `GET /admin/v1/versions` | read | connector versions (`?connector=`) and what each is to its connector |
//! | `POST /admin/v1/versions` | operate | `{"component_base64", "policy", "reason"}`: install; no work until activated |
//! | `POST /admin/v1/versions/{id}/activate` | operate | `{"canary_percent"?, "reason"}`: all new transfers, or a canary's share |
//! | `POST /admin/v1/connectors/{connector}/rollback` | operate | `{"reason"}`: end the canary, or the previous version again |
//! | `POST /admin/v1/versions/{id}/migrate` | operate | `{"transfer" \| "from_version", "reason"}`: pin transfers to this version |
//! | `POST /admin/v1/versions/{id}/retire` | operate | `{"reason"}`: remove a version that takes and holds no work |
//!
//! Every change is written to the audit log, refused or done.

pub mod auth;
pub mod transfers;
pub mod versions;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use self::auth::{AdminTokens, Role};
use crate::ApiState;
use crate::engine::Engine;
use crate::error::ApiError;

/// Every route the admin router serves: `(method, path)`, as the OpenAPI
/// document names them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/openapi.json"),
    ("get", "/admin/v1/transfers"),
    ("post", "/admin/v1/transfers/{id}/retry"),
    ("post", "/admin/v1/transfers/{id}/resolve"),
    ("get", "/admin/v1/audit"),
    ("get", "/metrics"),
    ("get", "/admin/v1/versions"),
    ("post", "/admin/v1/versions"),
    ("post", "/admin/v1/versions/{id}/activate"),
    ("post", "/admin/v1/connectors/{connector}/rollback"),
    ("post", "/admin/v1/versions/{id}/migrate"),
    ("post", "/admin/v1/versions/{id}/retire"),
];

/// The admin router over `engine`, for callers holding one of `tokens`.
pub fn router(
    engine: Arc<Engine>,
    versions: crate::engine::versions::Versions,
    tokens: AdminTokens,
) -> Router {
    let role = |needed: Role| {
        axum::middleware::from_fn_with_state((tokens.clone(), needed), auth::require)
    };
    let read = Router::new()
        .route("/admin/v1/transfers", get(transfers::list))
        .route("/admin/v1/audit", get(transfers::audit))
        .route("/metrics", get(metrics))
        .route_layer(role(Role::Read));
    let operate = Router::new()
        .route("/admin/v1/transfers/{id}/retry", post(transfers::retry))
        .route("/admin/v1/transfers/{id}/resolve", post(transfers::resolve))
        .route_layer(role(Role::Operate));
    let state = versions::VersionsState {
        engine: engine.clone(),
        versions,
    };
    let versions_read = Router::new()
        .route("/admin/v1/versions", get(versions::list))
        .route_layer(role(Role::Read))
        .with_state(state.clone());
    // A component travels in its install request: up to 48 MiB.
    let install = Router::new()
        .route("/admin/v1/versions", post(versions::install))
        .layer(axum::extract::DefaultBodyLimit::max(48 << 20))
        .route_layer(role(Role::Operate))
        .with_state(state.clone());
    let versions_operate = Router::new()
        .route("/admin/v1/versions/{id}/activate", post(versions::activate))
        .route(
            "/admin/v1/connectors/{connector}/rollback",
            post(versions::rollback),
        )
        .route("/admin/v1/versions/{id}/migrate", post(versions::migrate))
        .route("/admin/v1/versions/{id}/retire", post(versions::retire))
        .route_layer(role(Role::Operate))
        .with_state(state);
    Router::new()
        .merge(read)
        .merge(operate)
        .merge(versions_read)
        .merge(install)
        .merge(versions_operate)
        .route("/health", get(crate::health))
        .route("/ready", get(ready))
        .route("/openapi.json", get(crate::admin_openapi))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(ApiState { engine })
}

/// The Prometheus text: everything counted, and the transfers by state now.
#[utoipa::path(get, path = "/metrics", responses(
    (status = 200, description = "the Prometheus text format", content_type = "text/plain"),
), security(("bearer" = [])))]
pub async fn metrics(State(state): State<ApiState>) -> Response {
    let text = crate::prometheus::render(&state.engine).await;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Ready: the store answers a read, and at least one connector is loaded.
#[utoipa::path(get, path = "/ready", responses(
    (status = 200, description = "the store answers and connectors are loaded"),
    (status = 503, description = "not ready; `error.code` says why"),
))]
pub async fn ready(State(state): State<ApiState>) -> Result<Response, ApiError> {
    state
        .engine
        .audit_log(None, 1)
        .await
        .map_err(|error| ApiError {
            status: 503,
            code: "store-unavailable",
            message: format!("the store does not answer: {error}"),
        })?;
    let connectors = state.engine.connector_ids();
    if connectors.is_empty() {
        return Err(ApiError {
            status: 503,
            code: "no-connector",
            message: "no connector is loaded".into(),
        });
    }
    let versions: Vec<serde_json::Value> = state
        .engine
        .routes()
        .into_iter()
        .map(|route| {
            serde_json::json!({
                "connector": route.connector,
                "active": route.active,
                "previous": route.previous,
                "canary": route.canary.map(|(version, percent)| {
                    serde_json::json!({ "version": version, "percent": percent })
                }),
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "status": "ready",
        "connectors": connectors,
        "versions": versions,
    }))
    .into_response())
}
