//! PayLink → Walletly: a made-up corridor that exists to prove the host knows
//! no corridor. It is built like a real connector (on the kit, sans-IO protocol
//! code in [`protocol`], the glue in `component`) against two tiny fake
//! providers in `corridor-tests` (`tests/src/fake_rails.rs`):
//!
//! - **PayLink** collects EUR through hosted checkouts. `POST /checkouts` is
//!   idempotent by reference; the payment notification is JSON signed with
//!   `PayLink-Signature: hex(HMAC-SHA256(webhook secret, body))`; `GET
//!   /checkouts/{reference}` and `POST /refunds` complete the API.
//! - **Walletly** pays GHS into wallet accounts (`WL-` and 8 digits).
//!   `POST /payouts` answers `completed` at once or `pending` (the result is
//!   then POSTed, unsigned, to the callback URL); `GET /payouts/{reference}`
//!   answers where a pay-out stands, 404 when Walletly never got it.
//!
//! Rates are a fixed setting (`rate`, exact decimal text), the fee a fixed
//! number of euro cents (`fee_minor`).

pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod component;

/// The connector id, and its policy file's name.
pub const CONNECTOR_ID: &str = "paylink-walletly";
