//! The query of a transfer listing, shared by `GET /v1/transfers` and
//! `GET /admin/v1/transfers`: parsed strictly, so a filter the host does not
//! know is refused (400 `invalid-query`) instead of silently ignored.

use std::collections::BTreeMap;

use crate::engine::model::TransferState;
use crate::engine::store::{TransferCursor, TransferFilter};
use crate::error::ApiError;

/// The most transfers one page holds.
pub const MAX_LIMIT: usize = 1000;

fn invalid(message: String) -> ApiError {
    ApiError::bad_request("invalid-query", message)
}

/// The longest a client may ask `GET /v1/transfers/{id}` to wait.
pub const MAX_WAIT_MS: u64 = 60_000;

/// `?wait_ms=N` of `GET /v1/transfers/{id}`: how long to wait for the
/// transfer to be final (zero when absent).
pub fn wait(query: &BTreeMap<String, String>) -> Result<std::time::Duration, ApiError> {
    if let Some(unknown) = query.keys().find(|key| key.as_str() != "wait_ms") {
        return Err(invalid(format!(
            "unknown parameter {unknown:?}; this route takes wait_ms"
        )));
    }
    let Some(text) = query.get("wait_ms") else {
        return Ok(std::time::Duration::ZERO);
    };
    let wait_ms = millis("wait_ms", text)?;
    if wait_ms > MAX_WAIT_MS {
        return Err(invalid(format!(
            "wait_ms {wait_ms} is more than {MAX_WAIT_MS}"
        )));
    }
    Ok(std::time::Duration::from_millis(wait_ms))
}

fn millis(key: &str, text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        invalid(format!(
            "{key} {text:?} is not milliseconds since the epoch"
        ))
    })
}

/// A filter from `query`, whose keys must be among `allowed`.
pub fn filter(
    query: &BTreeMap<String, String>,
    allowed: &[&str],
) -> Result<TransferFilter, ApiError> {
    if let Some(unknown) = query.keys().find(|key| !allowed.contains(&key.as_str())) {
        return Err(invalid(format!(
            "unknown parameter {unknown:?}; this route takes {}",
            allowed.join(", ")
        )));
    }
    let mut filter = TransferFilter {
        limit: 100,
        ..TransferFilter::default()
    };
    for (key, text) in query {
        match key.as_str() {
            "limit" => {
                filter.limit = text
                    .parse::<usize>()
                    .ok()
                    .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid-limit",
                            format!("limit {text:?} must be 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "state" => {
                filter.state = Some(TransferState::parse(text).ok_or_else(|| {
                    let names: Vec<&str> = TransferState::ALL.iter().map(|s| s.name()).collect();
                    invalid(format!("state {text:?} is not one of {}", names.join(", ")))
                })?);
            }
            "connector" => filter.connector = Some(text.clone()),
            "created_from" => filter.created_from_ms = Some(millis(key, text)?),
            "created_to" => filter.created_to_ms = Some(millis(key, text)?),
            "cursor" => {
                filter.after = Some(TransferCursor::parse(text).ok_or_else(|| {
                    invalid(format!("cursor {text:?} is not one this host gave"))
                })?);
            }
            _ => unreachable!("checked against the allowed keys"),
        }
    }
    Ok(filter)
}
