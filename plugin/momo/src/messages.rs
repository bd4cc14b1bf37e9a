//! MoMo's messages as types, with MTN's field casing (`externalId`,
//! `partyIdType`, `availableBalance`), written once here.
//!
//! MTN's own examples print numbers where the schema says string (`"amount":
//! 100`, `"partyId": 4609274685`), so such fields are read as text whichever
//! the other side sent ([`text_or_number`]). `reason` is documented as an
//! object `{code, message}` and returned by the live platform as a bare
//! string; [`FailureReason`] reads both.

use serde::{Deserialize, Deserializer, Serialize};

/// The body of `POST /disbursement/v1_0/transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRequest {
    /// In the currency's units, as a string ("5000" UGX, "10.50" EUR).
    pub amount: String,
    /// ISO 4217; must be the target environment's (EUR in the sandbox).
    pub currency: String,
    /// Our pay-out reference, for reconciliation; MoMo does not require it unique.
    pub external_id: String,
    /// Who receives the money.
    pub payee: Party,
    /// Written into the payer's (our) transaction history; at most 160 characters.
    pub payer_message: String,
    /// Written into the payee's transaction history; at most 160 characters.
    pub payee_note: String,
}

/// A party: `{"partyIdType": "MSISDN", "partyId": "256772123456"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    /// `MSISDN`, `EMAIL` or `PARTY_CODE`.
    pub party_id_type: String,
    /// The MSISDN with its country code and no `+`.
    #[serde(deserialize_with = "text_or_number")]
    pub party_id: String,
}

/// The token call's 200 answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccessToken {
    /// A JWT.
    pub access_token: String,
    /// `access_token` in every capture.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds the token is valid for (3600).
    #[serde(deserialize_with = "text_or_number")]
    pub expires_in: String,
}

/// The transfer's state: the status query's answer and the callback's body.
/// Every field but `status` may be absent (`financialTransactionId` is, on a
/// failure; some transfers carry no messages).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferResult {
    /// The amount, in the currency's units.
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub amount: Option<String>,
    /// ISO 4217.
    #[serde(default)]
    pub currency: Option<String>,
    /// MoMo's transaction id, once the money moved.
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub financial_transaction_id: Option<String>,
    /// The `externalId` of the request.
    #[serde(default, deserialize_with = "optional_text_or_number")]
    pub external_id: Option<String>,
    /// The payee (transfers).
    #[serde(default)]
    pub payee: Option<Party>,
    /// The payer (request-to-pay), for a callback of the other product.
    #[serde(default)]
    pub payer: Option<Party>,
    /// The payer's message.
    #[serde(default)]
    pub payer_message: Option<String>,
    /// The payee's note.
    #[serde(default)]
    pub payee_note: Option<String>,
    /// `PENDING`, `SUCCESSFUL`, `FAILED`, or something MTN has not documented.
    pub status: TransferStatus,
    /// Why a transfer failed.
    #[serde(default)]
    pub reason: Option<FailureReason>,
}

/// A transfer's status. Exhaustive: a value MTN never documented (the
/// sandbox's `CREATED`) is kept, not refused, and treated as still pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferStatus {
    /// Accepted, not yet decided.
    Pending,
    /// The money reached the payee.
    Successful,
    /// Definitively not paid; `reason` says why.
    Failed,
    /// Anything else, verbatim.
    Unknown(String),
}

impl TransferStatus {
    /// MTN's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            TransferStatus::Pending => "PENDING",
            TransferStatus::Successful => "SUCCESSFUL",
            TransferStatus::Failed => "FAILED",
            TransferStatus::Unknown(other) => other,
        }
    }
}

impl<'de> Deserialize<'de> for TransferStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(match text.as_str() {
            "PENDING" => TransferStatus::Pending,
            "SUCCESSFUL" => TransferStatus::Successful,
            "FAILED" => TransferStatus::Failed,
            _ => TransferStatus::Unknown(text),
        })
    }
}

/// Why a transfer failed: `"reason": "PAYEE_NOT_FOUND"` (what the platform
/// sends) or `"reason": {"code": "PAYEE_NOT_FOUND", "message": "…"}` (what the
/// swagger documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason {
    /// The code.
    pub code: ReasonCode,
    /// MoMo's explanation, when the object shape carries one.
    pub message: Option<String>,
}

impl<'de> Deserialize<'de> for FailureReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Code(String),
            Object {
                #[serde(default)]
                code: Option<String>,
                #[serde(default)]
                message: Option<String>,
            },
        }
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Code(code) => FailureReason {
                code: ReasonCode::parse(&code),
                message: None,
            },
            Wire::Object { code, message } => FailureReason {
                code: ReasonCode::parse(code.as_deref().unwrap_or("")),
                message,
            },
        })
    }
}

