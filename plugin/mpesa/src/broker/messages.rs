//! The broker's SOAP messages as types, named as the broker names them.
//!
//! Where each field comes from is said on the field: "seed 001" (the B2C
//! developer's guide), "capture" (the 2014 wire capture decoded in the
//! reference's §2.2–§2.5), "spec" (the B2C API Specification v1.5 as the
//! reference quotes it), "WSDL" (the Huawei CPS WSDL shape, known only from
//! generated bindings). A field marked *guess* is ours.
//!
//! Deserialization matches elements by local name (quick-xml drops the
//! prefix), so one type reads both of the header's namespace spellings, both
//! result wrappers, and the `Response`/`response` roots. Serialized names
//! carry the prefixes the capture uses.

use serde::{Deserialize, Serialize};

/// The SOAP 1.1 envelope namespace (capture).
pub const SOAP_ENVELOPE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The request payload's namespace (capture: `xmlns:req` and the CDATA root).
pub const REQUEST_NAMESPACE: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/request";
/// The response payload's namespace (capture).
pub const RESPONSE_NAMESPACE: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/response";
/// The result payload's namespace (capture; the 2015 example uses
/// `http://cps.huawei.com/cpsinterface/result`, read alike).
pub const RESULT_NAMESPACE: &str = "http://api-v1.gen.mm.vodafone.com/mminterface/result";
/// The header namespace of `GenericAPIRequest` (capture, seed 003's sample;
/// the spec's Example 1 spells it `http://www.huawei.com.cn/schema/common/v2_1`).
pub const HEADER_NAMESPACE: &str = "http://www.huawei.com/schema/osg/common/v2_1";
/// The header namespace of `queryTransaction` (spec §4.4's example).
pub const QUERY_HEADER_NAMESPACE: &str = "http://www.huawei.com.cn/schema/common/v2_1";
/// The `queryTransaction` body namespace (spec §4.4).
pub const QUERY_NAMESPACE: &str = "http://www.csapi.org/schema/transaction/data/v1_0/local";
/// The `notifyQueueTimeout` body namespace (spec §4.3).
pub const TIMEOUT_NAMESPACE: &str =
    "http://www.csapi.org/schema/timeoutnotification/data/v1_0/local";

// ---- the SOAP envelope around GenericAPIRequest ----

/// `soapenv:Envelope` of `GenericAPIRequest` (capture, §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct RequestEnvelope {
    /// `xmlns:soapenv` (capture).
    #[serde(rename = "@xmlns:soapenv", default)]
    pub soapenv: String,
    /// `xmlns:req` (capture).
    #[serde(rename = "@xmlns:req", default)]
    pub req: String,
    /// The SP authentication header (capture).
    #[serde(rename = "soapenv:Header", alias = "Header")]
    pub header: SoapHeader,
    /// The body (capture).
    #[serde(rename = "soapenv:Body", alias = "Body")]
    pub body: RequestBody,
}

/// `soapenv:Header` (capture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoapHeader {
    /// `tns:RequestSOAPHeader` (capture; spec "RequestSOAPHeader").
    #[serde(rename = "tns:RequestSOAPHeader", alias = "RequestSOAPHeader")]
    pub request_soap_header: RequestSoapHeader,
}

/// `RequestSOAPHeader`: the SP's credentials (capture; seed 001 "SP
/// Credentials: SPID, SPPassword, ServiceID").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSoapHeader {
    /// `xmlns:tns`, one of the two spellings (capture; spec).
    #[serde(rename = "@xmlns:tns", default)]
    pub tns: String,
    /// The SP id the broker allocated (capture `151515`; seed 001 "SPID").
    #[serde(rename = "tns:spId", alias = "spId")]
    pub sp_id: String,
    /// `BASE64(upper-hex(SHA-256(spId + password + timeStamp)))`: reference §2.3
    /// (the capture decodes to upper-case hex).
    #[serde(rename = "tns:spPassword", alias = "spPassword")]
    pub sp_password: String,
    /// `yyyyMMddHHmmss`, "UTC time" (spec); required with `spPassword`.
    #[serde(rename = "tns:timeStamp", alias = "timeStamp")]
    pub time_stamp: String,
    /// The service id (capture `151515000`; seed 001 "ServiceID").
    #[serde(rename = "tns:serviceId", alias = "serviceId")]
    pub service_id: String,
}

