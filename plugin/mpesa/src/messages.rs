//! Daraja's messages as types, named as Safaricom names them. Every request
//! and reply of the rail goes through these, so a field's spelling
//! (`Occassion` on B2C, `Occasion` on Transaction Status) is written once.
//!
//! Daraja mixes value types for the same field from one page (or one API) to
//! the next: `ResultCode` is `0` or `"0"`, `expires_in` is `"3599"` or
//! `3599`, a `ResultParameter` may have no `Value`. Such fields are read as
//! text ([`text_or_number`]); a field's value is never guessed from its type.
//!
//! Requests declare their fields in alphabetical order: that is the order the
//! rail sent before it had types (a `serde_json` map is sorted), so the bytes
//! on the wire did not change when the types came in.

use serde::{Deserialize, Deserializer, Serialize};

/// `POST /mpesa/b2c/v{1,3}/paymentrequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct B2cPaymentRequest {
    /// Whole shillings, as digits.
    pub amount: String,
    /// `BusinessPayment`, `SalaryPayment` or `PromotionPayment`.
    #[serde(rename = "CommandID")]
    pub command_id: String,
    /// The API operator.
    pub initiator_name: String,
    /// Spelled with two s's by the B2C pages (and by this connector).
    pub occassion: String,
    /// v3 only: our reference, the key Daraja deduplicates on. v1 has none
    /// (Daraja assigns one), so it is left out of the body.
    #[serde(
        rename = "OriginatorConversationID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub originator_conversation_id: Option<String>,
    /// The B2C shortcode.
    pub party_a: String,
    /// The recipient's MSISDN.
    pub party_b: String,
    /// Where Daraja reports a request that sat too long in its queue.
    #[serde(rename = "QueueTimeOutURL")]
    pub queue_time_out_url: String,
    /// 2–100 characters.
    pub remarks: String,
    /// Where the `Result` arrives.
    #[serde(rename = "ResultURL")]
    pub result_url: String,
    /// The initiator password encrypted with Daraja's certificate.
    pub security_credential: String,
}

/// The synchronous answer to a B2C or Transaction Status request (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct B2cAcknowledgement {
    /// Daraja's id of the request.
    #[serde(rename = "ConversationID")]
    pub conversation_id: String,
    /// Ours under v3, Daraja's own under v1.
    #[serde(rename = "OriginatorConversationID", default)]
    pub originator_conversation_id: String,
    /// `"0"` when accepted; the pages print it as a string, read a number too.
    #[serde(deserialize_with = "required_text")]
    pub response_code: String,
    /// Why not, when not accepted.
    #[serde(default)]
    pub response_description: String,
}

/// The synchronous error envelope of any non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DarajaError {
    /// Daraja's id for support requests.
    #[serde(default)]
    pub request_id: String,
    /// `NNN.NNN.NN`, its first three digits the HTTP status.
    pub error_code: String,
    /// Safaricom's words.
    #[serde(default)]
    pub error_message: String,
}

/// `GET /oauth/v1/generate`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthToken {
    /// The bearer token.
    pub access_token: String,
    /// Seconds, printed as a string by the older page and as a number by v3.
    #[serde(deserialize_with = "required_text")]
    pub expires_in: String,
}

/// `POST /mpesa/transactionstatus/v1/query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactionStatusQuery {
    /// Always `TransactionStatusQuery`.
    #[serde(rename = "CommandID")]
    pub command_id: String,
    /// `4`: `PartyA` is an organisation shortcode.
    pub identifier_type: String,
    /// The API operator (named `Initiator` here, `InitiatorName` on B2C).
    pub initiator: String,
    /// Spelled with one s on this API.
    pub occasion: String,
    /// The `OriginatorConversationID` of the request that made the
    /// transaction; left out when the query names a receipt instead.
    #[serde(
        rename = "OriginalConversationID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub original_conversation_id: String,
    /// The shortcode that paid.
    pub party_a: String,
    /// Where Daraja reports a query that sat too long in its queue.
    #[serde(rename = "QueueTimeOutURL")]
    pub queue_time_out_url: String,
    /// Free text.
    pub remarks: String,
    /// Where the answer arrives: the query is asynchronous.
    #[serde(rename = "ResultURL")]
    pub result_url: String,
    /// The initiator password encrypted with Daraja's certificate.
    pub security_credential: String,
    /// The M-PESA receipt, the other way to name the transaction: a C2B
    /// payment has no originator id of ours, only its receipt.
    #[serde(
        rename = "TransactionID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_id: Option<String>,
}

/// A `Result` callback: the body POSTed to a `ResultURL`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResultCallback {
    /// Missing in bodies that are not Daraja's.
    #[serde(rename = "Result", default)]
    pub result: Option<B2cResult>,
}

