//! The sandbox's API-user provisioning and the Disbursement token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::Rng;

use super::{ApiUser, bad_request, error, gate, header, is_uuid};
use crate::World;
use crate::faults::lock;

/// `POST /v1_0/apiuser`: the `X-Reference-Id` becomes the user's id; 201
/// with an empty body. `providerCallbackHost` is a host; a URL is reduced to
/// its host, as the note advises.
pub(super) async fn create_user(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(response) = gate(
        &world,
        "momo.apiuser",
        &headers,
        "POST /v1_0/apiuser".into(),
        &body,
    )
    .await
    {
        return response;
    }
    let Some(id) = header(&headers, "x-reference-id")
        .filter(|id| is_uuid(id, world.momo.config.require_uuid_v4))
    else {
        return bad_request("X-Reference-Id must be a UUID version 4");
    };
    let host = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|body| {
            body.get("providerCallbackHost")?
                .as_str()
                .map(str::to_string)
        })
        .map(|host| {
            reqwest::Url::parse(&host)
                .ok()
                .and_then(|url| url.host_str().map(str::to_string))
                .unwrap_or(host)
        })
        .filter(|host| !host.trim().is_empty());
    let Some(host) = host else {
        return bad_request("providerCallbackHost is required");
    };
    let mut state = lock(&world.momo.state);
    if state.users.contains_key(id) {
        drop(state);
        return error(
            StatusCode::CONFLICT,
            Some("RESOURCE_ALREADY_EXIST"),
            "Duplicated reference id. Creation of resource failed.",
        );
    }
    state.users.insert(
        id.to_string(),
        ApiUser {
            api_key: None,
            callback_host: host.to_ascii_lowercase(),
            target_environment: world.momo.config.provisioned_environment.clone(),
        },
    );
    StatusCode::CREATED.into_response()
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        Some("RESOURCE_NOT_FOUND"),
        "Requested resource was not found.",
    )
}

/// `GET /v1_0/apiuser/{id}`.
pub(super) async fn read_user(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(response) = gate(
        &world,
        "momo.apiuser",
        &headers,
        format!("GET /v1_0/apiuser/{id}"),
        "",
    )
    .await
    {
        return response;
    }
    let user = lock(&world.momo.state).users.get(&id).cloned();
    match user {
        Some(user) => Json(serde_json::json!({
            "providerCallbackHost": user.callback_host,
            "targetEnvironment": user.target_environment,
        }))
        .into_response(),
        None => not_found(),
    }
}

/// `POST /v1_0/apiuser/{id}/apikey`: a new key, shown once; it revokes the
/// user's tokens.
pub(super) async fn create_key(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let target = format!("POST /v1_0/apiuser/{id}/apikey");
    if let Some(response) = gate(&world, "momo.apiuser", &headers, target, "").await {
        return response;
    }
    let mut state = lock(&world.momo.state);
    let key = hex::encode(state.random.r#gen::<[u8; 16]>());
    let Some(user) = state.users.get_mut(&id) else {
        drop(state);
        return not_found();
    };
    user.api_key = Some(key.clone());
    state.tokens.retain(|_, (owner, _)| owner != &id);
    (
        StatusCode::CREATED,
        Json(serde_json::json!({ "apiKey": key })),
    )
        .into_response()
}

/// `POST /disbursement/token/`: Basic `apiUser:apiKey`. The token is a JWT
/// shaped like MoMo's (`alg` "R256", sic), not one anybody can verify.
pub(super) async fn token(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(response) = gate(
        &world,
        "momo.token",
        &headers,
        "POST /disbursement/token/".into(),
        &body,
    )
    .await
    {
        return response;
    }
    let presented = header(&headers, "authorization")
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|basic| {
            base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let user = presented
        .as_deref()
        .and_then(|pair| pair.split_once(':'))
        .and_then(|(user, key)| {
            let state = lock(&world.momo.state);
            state
                .users
                .get(user)
                .filter(|known| known.api_key.as_deref() == Some(key))
                .map(|_| user.to_string())
        });
    let Some(user) = user else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": "login_failed" })),
        )
            .into_response();
    };
    let ttl = world.momo.config.token_ttl_s;
    let session = world.momo.uuid();
    let expires = crate::clock::local_time(crate::now_ms() + ttl * 1000, 0, "yyyy-MM-dd HH:mm:ss")
        .replace(' ', "T");
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.{}",
        url.encode(r#"{"typ":"JWT","alg":"R256"}"#),
        url.encode(serde_json::json!({ "clientId": user, "expires": format!("{expires}.000"), "sessionId": session }).to_string()),
        url.encode(lock(&world.momo.state).random.r#gen::<[u8; 32]>()),
    );
    {
        let mut state = lock(&world.momo.state);
        let now = Instant::now();
        state.tokens.retain(|_, (_, expiry)| *expiry > now);
        state
            .tokens
            .insert(token.clone(), (user, now + Duration::from_secs(ttl)));
    }
    Json(serde_json::json!({ "access_token": token, "token_type": "access_token", "expires_in": ttl })).into_response()
}
