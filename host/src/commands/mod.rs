//! What the `corridor` subcommands do beyond parsing, kept out of
//! [`crate::cli`] so each can be tested without printing: `send`'s
//! idempotent quote-and-transfer and its summary, `invoke`'s failures,
//! `check-policy`'s full report, where the default paths are, and the
//! sandbox for a first transfer.

pub mod admin;
pub mod check_policy;
pub mod connectors;
pub mod invoke;
pub mod new_connector;
pub mod paths;
pub mod sandbox;
pub mod send;
