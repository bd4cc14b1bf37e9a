//! The per-transfer callback routes the host hands out, by name (see the
//! WIT `inbound-request`). A connector's own routes may not take these names.

/// The pay-in provider's notification (`notify-url`).
pub const PAY_IN: &str = "pay-in";
/// The pay-out provider's result, and the answers to pay-out queries (`result-url`).
pub const PAY_OUT: &str = "pay-out";
/// The pay-out provider's queue timeout (`timeout-url`).
pub const PAY_OUT_TIMEOUT: &str = "pay-out-timeout";
/// The answers to the host's pay-out queries (the query's `result-url`).
pub const PAY_OUT_STATUS: &str = "pay-out-status";
/// The answers to the host's pay-in queries (the query's `result-url`).
pub const PAY_IN_STATUS: &str = "pay-in-status";
/// The refund's result (`result-url`).
pub const REFUND: &str = "refund";
/// The refund's queue timeout (`timeout-url`).
pub const REFUND_TIMEOUT: &str = "refund-timeout";
/// The answers to the host's refund queries (the query's `result-url`).
pub const REFUND_STATUS: &str = "refund-status";

/// Every per-transfer route: a connector's own route may not take one
/// of these names.
pub const ALL: [&str; 8] = [
    PAY_IN,
    PAY_IN_STATUS,
    PAY_OUT,
    PAY_OUT_TIMEOUT,
    PAY_OUT_STATUS,
    REFUND,
    REFUND_TIMEOUT,
    REFUND_STATUS,
];