/// The `Result` object. Transaction Status answers in the same shape, with its
/// facts as parameters under other names.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct B2cResult {
    /// `0` completed, `1` waiting for further messages.
    #[serde(deserialize_with = "text_or_number")]
    pub result_type: Option<String>,
    /// `0`, a number, or a string (`"SFC_IC0003"`).
    #[serde(deserialize_with = "text_or_number")]
    pub result_code: Option<String>,
    /// Safaricom's words.
    #[serde(deserialize_with = "text_or_number")]
    pub result_desc: Option<String>,
    /// The request's key: ours under v3.
    #[serde(
        rename = "OriginatorConversationID",
        deserialize_with = "text_or_number"
    )]
    pub originator_conversation_id: Option<String>,
    /// Daraja's id of the request.
    #[serde(rename = "ConversationID", deserialize_with = "text_or_number")]
    pub conversation_id: Option<String>,
    /// The receipt, or a placeholder (`NLJ0000000`) when nothing was paid.
    #[serde(rename = "TransactionID", deserialize_with = "text_or_number")]
    pub transaction_id: Option<String>,
    /// Missing on failures.
    pub result_parameters: Option<ResultParameters>,
    /// Echoes of the request, unused.
    pub reference_data: Option<ReferenceData>,
}

impl B2cResult {
    /// The value of the first parameter named `key`.
    pub fn parameter(&self, key: &str) -> Option<String> {
        self.parameters()
            .iter()
            .find(|parameter| parameter.key == key)
            .and_then(|parameter| parameter.value.clone())
    }

    /// The parameters, as a list whether Daraja sent one or many.
    pub fn parameters(&self) -> &[ResultParameter] {
        self.result_parameters
            .as_ref()
            .map_or(&[], |parameters| parameters.result_parameter.as_slice())
    }
}

/// `ResultParameters`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ResultParameters {
    /// An object when there is one, a list otherwise.
    #[serde(deserialize_with = "one_or_many")]
    pub result_parameter: Vec<ResultParameter>,
}

/// `ReferenceData`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ReferenceData {
    /// An object when there is one, a list otherwise.
    #[serde(deserialize_with = "one_or_many")]
    pub reference_item: Vec<ResultParameter>,
}

/// One `{"Key": …, "Value": …}`: `Value` a number, a string, or missing
/// (`{"Key":"TransactionReason"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultParameter {
    /// The parameter's name.
    pub key: String,
    /// Its value as text: numbers in their digits (`1000`, `8959269.6`).
    #[serde(default, deserialize_with = "text_or_number")]
    pub value: Option<String>,
}

/// The `QueueTimeOutURL` call. Daraja does not document its body: one reading
/// is a `Result` envelope, another an echo of the request; both carry the ids.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QueueTimeout {
    /// The enveloped form.
    #[serde(rename = "Result", default)]
    pub result: Option<QueueTimeoutIds>,
    /// The echoed form.
    #[serde(flatten)]
    pub echo: QueueTimeoutIds,
}

impl QueueTimeout {
    /// The ids, from the envelope when there is one.
    pub fn ids(self) -> QueueTimeoutIds {
        self.result.unwrap_or(self.echo)
    }
}

/// The ids a queue timeout names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct QueueTimeoutIds {
    /// The request's key.
    #[serde(
        rename = "OriginatorConversationID",
        deserialize_with = "text_or_number"
    )]
    pub originator_conversation_id: Option<String>,
    /// Daraja's id of the request.
    #[serde(rename = "ConversationID", deserialize_with = "text_or_number")]
    pub conversation_id: Option<String>,
}

/// How a mixed-type value arrives; anything but a string or a number (null,
/// a boolean, an object) carries no text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Other(serde::de::IgnoredAny),
}

impl Scalar {
    fn into_text(self) -> Option<String> {
        match self {
            Scalar::Text(text) => Some(text),
            Scalar::Number(number) => Some(number.to_string()),
            Scalar::Other(_) => None,
        }
    }
}

/// A string or a number, as text; `None` for anything else.
pub fn text_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(deserializer)?.and_then(Scalar::into_text))
}

/// A string or a number that must be there.
fn required_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    text_or_number(deserializer)?
        .ok_or_else(|| serde::de::Error::custom("expected a string or a number"))
}

/// A list, or a single item standing for a list of one. Anything else is an
/// empty list, as Daraja's own samples never send it.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
        Other(serde::de::IgnoredAny),
    }
    Ok(match OneOrMany::<T>::deserialize(deserializer)? {
        OneOrMany::Many(items) => items,
        OneOrMany::One(item) => vec![item],
        OneOrMany::Other(_) => vec![],
    })
}

/// What Transaction Status says of a payment (its `TransactionStatus`
/// parameter). The Account Balance page names the final ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Paid.
    Completed,
    /// Refused by M-PESA; its `ResultCode` says why.
    Declined,
    /// Cancelled before it was paid.
    Cancelled,
    /// Never paid, and now never will be.
    Expired,
    /// Not final yet.
    Pending,
    /// Not understood: treated as not final, never as a failure.
    Unknown(String),
}

impl TransactionStatus {
    /// Reads Daraja's word for it.
    pub fn parse(text: &str) -> TransactionStatus {
        match text {
            "Completed" => TransactionStatus::Completed,
            "Declined" => TransactionStatus::Declined,
            "Cancelled" => TransactionStatus::Cancelled,
            "Expired" => TransactionStatus::Expired,
            "Pending" => TransactionStatus::Pending,
            other => TransactionStatus::Unknown(other.to_string()),
        }
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
