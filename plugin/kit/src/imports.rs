//! The host's imports as a connector component uses them: its settings, one
//! HTTP exchange with failures mapped by whether the provider may have
//! acted, and text in its key-value storage. Only a component's glue calls
//! these; the rails stay sans-IO.

use crate::bindings::corridor::connector::http::{self, Request, Response};
use crate::bindings::corridor::connector::types::Failure;
use crate::bindings::corridor::connector::{config, storage};
use crate::failure::{from_http, retryable};
use crate::settings::Settings;

fn lookup(key: &str) -> Option<String> {
    config::get(key)
}

/// The settings the policy grants, read through `config`.
pub fn settings() -> Settings<'static> {
    Settings::new(&lookup)
}

/// Sends `request` through the host.
pub fn send(request: &Request) -> Result<Response, Failure> {
    http::send(request).map_err(|error| from_http(&error))
}

/// A storage error: nothing was stored or read, so trying again is safe.
pub fn storage_failure(error: storage::StorageError) -> Failure {
    retryable("storage", format!("{error:?}"))
}

/// The text stored under `key`, if any.
pub fn get_text(key: &str) -> Result<Option<String>, Failure> {
    Ok(storage::get(key)
        .map_err(storage_failure)?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// Stores `value` under `key`.
pub fn set_text(key: &str, value: &str) -> Result<(), Failure> {
    storage::set(key, value.as_bytes()).map_err(storage_failure)
}