/// `soapenv:Body` of `GenericAPIRequest` (capture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestBody {
    /// `req:RequestMsg`: the [`GenericApiRequest`] document as a string. The
    /// capture wraps it in CDATA; we send it as escaped text, which every XML
    /// parser reads as the same string (WSDL: `RequestMsg` is `xsd:string`).
    #[serde(rename = "req:RequestMsg", alias = "RequestMsg")]
    pub request_msg: String,
}

// ---- the GenericAPIRequest document (inside RequestMsg) ----

/// The `request` document (capture, §2.2; spec "Data Type Definition").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "request")]
pub struct GenericApiRequest {
    /// `xmlns`, [`REQUEST_NAMESPACE`] (capture).
    #[serde(rename = "@xmlns", default)]
    pub xmlns: String,
    /// What to do (capture).
    #[serde(rename = "Transaction")]
    pub transaction: Transaction,
    /// Who asks, who pays, who receives (capture).
    #[serde(rename = "Identity")]
    pub identity: Identity,
    /// `1`: the API caller's key (capture; spec: `2` the initiator's).
    #[serde(rename = "KeyOwner")]
    pub key_owner: String,
}

/// `Transaction` (capture; spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// `BusinessPayment`, `SalaryPayment`, `PromotionPayment`, … (spec).
    #[serde(rename = "CommandID")]
    pub command_id: String,
    /// Reserved, `0` on the wire (capture).
    #[serde(rename = "LanguageCode", default)]
    pub language_code: String,
    /// The caller's unique id of the request, ≤ 128; a repeat is a duplicate
    /// (spec, ApiResult 15). The host's pay-out reference.
    #[serde(rename = "OriginatorConversationID")]
    pub originator_conversation_id: String,
    /// Empty on a new request (capture; spec).
    #[serde(rename = "ConversationID", default)]
    pub conversation_id: String,
    /// Free text ≤ 255 (spec; `0` in the capture).
    #[serde(rename = "Remark", default)]
    pub remark: String,
    /// `Amount` (capture; spec).
    #[serde(rename = "Parameters")]
    pub parameters: Parameters,
    /// `QueueTimeoutURL`, `Occasion` (capture; spec §4.1.1.2).
    #[serde(rename = "ReferenceData", default)]
    pub reference_data: ReferenceData,
    /// The caller's time, checked for age (capture
    /// `2014-09-27T12:53:19.0000521Z`; ApiResult 19).
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
}

/// `Parameters` (capture).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Parameters {
    /// `Parameter{Key, Value}`, 1..n (spec).
    #[serde(rename = "Parameter", default)]
    pub parameter: Vec<KeyValue>,
}

/// `ReferenceData` (capture).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReferenceData {
    /// `ReferenceItem{Key, Value}` (capture; spec).
    #[serde(rename = "ReferenceItem", default)]
    pub reference_item: Vec<KeyValue>,
}

/// `{Key, Value}`, the shape of parameters, reference items and result
/// parameters alike (capture; spec).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyValue {
    /// The name.
    #[serde(rename = "Key", default)]
    pub key: String,
    /// The value as text (`70.00`, `Ksh200.00`).
    #[serde(rename = "Value", default)]
    pub value: String,
}

/// `Identity` (capture; spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The API caller (capture).
    #[serde(rename = "Caller")]
    pub caller: Caller,
    /// The organisation operator who initiates (capture).
    #[serde(rename = "Initiator")]
    pub initiator: Initiator,
    /// The paying organisation (capture).
    #[serde(rename = "PrimaryParty")]
    pub primary_party: Party,
    /// The customer paid (capture).
    #[serde(rename = "ReceiverParty")]
    pub receiver_party: Party,
    /// Required by the schema, placeholder values on the wire (capture `1` /
    /// `Identifier3`; PHP clients send `4` / the shortcode).
    #[serde(rename = "AccessDevice")]
    pub access_device: AccessDevice,
}

