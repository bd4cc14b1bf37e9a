//! The settings the policy grants, read through `config` (secrets included).
//! Built from a lookup function so the rails can be tested natively.

use crate::bindings::corridor::connector::types::Failure;
use crate::failure::misconfigured;

/// Reads granted keys.
pub struct Settings<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Settings<'a> {
    /// Settings read through `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Settings<'a> {
        Settings { lookup }
    }

    /// A key that must be granted and non-empty.
    pub fn required(&self, key: &str) -> Result<String, Failure> {
        (self.lookup)(key)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| {
                misconfigured(format!(
                    "the policy grants no {key:?}; add it to [config] or [secrets]"
                ))
            })
    }

    /// A key that may be left out.
    pub fn optional(&self, key: &str) -> Option<String> {
        (self.lookup)(key).filter(|value| !value.trim().is_empty())
    }

    /// A number, `default` when left out.
    pub fn number(&self, key: &str, default: u64) -> Result<u64, Failure> {
        match self.optional(key) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse()
                .map_err(|_| misconfigured(format!("{key} = {text:?} is not a whole number"))),
        }
    }
}
