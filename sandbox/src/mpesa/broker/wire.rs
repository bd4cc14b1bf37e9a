//! The broker's messages as the simulator reads and writes them: its own
//! types, written from the reference's §2 (not the rail's), so that the rail
//! and the simulator agreeing over loopback means something.
//!
//! Reading matches elements by local name (quick-xml drops prefixes), so both
//! header namespaces and any prefix are accepted. Writing follows the
//! captures: the payload documents travel as CDATA.

use quick_xml::se::{Serializer, TextFormat};
use serde::{Deserialize, Serialize};

pub const SOAP_ENVELOPE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const REQUEST_NAMESPACE: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/request";
pub const RESPONSE_NAMESPACE: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/response";
pub const RESULT_NAMESPACE: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/result";
pub const QUERY_NAMESPACE: &str = "http://www.csapi.org/schema/transaction/data/v1_0/local";
pub const TIMEOUT_NAMESPACE: &str =
    "http://www.csapi.org/schema/timeoutnotification/data/v1_0/local";

// ---- read ----

/// Any envelope a caller sends: `GenericAPIRequest` or `queryTransaction`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Envelope {
    #[serde(rename = "Header")]
    pub header: Option<Header>,
    #[serde(rename = "Body")]
    pub body: Option<Body>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Header {
    #[serde(rename = "RequestSOAPHeader")]
    pub sp: Option<SpHeader>,
}

/// `RequestSOAPHeader` (capture, §2.2).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SpHeader {
    #[serde(rename = "spId")]
    pub sp_id: String,
    #[serde(rename = "spPassword")]
    pub sp_password: String,
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    #[serde(rename = "serviceId")]
    pub service_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Body {
    #[serde(rename = "RequestMsg")]
    pub request_msg: Option<String>,
    #[serde(rename = "queryTransaction")]
    pub query: Option<QueryTransaction>,
}

/// `loc:queryTransaction` (spec §4.4).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueryTransaction {
    #[serde(rename = "originatorConversationID")]
    pub originator_conversation_id: String,
}

/// The `request` document inside `RequestMsg` (capture, §2.2). Every field
/// optional, so a missing one is the broker's code 24, not a parse error.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestDoc {
    #[serde(rename = "Transaction")]
    pub transaction: TransactionDoc,
    #[serde(rename = "Identity")]
    pub identity: IdentityDoc,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransactionDoc {
    #[serde(rename = "CommandID")]
    pub command_id: Option<String>,
    #[serde(rename = "OriginatorConversationID")]
    pub originator_conversation_id: Option<String>,
    #[serde(rename = "Parameters")]
    pub parameters: Items<Parameter>,
    #[serde(rename = "ReferenceData")]
    pub reference_data: Items<ReferenceItem>,
    #[serde(rename = "Timestamp")]
    pub timestamp: Option<String>,
}

/// `Parameters/Parameter` or `ReferenceData/ReferenceItem`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Items<T> {
    #[serde(rename = "Parameter", alias = "ReferenceItem")]
    pub items: Vec<T>,
}

pub type Parameter = KeyValue;
pub type ReferenceItem = KeyValue;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct KeyValue {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

impl<T> Items<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
}

impl Items<KeyValue> {
    pub fn value(&self, key: &str) -> Option<String> {
        self.items
            .iter()
            .find(|item| item.key == key)
            .map(|item| item.value.trim().to_string())
            .filter(|value| !value.is_empty())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IdentityDoc {
    #[serde(rename = "Caller")]
    pub caller: PartyDoc,
    #[serde(rename = "Initiator")]
    pub initiator: PartyDoc,
    #[serde(rename = "PrimaryParty")]
    pub primary_party: PartyDoc,
    #[serde(rename = "ReceiverParty")]
    pub receiver_party: PartyDoc,
}

/// The fields of `Caller`, `Initiator` and the parties that the broker reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PartyDoc {
    #[serde(rename = "ThirdPartyID")]
    pub third_party_id: Option<String>,
    #[serde(rename = "ResultURL")]
    pub result_url: Option<String>,
    #[serde(rename = "Identifier")]
    pub identifier: Option<String>,
    #[serde(rename = "SecurityCredential")]
    pub security_credential: Option<String>,
}

// ---- write ----

/// A payload element: a namespace and a CDATA document (capture).
#[derive(Debug, Serialize)]
pub struct Payload {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "$text")]
    pub document: String,
}

/// `s:Envelope` around one payload element, as the capture's answer and result.
#[derive(Debug, Serialize)]
#[serde(rename = "s:Envelope")]
pub struct PayloadEnvelope {
    #[serde(rename = "@xmlns:s")]
    pub s: &'static str,
    #[serde(rename = "s:Body")]
    pub body: PayloadBody,
}

#[derive(Debug, Serialize)]
pub struct PayloadBody {
    #[serde(rename = "ResponseMsg", skip_serializing_if = "Option::is_none")]
    pub response_msg: Option<Payload>,
    #[serde(rename = "ResultMsg", skip_serializing_if = "Option::is_none")]
    pub result_msg: Option<Payload>,
}