/// `Caller` (capture; spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// `2` = APICaller (spec).
    #[serde(rename = "CallerType")]
    pub caller_type: String,
    /// The third party's id in M-PESA, ≤ 20 (capture `898941`).
    #[serde(rename = "ThirdPartyID")]
    pub third_party_id: String,
    /// Only "if the password feature for third party is used" (spec); empty.
    #[serde(rename = "Password", default)]
    pub password: String,
    /// "Currently it is unused" (spec); empty.
    #[serde(rename = "CheckSum", default)]
    pub check_sum: String,
    /// Where the broker posts the `ResultMsg` (spec): the host's `result-url`.
    #[serde(rename = "ResultURL", default)]
    pub result_url: String,
}

/// `Initiator` (capture; spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Initiator {
    /// `11` = OrganizationOperatorUserName (spec; capture).
    #[serde(rename = "IdentifierType")]
    pub identifier_type: String,
    /// The API operator's user name (seed 001 "Initiator Username").
    #[serde(rename = "Identifier")]
    pub identifier: String,
    /// The operator's password, RSA PKCS#1 v1.5 with the issued certificate,
    /// base64 (spec "Password Encryption"; seed 001).
    #[serde(rename = "SecurityCredential")]
    pub security_credential: String,
    /// The operator's organisation shortcode (capture; spec "conditional").
    #[serde(rename = "ShortCode", default)]
    pub short_code: String,
}

/// `PrimaryParty` and `ReceiverParty` (capture; spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// `4` OrganizationShortCode for the payer, `1` MSISDN for the receiver (spec).
    #[serde(rename = "IdentifierType")]
    pub identifier_type: String,
    /// The shortcode, or `2547XXXXXXXX` (capture).
    #[serde(rename = "Identifier")]
    pub identifier: String,
    /// "Reserved"; empty (capture).
    #[serde(rename = "ShortCode", default)]
    pub short_code: String,
}

/// `AccessDevice` (capture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDevice {
    /// `4` (PHP clients; guess that the broker ignores it).
    #[serde(rename = "IdentifierType")]
    pub identifier_type: String,
    /// The shortcode (PHP clients).
    #[serde(rename = "Identifier")]
    pub identifier: String,
}

// ---- answers: GenericAPIResponse, ResultMsg, faults ----

/// Any SOAP envelope the broker answers or posts: the synchronous
/// `ResponseMsg`, a `Fault`, the `ResultMsg`, a `queryTransactionResponse` or
/// a `notifyQueueTimeout`; which one is there says what it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct InboundEnvelope {
    /// `s:Body` / `soapenv:Body` (capture).
    #[serde(rename = "Body", default)]
    pub body: InboundBody,
}

/// The body of an [`InboundEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct InboundBody {
    /// `ResponseMsg`: a [`GenericApiResponse`] document (capture §2.4).
    #[serde(rename = "ResponseMsg")]
    pub response_msg: Option<String>,
    /// `ResultMsg`: an [`ApiResult`] document (capture §2.5; WSDL
    /// `GenericAPIResult`'s input).
    #[serde(rename = "ResultMsg")]
    pub result_msg: Option<String>,
    /// A SOAP 1.1 fault (SOAP 1.1 §4.4; the broker's use of it is a guess).
    #[serde(rename = "Fault")]
    pub fault: Option<SoapFault>,
    /// `queryTransactionResponse` (spec §4.4).
    #[serde(rename = "queryTransactionResponse")]
    pub query_response: Option<QueryTransactionResponse>,
    /// `notifyQueueTimeout` (spec §4.3).
    #[serde(rename = "notifyQueueTimeout")]
    pub queue_timeout: Option<NotifyQueueTimeout>,
}

/// A SOAP 1.1 `Fault` (SOAP 1.1 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct SoapFault {
    /// `soapenv:Client` (the message was wrong) or `soapenv:Server`.
    #[serde(rename = "faultcode")]
    pub fault_code: String,
    /// Why, in words.
    #[serde(rename = "faultstring")]
    pub fault_string: String,
}

/// `GenericAPIResponse`'s document: root `Response` (capture) or `response`
/// (spec's authentication failure), read alike.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct GenericApiResponse {
    /// `0` (or `00000000`) accepted; anything else ends the interaction
    /// (seed 001; the codes in reference §2.4).
    #[serde(rename = "ResponseCode")]
    pub response_code: String,
    /// The broker's words (spec).
    #[serde(rename = "ResponseDesc")]
    pub response_desc: String,
    /// M-PESA's id of the request: a GUID (capture) or `AG_…` (spec).
    #[serde(rename = "ConversationID")]
    pub conversation_id: String,
    /// Ours, echoed (capture).
    #[serde(rename = "OriginatorConversationID")]
    pub originator_conversation_id: String,
    /// "MM service status" (spec), `0` in the capture.
    #[serde(rename = "ServiceStatus")]
    pub service_status: String,
}

