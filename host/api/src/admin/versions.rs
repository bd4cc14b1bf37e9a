//! The admin routes on connector versions: install, list, activate (or
//! canary), roll back, migrate and retire. Every change is audited, done or
//! refused, like the changes to transfers.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::auth::Caller;
use super::transfers::{body, reason_of};
use crate::engine::versions::{MigrateTarget, VersionError, Versions};
use crate::error::ApiError;

/// The versions routes' state.
#[derive(Clone)]
pub struct VersionsState {
    /// The engine, for the audit log.
    pub engine: std::sync::Arc<crate::engine::Engine>,
    /// The versions.
    pub versions: Versions,
}

/// `POST /admin/v1/versions`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    /// The component's bytes, base64 (standard alphabet).
    pub component_base64: String,
    /// The policy file's text (TOML); secrets by `env` or `file` reference.
    pub policy: String,
    /// Why, for the audit log (required).
    pub reason: String,
}

/// `POST /admin/v1/versions/{id}/activate`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    /// A canary's share of new transfers, 1 to 99; left out: all of them.
    pub canary_percent: Option<u8>,
    /// Why (required).
    pub reason: String,
}

/// `POST /admin/v1/versions/{id}/migrate`'s body: one transfer, or every
/// unfinished transfer of another version.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateBody {
    /// The transfer to move.
    pub transfer: Option<String>,
    /// The version whose unfinished transfers to move.
    pub from_version: Option<String>,
    /// Why (required).
    pub reason: String,
}

/// A body with only a reason.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (required).
    pub reason: String,
}

fn refused(error: VersionError) -> ApiError {
    let (status, code) = match &error {
        VersionError::UnknownVersion(_) => (404, "version-not-found"),
        VersionError::TransferNotFound(_) => (404, "transfer-not-found"),
        VersionError::Busy(_) => (503, "busy"),
        VersionError::Refused(_) | VersionError::Policy(_) => (422, "install-refused"),
        _ => (409, "refused"),
    };
    ApiError {
        status,
        code,
        message: error.to_string(),
    }
}

/// Runs a version change and writes its audit entry, done or refused.
async fn audited<T: serde::Serialize>(
    state: &VersionsState,
    caller: &Caller,
    (operation, target, reason): (&str, &str, &str),
    change: impl std::future::Future<Output = Result<T, VersionError>>,
) -> Result<Response, ApiError> {
    let result = change.await;
    let outcome = match &result {
        Ok(_) => "done".to_string(),
        Err(error) => format!("refused: {error}"),
    };
    super::transfers::record(&state.engine, caller, (operation, target, reason), outcome).await?;
    Ok(axum::Json(result.map_err(refused)?).into_response())
}

/// `GET /admin/v1/versions`: every version (of `connector`, if given) and
/// what each is to its connector.
#[utoipa::path(get, path = "/admin/v1/versions",
    params(("connector" = Option<String>, Query, description = "only this connector's")),
    responses((status = 200, description = "`{\"versions\": [...]}`")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<VersionsState>,
    query: Result<Query<std::collections::BTreeMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    if let Some(key) = query.keys().find(|key| *key != "connector") {
        return Err(ApiError::bad_request(
            "invalid-query",
            format!("unknown parameter {key:?}; this route takes connector"),
        ));
    }
    let versions = state
        .versions
        .list(query.get("connector").map(String::as_str))
        .await
        .map_err(refused)?;
    Ok(axum::Json(serde_json::json!({ "versions": versions })).into_response())
}

/// `POST /admin/v1/versions`: installs a component under a policy. It takes
/// no work until activated.
#[utoipa::path(post, path = "/admin/v1/versions", request_body = InstallBody,
    responses(
        (status = 200, description = "the version, installed (or already installed)"),
        (status = 422, description = "install-refused: the component or the policy does not pass; nothing changed"),
    ),
    security(("bearer" = [])))]
