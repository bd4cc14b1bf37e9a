//! Seed 004 §Reference Faults: every return code, and how final a refusal
//! with it is. The kinds are this rail's reading (the seed gives only
//! "Failure"): a code that says the SAG did not act is `failed`; system
//! downtime is `retryable`; a delay or a duplicate says the SAG may have
//! acted, so `unknown`; a code not in the table is `unknown` too.

use corridor_connector_kit::bindings::corridor::connector::types::{Failure, FailureKind};

/// Success (seed 004: "the request has been successfully received or the
/// transaction has successfully completed").
pub const SUCCESS: &str = "00";

/// `(code, kind of a request refused with it, seed 004's description)`.
pub const RETURN_CODES: &[(&str, FailureKind, &str)] = &[
    (
        "01",
        FailureKind::Failed,
        "Insufficient Funds on MSISDN account",
    ),
    (
        "03",
        FailureKind::Failed,
        "Amount less than the minimum single transfer allowed on the system",
    ),
    (
        "04",
        FailureKind::Failed,
        "Amount more than the maximum single transfer amount allowed",
    ),
    (
        "05",
        FailureKind::Failed,
        "Transaction expired in the instance where it wasn't picked in time for processing",
    ),
    (
        "06",
        FailureKind::Failed,
        "Transaction could not be confirmed possibly due to confirm operation failure",
    ),
    (
        "08",
        FailureKind::Failed,
        "Balance would rise above the allowed maximum amount",
    ),
    (
        "09",
        FailureKind::Failed,
        "The store number specified in the transaction could not be found",
    ),
    (
        "10",
        FailureKind::Failed,
        "The MSISDN provided isn't registered on M-PESA",
    ),
    (
        "11",
        FailureKind::Failed,
        "The system is unable to complete the transaction",
    ),
    (
        "12",
        FailureKind::Failed,
        "The transaction details are different from original captured request details",
    ),
    (
        "29",
        FailureKind::Retryable,
        "System Downtime message when the system is inaccessible",
    ),
    (
        "30",
        FailureKind::Failed,
        "The request is missing reference ID",
    ),
    (
        "31",
        FailureKind::Failed,
        "The request amount is Invalid or blank",
    ),
    (
        "32",
        FailureKind::Failed,
        "The account in the request hasn't been activated",
    ),
    (
        "33",
        FailureKind::Failed,
        "The account hasn't been approved to transact",
    ),
    (
        "34",
        FailureKind::Unknown,
        "There is a request processing delay",
    ),
    (
        "35",
        FailureKind::Unknown,
        "A duplicate request is detected",
    ),
    (
        "36",
        FailureKind::Failed,
        "Incorrect credentials are provided in the request",
    ),
    ("40", FailureKind::Failed, "Missing parameters"),
    ("41", FailureKind::Failed, "MSISDN is in incorrect format"),
];

/// Seed 004's description of `code`, if it is in the table.
pub fn meaning(code: &str) -> Option<&'static str> {
    RETURN_CODES
        .iter()
        .find(|(known, _, _)| *known == code.trim())
        .map(|(_, _, meaning)| *meaning)
}

/// A request (`processCheckOut`, `confirmTransaction`) refused with `code`.
/// The SAG's own `DESCRIPTION` is kept in the message beside the seed's.
pub fn request_failure(code: &str, description: &str) -> Failure {
    let code = code.trim();
    let known = RETURN_CODES.iter().find(|(known, _, _)| *known == code);
    let (kind, meaning) = known.map_or(
        (FailureKind::Unknown, "a return code seed 004 does not list"),
        |(_, kind, meaning)| (*kind, *meaning),
    );
    Failure {
        kind,
        code: code.to_string(),
        message: format!("{meaning}: {}", description.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_seed_004_has_a_kind_and_only_downtime_is_retryable() {
        assert_eq!(RETURN_CODES.len(), 20, "01, 03–06, 08–12, 29–36, 40, 41");
        let retryable: Vec<&str> = RETURN_CODES
            .iter()
            .filter(|(_, kind, _)| *kind == FailureKind::Retryable)
            .map(|(code, _, _)| *code)
            .collect();
        assert_eq!(retryable, ["29"]);
        assert_eq!(request_failure("35", "dup").kind, FailureKind::Unknown);
        assert_eq!(
            request_failure("01", "InsufficientFunds").kind,
            FailureKind::Failed
        );
        assert_eq!(request_failure("77", "?").kind, FailureKind::Unknown);
        assert_eq!(meaning(" 41"), Some("MSISDN is in incorrect format"));
    }
}