/// The `Result` document in `ResultMsg` (capture §2.5 and the spec's April
/// 2015 example; the differences between the two are read alike).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ApiResult {
    /// `Completed` (capture) or `0` completed, `1` waiting (spec).
    #[serde(rename = "ResultType")]
    pub result_type: String,
    /// The ApiResult code (reference §2.7).
    #[serde(rename = "ResultCode")]
    pub result_code: String,
    /// The code's CamelCase name (capture) or prose (spec).
    #[serde(rename = "ResultDesc")]
    pub result_desc: String,
    /// Ours, "comes from the request message" (spec).
    #[serde(rename = "OriginatorConversationID")]
    pub originator_conversation_id: String,
    /// M-PESA's id of the request (capture `ConversationID`, spec `ConversationId`).
    #[serde(rename = "ConversationID", alias = "ConversationId")]
    pub conversation_id: String,
    /// The receipt, "only for transaction" (spec `TransactionId`).
    #[serde(rename = "TransactionID", alias = "TransactionId")]
    pub transaction_id: String,
    /// The facts of the payment (spec's April 2015 table).
    #[serde(rename = "ResultParameters")]
    pub result_parameters: ResultParameters,
    /// Echoes of the request (spec).
    #[serde(rename = "ReferenceData")]
    pub reference_data: ReferenceData,
}

impl ApiResult {
    /// The value of the first result parameter named `key`.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.result_parameters
            .result_parameter
            .iter()
            .find(|parameter| parameter.key == key)
            .map(|parameter| parameter.value.as_str())
    }
}

/// `ResultParameters`: `ResultParameter` items (spec) or `Parameter` items
/// (capture).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ResultParameters {
    /// The items.
    #[serde(rename = "ResultParameter", alias = "Parameter", default)]
    pub result_parameter: Vec<KeyValue>,
}

// ---- queue timeout and query ----

/// `loc:notifyQueueTimeout` (spec §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct NotifyQueueTimeout {
    /// The expired request's `OriginatorConversationID`.
    #[serde(rename = "originatorConversationID")]
    pub originator_conversation_id: String,
    /// The original request without its SOAP header, base64; unread.
    #[serde(rename = "originRequest")]
    pub origin_request: String,
}

/// `soapenv:Envelope` of `queryTransaction` (spec §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct QueryEnvelope {
    /// `xmlns:soapenv`.
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: String,
    /// `xmlns:loc`, [`QUERY_NAMESPACE`].
    #[serde(rename = "@xmlns:loc")]
    pub loc: String,
    /// The same SP header as the request's, in the spec example's
    /// namespace ([`QUERY_HEADER_NAMESPACE`]).
    #[serde(rename = "soapenv:Header")]
    pub header: SoapHeader,
    /// The query.
    #[serde(rename = "soapenv:Body")]
    pub body: QueryBody,
}

/// `soapenv:Body` of `queryTransaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryBody {
    /// `loc:queryTransaction` (spec §4.4).
    #[serde(rename = "loc:queryTransaction")]
    pub query_transaction: QueryTransaction,
}

/// `loc:queryTransaction` (spec §4.4). `extensionInfo/queryDate` is left out:
/// optional, "if this parameter does not present, it will cost more time".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryTransaction {
    /// The request's `OriginatorConversationID`.
    #[serde(rename = "loc:originatorConversationID")]
    pub originator_conversation_id: String,
}

/// `queryTransactionResponse` (spec §4.4). Each list item is a raw HTTP
/// message, base64. That each item is one repeated element of the list's
/// name (JAXB's `List<String>`) is a guess: the spec's text names the lists
/// and its captures came from them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct QueryTransactionResponse {
    /// `ResponseCode`, `ResponseDesc` (spec).
    #[serde(rename = "result")]
    pub result: QueryResult,
    /// The requests the broker received under this id.
    #[serde(rename = "submitApiRequestList")]
    pub submit_api_request_list: Vec<String>,
    /// Its synchronous answers.
    #[serde(rename = "submitApiResponseList")]
    pub submit_api_response_list: Vec<String>,
    /// The `ResultMsg`s it posted.
    #[serde(rename = "submitApiResultList")]
    pub submit_api_result_list: Vec<String>,
    /// The queue timeouts it notified.
    #[serde(rename = "queueTimeOutList")]
    pub queue_time_out_list: Vec<String>,
}