/// The `Response` document (capture, §2.4); the authentication failure has
/// only the code and its words.
#[derive(Debug, Serialize)]
#[serde(rename = "Response")]
pub struct ResponseDoc {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "ResponseCode")]
    pub response_code: String,
    #[serde(rename = "ResponseDesc")]
    pub response_desc: String,
    #[serde(rename = "ConversationID", skip_serializing_if = "String::is_empty")]
    pub conversation_id: String,
    #[serde(
        rename = "OriginatorConversationID",
        skip_serializing_if = "String::is_empty"
    )]
    pub originator_conversation_id: String,
    #[serde(rename = "ServiceStatus", skip_serializing_if = "String::is_empty")]
    pub service_status: String,
}

/// The `Result` document (capture's wrapper, the spec's April 2015 parameters).
#[derive(Debug, Serialize)]
#[serde(rename = "Result")]
pub struct ResultDoc {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "ResultType")]
    pub result_type: String,
    #[serde(rename = "ResultCode")]
    pub result_code: String,
    #[serde(rename = "ResultDesc")]
    pub result_desc: String,
    #[serde(rename = "OriginatorConversationID")]
    pub originator_conversation_id: String,
    #[serde(rename = "ConversationID")]
    pub conversation_id: String,
    #[serde(rename = "TransactionID")]
    pub transaction_id: String,
    #[serde(rename = "ResultParameters")]
    pub result_parameters: ResultParameters,
    #[serde(rename = "ReferenceData")]
    pub reference_data: ReferenceData,
}

#[derive(Debug, Serialize)]
pub struct ResultParameters {
    #[serde(rename = "ResultParameter")]
    pub items: Vec<KeyValue>,
}

#[derive(Debug, Serialize)]
pub struct ReferenceData {
    #[serde(rename = "ReferenceItem")]
    pub items: Vec<KeyValue>,
}

/// A SOAP 1.1 fault.
#[derive(Debug, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct FaultEnvelope {
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: &'static str,
    #[serde(rename = "soapenv:Body")]
    pub body: FaultBody,
}

#[derive(Debug, Serialize)]
pub struct FaultBody {
    #[serde(rename = "soapenv:Fault")]
    pub fault: Fault,
}

#[derive(Debug, Serialize)]
pub struct Fault {
    #[serde(rename = "faultcode")]
    pub fault_code: String,
    #[serde(rename = "faultstring")]
    pub fault_string: String,
}

/// `loc:notifyQueueTimeout` (spec §4.3).
#[derive(Debug, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct QueueTimeoutEnvelope {
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: &'static str,
    #[serde(rename = "@xmlns:loc")]
    pub loc: &'static str,
    #[serde(rename = "soapenv:Body")]
    pub body: QueueTimeoutBody,
}

#[derive(Debug, Serialize)]
pub struct QueueTimeoutBody {
    #[serde(rename = "loc:notifyQueueTimeout")]
    pub notify: NotifyQueueTimeout,
}

#[derive(Debug, Serialize)]
pub struct NotifyQueueTimeout {
    #[serde(rename = "loc:originatorConversationID")]
    pub originator_conversation_id: String,
    #[serde(rename = "loc:originRequest")]
    pub origin_request: String,
}

/// `ns1:queryTransactionResponse` (spec §4.4); each list item one repeated
/// element holding a raw HTTP message in base64 (the item shape is a guess).
#[derive(Debug, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct QueryResponseEnvelope {
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: &'static str,
    #[serde(rename = "soapenv:Body")]
    pub body: QueryResponseBody,
}

#[derive(Debug, Serialize)]
pub struct QueryResponseBody {
    #[serde(rename = "ns1:queryTransactionResponse")]
    pub response: QueryResponse,
}

#[derive(Debug, Serialize)]
pub struct QueryResponse {
    #[serde(rename = "@xmlns:ns1")]
    pub ns1: &'static str,
    #[serde(rename = "ns1:result")]
    pub result: QueryResult,
    #[serde(rename = "ns1:submitApiRequestList")]
    pub requests: Vec<String>,
    #[serde(rename = "ns1:submitApiResponseList")]
    pub responses: Vec<String>,
    #[serde(rename = "ns1:submitApiResultList")]
    pub results: Vec<String>,
    #[serde(rename = "ns1:queueTimeOutList")]
    pub queue_timeouts: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct QueryResult {
    #[serde(rename = "ResponseCode")]
    pub response_code: String,
    #[serde(rename = "ResponseDesc")]
    pub response_desc: String,
}

/// XML text of `value`, text escaped.
pub fn to_xml(value: &impl Serialize) -> String {
    quick_xml::se::to_string(value).expect("the broker's own messages serialize")
}

/// XML text of `value` with its text as CDATA: for the envelopes whose only
/// text is a payload document, as on the wire.
pub fn to_xml_cdata(value: &impl Serialize) -> String {
    let mut text = String::new();
    let mut serializer = Serializer::new(&mut text);
    serializer.text_format(TextFormat::CData);
    value
        .serialize(serializer)
        .expect("the broker's own messages serialize");
    text
}

/// A payload document with its declaration, as the captures carry it.
pub fn document(value: &impl Serialize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
        to_xml(value)
    )
}

/// Parses a caller's XML, tolerating the capture's doubled single quotes in
/// the prolog and root tag (`version=''1.0''`, reference §2.2).
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    let text = text.trim_start_matches('\u{feff}').trim();
    let head_end = text
        .match_indices('>')
        .nth(1)
        .map_or(text.len(), |(index, _)| index + 1);
    let normalised = format!(
        "{}{}",
        text[..head_end].replace("''", "\""),
        &text[head_end..]
    );
    quick_xml::de::from_str(&normalised).ok()
}
