//! What the `corridor` subcommands do beyond parsing, kept out of
//! [`crate::cli`] so each can be tested without printing: `send`'s
//! idempotent quote-and-transfer and its summary, `invoke`'s failures,
//! `check-policy`'s full report, and where the default paths are.

pub mod check_policy;
pub mod invoke;
pub mod paths;
pub mod send;