/// `result` of a `queryTransactionResponse` (spec).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct QueryResult {
    /// `000000000` success; the §2.4 codes otherwise.
    #[serde(rename = "ResponseCode")]
    pub response_code: String,
    /// The broker's words.
    #[serde(rename = "ResponseDesc")]
    pub response_desc: String,
}

// ---- what the caller's SOAP server answers ----

/// The acknowledgement envelope a `ResultMsg` receiver returns (spec "The
/// 3rd party return response to the Broker").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct AcknowledgementEnvelope {
    /// `xmlns:soapenv`.
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: String,
    /// `xmlns:req`, [`REQUEST_NAMESPACE`].
    #[serde(rename = "@xmlns:req")]
    pub req: String,
    /// Empty (spec).
    #[serde(rename = "soapenv:Header")]
    pub header: (),
    /// The answer.
    #[serde(rename = "soapenv:Body")]
    pub body: AcknowledgementBody,
}

/// The body of an [`AcknowledgementEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcknowledgementBody {
    /// `req:ResponseMsg`: an [`Acknowledgement`] document as a string.
    #[serde(rename = "req:ResponseMsg")]
    pub response_msg: String,
}

/// The `response` document of an acknowledgement (spec).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "response")]
pub struct Acknowledgement {
    /// [`RESPONSE_NAMESPACE`].
    #[serde(rename = "@xmlns")]
    pub xmlns: String,
    /// `00000000` (the spec's example; its table writes nine digits).
    #[serde(rename = "ResponseCode")]
    pub response_code: String,
    /// `success`.
    #[serde(rename = "ResponseDesc")]
    pub response_desc: String,
}

/// `loc:notifyQueueTimeoutResponse`'s envelope (spec §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct QueueTimeoutReplyEnvelope {
    /// `xmlns:soapenv`.
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: String,
    /// `xmlns:loc`, [`TIMEOUT_NAMESPACE`].
    #[serde(rename = "@xmlns:loc")]
    pub loc: String,
    /// `xmlns:res`, [`RESULT_NAMESPACE`].
    #[serde(rename = "@xmlns:res")]
    pub res: String,
    /// The answer.
    #[serde(rename = "soapenv:Body")]
    pub body: QueueTimeoutReplyBody,
}

/// The body of a [`QueueTimeoutReplyEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueTimeoutReplyBody {
    /// `loc:notifyQueueTimeoutResponse`.
    #[serde(rename = "loc:notifyQueueTimeoutResponse")]
    pub response: QueueTimeoutReply,
}

/// `loc:notifyQueueTimeoutResponse` (spec §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueTimeoutReply {
    /// `loc:result`.
    #[serde(rename = "loc:result")]
    pub result: QueueTimeoutReplyResult,
}

/// `loc:result` of a queue-timeout reply (spec §4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueTimeoutReplyResult {
    /// `00000000`.
    #[serde(rename = "res:ResultCode")]
    pub result_code: String,
    /// `success`.
    #[serde(rename = "res:ResultDesc")]
    pub result_desc: String,
}

/// A SOAP 1.1 fault the caller's server answers with (SOAP 1.1 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct FaultEnvelope {
    /// `xmlns:soapenv`.
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: String,
    /// The fault.
    #[serde(rename = "soapenv:Body")]
    pub body: FaultBody,
}

/// The body of a [`FaultEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultBody {
    /// `soapenv:Fault`.
    #[serde(rename = "soapenv:Fault")]
    pub fault: OutboundFault,
}

/// `soapenv:Fault`'s fields (SOAP 1.1 §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboundFault {
    /// `soapenv:Client`: the message was at fault.
    #[serde(rename = "faultcode")]
    pub fault_code: String,
    /// Why.
    #[serde(rename = "faultstring")]
    pub fault_string: String,
}