/// MoMo's failure reasons: the swagger's `ErrorReason` enum, the codes MTN
/// added later, and `Other` for the rest (client-only codes, new ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReasonCode {
    PayeeNotFound,
    PayerNotFound,
    NotAllowed,
    NotAllowedTargetEnvironment,
    InvalidCallbackUrlHost,
    InvalidCurrency,
    ServiceUnavailable,
    InternalProcessingError,
    NotEnoughFunds,
    PayerLimitReached,
    PayeeNotAllowedToReceive,
    PaymentNotApproved,
    ResourceNotFound,
    ApprovalRejected,
    Expired,
    /// `TRANSACTION_CANCELED`, one L.
    TransactionCanceled,
    /// `RESOURCE_ALREADY_EXIST`, no S.
    ResourceAlreadyExist,
    CouldNotPerformTransaction,
    SenderAccountNotActive,
    TransactionNotFound,
    /// Any other code, verbatim (empty when MoMo gave none).
    Other(String),
}

/// The codes with names, each once.
const CODES: &[(&str, ReasonCode)] = &[
    ("PAYEE_NOT_FOUND", ReasonCode::PayeeNotFound),
    ("PAYER_NOT_FOUND", ReasonCode::PayerNotFound),
    ("NOT_ALLOWED", ReasonCode::NotAllowed),
    (
        "NOT_ALLOWED_TARGET_ENVIRONMENT",
        ReasonCode::NotAllowedTargetEnvironment,
    ),
    (
        "INVALID_CALLBACK_URL_HOST",
        ReasonCode::InvalidCallbackUrlHost,
    ),
    ("INVALID_CURRENCY", ReasonCode::InvalidCurrency),
    ("SERVICE_UNAVAILABLE", ReasonCode::ServiceUnavailable),
    (
        "INTERNAL_PROCESSING_ERROR",
        ReasonCode::InternalProcessingError,
    ),
    ("NOT_ENOUGH_FUNDS", ReasonCode::NotEnoughFunds),
    ("PAYER_LIMIT_REACHED", ReasonCode::PayerLimitReached),
    (
        "PAYEE_NOT_ALLOWED_TO_RECEIVE",
        ReasonCode::PayeeNotAllowedToReceive,
    ),
    ("PAYMENT_NOT_APPROVED", ReasonCode::PaymentNotApproved),
    ("RESOURCE_NOT_FOUND", ReasonCode::ResourceNotFound),
    ("APPROVAL_REJECTED", ReasonCode::ApprovalRejected),
    ("EXPIRED", ReasonCode::Expired),
    ("TRANSACTION_CANCELED", ReasonCode::TransactionCanceled),
    ("RESOURCE_ALREADY_EXIST", ReasonCode::ResourceAlreadyExist),
    (
        "COULD_NOT_PERFORM_TRANSACTION",
        ReasonCode::CouldNotPerformTransaction,
    ),
    (
        "SENDER_ACCOUNT_NOT_ACTIVE",
        ReasonCode::SenderAccountNotActive,
    ),
    ("TRANSACTION_NOT_FOUND", ReasonCode::TransactionNotFound),
];

impl ReasonCode {
    /// Reads MTN's spelling.
    pub fn parse(text: &str) -> ReasonCode {
        CODES.iter().find(|(name, _)| *name == text).map_or_else(
            || ReasonCode::Other(text.to_string()),
            |(_, code)| code.clone(),
        )
    }

    /// MTN's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ReasonCode::Other(text) => text,
            known => CODES
                .iter()
                .find(|(_, code)| code == known)
                .map_or("", |(name, _)| name),
        }
    }
}

/// An error answer: MoMo's `ErrorReason` `{"message", "code"}`, the token
/// call's `{"error"}`, or the APIM gateway's `{"statusCode", "message"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// MoMo's code (`RESOURCE_ALREADY_EXIST`).
    #[serde(default)]
    pub code: Option<String>,
    /// The explanation.
    #[serde(default)]
    pub message: Option<String>,
    /// The token call's error.
    #[serde(default)]
    pub error: Option<String>,
    /// The APIM gateway's echo of the HTTP status.
    #[serde(default)]
    pub status_code: Option<u16>,
}

/// `GET /disbursement/v1_0/account/balance`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// In the currency's units.
    #[serde(deserialize_with = "text_or_number")]
    pub available_balance: String,
    /// ISO 4217.
    pub currency: String,
}

/// `GET /disbursement/v1_0/accountholder/msisdn/{msisdn}/active`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountHolderActive {
    /// Registered and active (the PHP SDK prints `1`, so numbers are read too).
    #[serde(deserialize_with = "flag")]
    pub result: bool,
}

/// A JSON string or number, as text.
pub fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(number) => Ok(number.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a number, got {other}"
        ))),
    }
}

fn optional_text_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(text) => Ok(Some(text)),
        serde_json::Value::Number(number) => Ok(Some(number.to_string())),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a number, got {other}"
        ))),
    }
}

fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(flag) => Ok(flag),
        serde_json::Value::Number(number) => Ok(number.as_u64() == Some(1)),
        serde_json::Value::String(text) => Ok(matches!(text.as_str(), "true" | "1")),
        other => Err(serde::de::Error::custom(format!(
            "expected a boolean, got {other}"
        ))),
    }
}
