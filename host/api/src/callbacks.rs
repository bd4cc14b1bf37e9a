//! The providers' callback routes: the raw request, handed to the engine as
//! the connector will read it, and the connector's reply sent back as is.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::ApiState;
use crate::error::ApiError;
use corridor_engine::{CallbackPath, CallbackReply, ConnectorCallbackPath};
use corridor_runtime::wit::InboundRequest;

#[utoipa::path(post, path = "/callbacks/{connector}/{route}/{transfer}/{secret}",
    params(
        ("connector" = String, Path, description = "the connector"),
        ("route" = String, Path, description = "pay-in, pay-in-status, pay-out, pay-out-timeout, pay-out-status, refund, refund-timeout or refund-status"),
        ("transfer" = String, Path, description = "the transfer"),
        ("secret" = String, Path, description = "the route's secret for this transfer"),
    ),
    responses((status = 200, description = "whatever the connector answers the provider")))]
pub(crate) async fn transfer_route(
    State(state): State<ApiState>,
    path: Result<Path<(String, String, String, String)>, PathRejection>,
    parts: axum::http::request::Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((connector, route, transfer, secret)) = path?;
    let body = body?;
    let path = CallbackPath {
        connector,
        transfer,
        secret,
        peer: peer(&parts),
    };
    let reply = state
        .engine
        .handle_callback(path, inbound(route, &parts, &body))
        .await;
    Ok(response(reply))
}

#[utoipa::path(post, path = "/callbacks/{connector}/{route}/{secret}",
    params(
        ("connector" = String, Path, description = "the connector"),
        ("route" = String, Path, description = "one of the connector's own routes (its descriptor's inbound-routes)"),
        ("secret" = String, Path, description = "the route's secret"),
    ),
    responses((status = 200, description = "whatever the connector answers the provider")))]
pub(crate) async fn connector_route(
    State(state): State<ApiState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    parts: axum::http::request::Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path((connector, route, secret)) = path?;
    let body = body?;
    let path = ConnectorCallbackPath {
        connector,
        secret,
        peer: peer(&parts),
    };
    let reply = state
        .engine
        .handle_connector_callback(path, inbound(route, &parts, &body))
        .await;
    Ok(response(reply))
}

fn peer(parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

fn inbound(route: String, parts: &axum::http::request::Parts, body: &Bytes) -> InboundRequest {
    InboundRequest {
        route,
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    }
}

fn response(reply: CallbackReply) -> Response {
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name.as_str()),
            axum::http::HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