pub async fn install(
    State(state): State<VersionsState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let parsed: InstallBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let component = base64::engine::general_purpose::STANDARD
        .decode(parsed.component_base64.trim())
        .map_err(|error| {
            ApiError::bad_request("invalid-request", format!("component_base64: {error}"))
        })?;
    let policy = crate::runtime_policy(&parsed.policy).map_err(|error| ApiError {
        status: 422,
        code: "install-refused",
        message: format!("the policy: {error}"),
    })?;
    let target = policy.id.clone();
    let change = state.versions.install(component, policy);
    audited(
        &state,
        &caller,
        ("version.install", &target, &reason),
        change,
    )
    .await
}

/// `POST /admin/v1/versions/{id}/activate`: all new transfers, or a canary's share.
#[utoipa::path(post, path = "/admin/v1/versions/{id}/activate",
    params(("id" = String, Path, description = "the version")), request_body = ActivateBody,
    responses((status = 200, description = "the version"), (status = 409, description = "refused; nothing changed")),
    security(("bearer" = [])))]
pub async fn activate(
    State(state): State<VersionsState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let parsed: ActivateBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let operation = match parsed.canary_percent {
        Some(_) => "version.canary",
        None => "version.activate",
    };
    let change = state.versions.activate(&id, parsed.canary_percent, &reason);
    audited(&state, &caller, (operation, &id, &reason), change).await
}

/// `POST /admin/v1/connectors/{connector}/rollback`: ends the canary, or
/// makes the previous version active again.
#[utoipa::path(post, path = "/admin/v1/connectors/{connector}/rollback",
    params(("connector" = String, Path, description = "the connector")), request_body = ReasonBody,
    responses((status = 200, description = "the version now active"), (status = 409, description = "nothing to roll back to")),
    security(("bearer" = [])))]
pub async fn rollback(
    State(state): State<VersionsState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(connector) = path?;
    let parsed: ReasonBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let change = state.versions.rollback(&connector, &reason);
    audited(
        &state,
        &caller,
        ("connector.rollback", &connector, &reason),
        change,
    )
    .await
}

/// `POST /admin/v1/versions/{id}/migrate`: pins a transfer, or every
/// unfinished transfer of another version, to this one.
#[utoipa::path(post, path = "/admin/v1/versions/{id}/migrate",
    params(("id" = String, Path, description = "the version to move to")), request_body = MigrateBody,
    responses((status = 200, description = "`{\"moved\": [...], \"finished\": [...]}`"), (status = 409, description = "refused")),
    security(("bearer" = [])))]
pub async fn migrate(
    State(state): State<VersionsState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(to) = path?;
    let parsed: MigrateBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let target = match (parsed.transfer, parsed.from_version) {
        (Some(transfer), None) => MigrateTarget::Transfer(transfer),
        (None, Some(version)) => MigrateTarget::Version(version),
        _ => {
            return Err(ApiError::bad_request(
                "invalid-request",
                "give exactly one of transfer and from_version",
            ));
        }
    };
    let what = match &target {
        MigrateTarget::Transfer(id) | MigrateTarget::Version(id) => format!("{id} → {to}"),
    };
    let change = state.versions.migrate(target, &to);
    audited(&state, &caller, ("version.migrate", &what, &reason), change).await
}

/// `POST /admin/v1/versions/{id}/retire`.
#[utoipa::path(post, path = "/admin/v1/versions/{id}/retire",
    params(("id" = String, Path, description = "the version")), request_body = ReasonBody,
    responses((status = 200, description = "retired"), (status = 409, description = "it takes work or holds transfers")),
    security(("bearer" = [])))]
pub async fn retire(
    State(state): State<VersionsState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let parsed: ReasonBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let change = async {
        state
            .versions
            .retire(&id, &reason)
            .await
            .map(|()| serde_json::json!({ "retired": &id }))
    };
    audited(&state, &caller, ("version.retire", &id, &reason), change).await
}
