//! The admin routes on transfers and the audit log.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Caller;
use crate::engine::Resolution;
use crate::engine::store::{AuditEntry, TransferCursor};
use crate::error::ApiError;
use crate::{ApiState, listing, view};

/// `GET /admin/v1/transfers`: a page of transfers and where the next begins.
#[utoipa::path(get, path = "/admin/v1/transfers",
    params(
        ("state" = Option<String>, Query, description = "only transfers in this state, e.g. held"),
        ("connector" = Option<String>, Query, description = "only this connector's"),
        ("created_from" = Option<u64>, Query, description = "created at or after (ms since the epoch)"),
        ("created_to" = Option<u64>, Query, description = "created before (ms since the epoch)"),
        ("limit" = Option<usize>, Query, description = "at most this many, 1 to 1000 (100)"),
        ("cursor" = Option<String>, Query, description = "the `next_cursor` of the page before"),
    ),
    responses((status = 200, description = "`{\"transfers\": [...], \"next_cursor\": \"...\" | null}`")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let allowed = [
        "state",
        "connector",
        "created_from",
        "created_to",
        "limit",
        "cursor",
    ];
    let mut filter = listing::filter(&query, &allowed)?;
    let limit = filter.limit;
    filter.limit += 1;
    let mut transfers = state.engine.list_filtered(filter).await?;
    let next_cursor = (transfers.len() > limit).then(|| {
        transfers.truncate(limit);
        transfers
            .last()
            .map(|last| TransferCursor::after(last).to_string())
    });
    let mut views = Vec::with_capacity(transfers.len());
    for transfer in transfers {
        views.push(view::transfer(&state.engine, transfer).await?);
    }
    Ok(
        axum::Json(serde_json::json!({ "transfers": views, "next_cursor": next_cursor.flatten() }))
            .into_response(),
    )
}

/// `GET /admin/v1/audit`: the audit log, newest first.
#[utoipa::path(get, path = "/admin/v1/audit",
    params(
        ("limit" = Option<usize>, Query, description = "at most this many, 1 to 1000 (100)"),
        ("cursor" = Option<String>, Query, description = "the `next_cursor` of the page before"),
    ),
    responses((status = 200, description = "`{\"entries\": [...], \"next_cursor\": ...}`")),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<ApiState>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let cursor = match query.get("cursor") {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "invalid-query",
                format!("cursor {text:?} is not one this host gave"),
            )
        })?),
    };
    let rest: BTreeMap<String, String> = query
        .into_iter()
        .filter(|(key, _)| key != "cursor")
        .collect();
    let limit = listing::filter(&rest, &["limit"])?.limit;
    let mut entries = state.engine.audit_log(cursor, limit + 1).await?;
    let next_cursor = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|last| last.id.to_string())
    });
    Ok(
        axum::Json(serde_json::json!({ "entries": entries, "next_cursor": next_cursor.flatten() }))
            .into_response(),
    )
}

/// `POST …/retry`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    /// Why, for the audit log (required).
    pub reason: String,
}

/// `POST …/resolve`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `paid-out` (with `receipt`) or `refund`.
    pub action: String,
    /// The provider's receipt, for `paid-out`.
    pub receipt: Option<String>,
    /// Why, for the audit log (required).
    pub reason: String,
}

pub(super) fn reason_of(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(ApiError::bad_request(
            "invalid-request",
            "reason is required (at most 1000 characters)",
        ));
    }
    Ok(reason.to_string())
}

pub(super) fn body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    crate::parse_body(&crate::client_body(headers, body)?)
}

/// Runs an operator's change and writes its audit entry, done or refused.
async fn audited(
    state: &ApiState,
    caller: &Caller,
    (operation, target, reason): (&str, &str, &str),
    change: impl std::future::Future<
        Output = Result<crate::engine::model::Transfer, crate::engine::EngineError>,
    >,
) -> Result<Response, ApiError> {
    let result = change.await;
    let outcome = match &result {
        Ok(transfer) => format!("done: {}", transfer.state()),
        Err(error) => format!("refused: {error}"),
    };
    record(&state.engine, caller, (operation, target, reason), outcome).await?;
    let transfer = result?;
    Ok(axum::Json(view::transfer(&state.engine, transfer).await?).into_response())
}

/// Writes one audit entry: who, what, on what, why, and what came of it.
pub(super) async fn record(
    engine: &crate::engine::Engine,
    caller: &Caller,
    (operation, target, reason): (&str, &str, &str),
    outcome: String,
) -> Result<(), ApiError> {
    engine
        .audit(AuditEntry {
            id: 0,
            at_ms: 0,
            actor: caller.name.clone(),
            operation: operation.into(),
            target: target.into(),
            reason: reason.into(),
            outcome,
        })
        .await?;
    Ok(())
}

fn note(caller: &Caller, reason: &str) -> String {
    format!("operator {}: {reason}", caller.name)
}

/// `POST /admin/v1/transfers/{id}/retry`.
#[utoipa::path(post, path = "/admin/v1/transfers/{id}/retry",
    params(("id" = String, Path, description = "the transfer")),
    request_body = RetryBody,
    responses(
        (status = 200, description = "the transfer, back in the step it was held in, due now"),
        (status = 409, description = "refused (not held, or held on contradicting facts); nothing changed"),
    ),
    security(("bearer" = [])))]
pub async fn retry(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let parsed: RetryBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let note = note(&caller, &reason);
    let change = state.engine.retry_held(&id, &note);
    audited(&state, &caller, ("transfer.retry", &id, &reason), change).await
}

/// `POST /admin/v1/transfers/{id}/resolve`.
#[utoipa::path(post, path = "/admin/v1/transfers/{id}/resolve",
    params(("id" = String, Path, description = "the transfer")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "the transfer, completed or refunding"),
        (status = 409, description = "refused (not held, the provider does not confirm); nothing changed"),
    ),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path?;
    let parsed: ResolveBody = body(&headers, raw)?;
    let reason = reason_of(&parsed.reason)?;
    let (operation, resolution) = match (parsed.action.as_str(), parsed.receipt) {
        ("paid-out", Some(receipt)) if !receipt.trim().is_empty() => (
            "transfer.resolve.paid-out",
            Resolution::PaidOut {
                receipt: receipt.trim().to_string(),
            },
        ),
        ("refund", None) => ("transfer.resolve.refund", Resolution::Refund),
        _ => {
            return Err(ApiError::bad_request(
                "invalid-request",
                "action is \"paid-out\" with a receipt, or \"refund\" without one",
            ));
        }
    };
    let note = note(&caller, &reason);
    let change = state.engine.resolve_held(&id, resolution, &reason, &note);
    audited(&state, &caller, (operation, &id, &reason), change).await
}
