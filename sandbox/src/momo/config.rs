//! `[momo]`: the MoMo simulator's credentials, environments, balances, test
//! numbers and delays, with defaults a policy can name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An API user provisioned from the start, as the Partner Portal provisions
/// one in production (the sandbox's own `POST /v1_0/apiuser` adds more).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MomoApiUser {
    /// The API user, a UUID v4.
    pub id: String,
    /// Its API key.
    pub api_key: String,
    /// `providerCallbackHost`: callback URLs must be on this host.
    pub callback_host: String,
    /// The `X-Target-Environment` it may use.
    pub target_environment: String,
}

/// What a test number makes of every transfer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestOutcome {
    /// `FAILED` with `reason`, after the usual delay; nothing moves.
    Failed,
    /// `PENDING` for ever, and no callback (MTN's 46733123453, observed).
    Pending,
    /// `PENDING`, then `SUCCESSFUL` after `delayed_success_ms` (46733123454).
    DelayedSuccess,
}

/// A number that forces an outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNumber {
    /// The payee MSISDN.
    pub msisdn: String,
    /// What happens.
    pub outcome: TestOutcome,
    /// The failure reason, for `failed`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The MoMo simulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MomoConfig {
    /// The Disbursement product's `Ocp-Apim-Subscription-Key`.
    pub subscription_key: String,
    /// API users provisioned from the start.
    pub api_users: Vec<MomoApiUser>,
    /// Target environments and the one currency each accepts (`sandbox`: EUR).
    pub environments: BTreeMap<String, String>,
    /// The environment of users made by `POST /v1_0/apiuser` (`sandbox`).
    pub provisioned_environment: String,
    /// Token lifetime, seconds (MoMo: 3600).
    pub token_ttl_s: u64,
    /// The disbursement account's opening balance per currency, in units.
    pub disbursement_balances: BTreeMap<String, String>,
    /// Numbers that force outcomes; every other number succeeds (as in MTN's
    /// sandbox), funds allowing.
    pub test_numbers: Vec<TestNumber>,
    /// Delay before a transfer is decided and its callback sent; default
    /// 1000 ms (thesis profile).
    pub result_delay_ms: Option<u64>,
    /// Delay before a `delayed-success` number succeeds; default 25 000 ms
    /// (the observed run saw 4 to 45 s).
    pub delayed_success_ms: Option<u64>,
    /// `reason` as the swagger's object `{code, message}` instead of the bare
    /// string the live platform sends.
    pub reason_as_object: bool,
    /// The callback's method: `PUT` (MTN's 2018 text for v1 transfers) or `POST`.
    pub callback_method: String,
    /// Refuse an `X-Reference-Id` that is a UUID but not version 4, as MTN's
    /// error table says; whether MoMo enforces it is unverified.
    pub require_uuid_v4: bool,
}

impl Default for MomoConfig {
    fn default() -> Self {
        MomoConfig {
            subscription_key: "corridor-sandbox-momo-disbursement-key".into(),
            api_users: vec![MomoApiUser {
                id: "9f1c4e2a-7b3d-4c5e-8a6f-0d2b1e3c4a5f".into(),
                api_key: "0f6d2c8e4a1b4e7f9c3d5a7b9e1f3c5d".into(),
                callback_host: "127.0.0.1".into(),
                target_environment: "mtnuganda".into(),
            }],
            environments: [("sandbox", "EUR"), ("mtnuganda", "UGX")]
                .into_iter()
                .map(|(name, currency)| (name.to_string(), currency.to_string()))
                .collect(),
            provisioned_environment: "sandbox".into(),
            token_ttl_s: 3600,
            disbursement_balances: [("EUR", "1000000.00"), ("UGX", "1000000000")]
                .into_iter()
                .map(|(currency, amount)| (currency.to_string(), amount.to_string()))
                .collect(),
            test_numbers: default_test_numbers(),
            result_delay_ms: None,
            delayed_success_ms: None,
            reason_as_object: false,
            callback_method: "PUT".into(),
            require_uuid_v4: true,
        }
    }
}

/// MTN's sandbox numbers, and ours for the disbursement reasons MTN's
/// sandbox cannot produce: a policy can name any of them without configuring.
fn default_test_numbers() -> Vec<TestNumber> {
    let numbers = [
        // MTN's sandbox numbers, as two independent runs observed them.
        (
            "46733123450",
            TestOutcome::Failed,
            Some("INTERNAL_PROCESSING_ERROR"),
        ),
        (
            "46733123451",
            TestOutcome::Failed,
            Some("APPROVAL_REJECTED"),
        ),
        ("46733123452", TestOutcome::Failed, Some("EXPIRED")),
        ("46733123453", TestOutcome::Pending, None),
        ("46733123454", TestOutcome::DelayedSuccess, None),
        // Ours, for the disbursement reasons MTN's sandbox cannot produce.
        ("256770000001", TestOutcome::Failed, Some("PAYEE_NOT_FOUND")),
        (
            "256770000002",
            TestOutcome::Failed,
            Some("PAYEE_NOT_ALLOWED_TO_RECEIVE"),
        ),
        ("256770000003", TestOutcome::Failed, Some("NOT_ALLOWED")),
        (
            "256770000004",
            TestOutcome::Failed,
            Some("NOT_ENOUGH_FUNDS"),
        ),
        (
            "256770000005",
            TestOutcome::Failed,
            Some("SERVICE_UNAVAILABLE"),
        ),
        (
            "256770000006",
            TestOutcome::Failed,
            Some("INTERNAL_PROCESSING_ERROR"),
        ),
        ("256770000007", TestOutcome::Pending, None),
        ("256770000008", TestOutcome::DelayedSuccess, None),
    ];
    numbers
        .into_iter()
        .map(|(msisdn, outcome, reason)| TestNumber {
            msisdn: msisdn.into(),
            outcome,
            reason: reason.map(str::to_string),
        })
        .collect()
}
