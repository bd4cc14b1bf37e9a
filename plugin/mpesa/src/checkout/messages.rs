//! The Online Checkout's SOAP messages as types (quick-xml serde).
//!
//! Sources, cited per field: seed 004 (the "Developers guide – Lipa Na M-PESA
//! Online Checkout", C2B API Specification v2.0: its parameter tables and
//! samples), and the WSDL facts in mobile-money-apis.md §4.2 (extracted from
//! the original document's embedded `Checkout.wsdl`).
//!
//! Names are written as the samples write them. Requests bind the WSDL's
//! target namespace, literally the string `tns:ns`, to the prefix `tns`, as
//! seed 004's sample requests do. Replies are read by local name, so any
//! prefix (`ns1:` in the samples) and the `ns1:type` attributes of the XML
//! callback (§4.2: a PHP SOAP artefact) are ignored.

use serde::{Deserialize, Serialize};

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The WSDL's `targetNamespace` (§4.2): the URI is the string `tns:ns`.
pub const TARGET_NS: &str = "tns:ns";

/// A request: `soapenv:Envelope` with the `CheckOutHeader` and one body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename = "soapenv:Envelope")]
pub struct RequestEnvelope<B: Serialize> {
    /// `xmlns:soapenv`, as in seed 004's samples.
    #[serde(rename = "@xmlns:soapenv")]
    pub soapenv: &'static str,
    /// `xmlns:tns="tns:ns"`, as in seed 004's samples.
    #[serde(rename = "@xmlns:tns")]
    pub tns: &'static str,
    /// `soapenv:Header`.
    #[serde(rename = "soapenv:Header")]
    pub header: RequestHeader,
    /// `soapenv:Body`.
    #[serde(rename = "soapenv:Body")]
    pub body: B,
}

/// `soapenv:Header`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestHeader {
    /// The WSDL binding puts it in the header of all three operations (§4.2).
    #[serde(rename = "tns:CheckOutHeader")]
    pub check_out_header: CheckOutHeader,
}

/// `CheckOutHeader`. Seed 004's header table also lists `REFERENCE_ID`;
/// neither the WSDL nor any sample has it there (§4.2), so it is not sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutHeader {
    /// Seed 004 §Request Header: allocated by the SAG at registration.
    #[serde(rename = "MERCHANT_ID")]
    pub merchant_id: String,
    /// Seed 004 §Password encryption; the form is §4.3's:
    /// `base64(lowercase_hex(sha256(MERCHANT_ID + passkey + TIMESTAMP)))`.
    #[serde(rename = "PASSWORD")]
    pub password: String,
    /// Seed 004 §Request Header: the timestamp the password was made with;
    /// `YYYYMMDDHHmmss` as in the samples (`20141128174717`).
    #[serde(rename = "TIMESTAMP")]
    pub timestamp: String,
}

/// `soapenv:Body` of `processCheckOut`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessCheckOutBody {
    /// The WSDL's input element (§4.2).
    #[serde(rename = "tns:processCheckOutRequest")]
    pub request: ProcessCheckOutRequest,
}

/// `processCheckOutRequest`, in the WSDL's sequence (§4.2: a strict validator
/// may check the order; inferred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessCheckOutRequest {
    /// Seed 004 §Request body: the merchant's unique transaction id; our
    /// pay-in reference. The SAG refuses a reused one (`35`, §4.4).
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: String,
    /// Seed 004 §Request body: "reference to the product/service offered";
    /// the Daraja counterpart is `AccountReference` (§4.5).
    #[serde(rename = "REFERENCE_ID")]
    pub reference_id: String,
    /// Seed 004 §Request body: `xsd:double`; whole shillings as digits, as
    /// the sample's `54`.
    #[serde(rename = "AMOUNT")]
    pub amount: String,
    /// Seed 004 §Request body: the shopper's phone number.
    #[serde(rename = "MSISDN")]
    pub msisdn: String,
    /// Seed 004 §Request body: optional, echoed back in the callback.
    #[serde(rename = "ENC_PARAMS")]
    pub enc_params: String,
    /// Seed 004 §Request body: the payment notification URL.
    #[serde(rename = "CALL_BACK_URL")]
    pub call_back_url: String,
    /// Seed 004 §Request body; the values `xml`, `get`, `post` are §4.4's.
    #[serde(rename = "CALL_BACK_METHOD")]
    pub call_back_method: String,
    /// Not in seed 004's table; in its sample and optional in the WSDL
    /// (§4.2). The samples repeat the header's timestamp.
    #[serde(rename = "TIMESTAMP")]
    pub timestamp: String,
}

/// `soapenv:Body` of `confirmTransaction`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfirmBody {
    /// The WSDL's input element (§4.2).
    #[serde(rename = "tns:transactionConfirmRequest")]
    pub request: TransactionRequest,
}

/// `soapenv:Body` of `transactionStatusQuery`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusBody {
    /// The WSDL's input element (§4.2).
    #[serde(rename = "tns:transactionStatusRequest")]
    pub request: TransactionRequest,
}

/// `transactionConfirmRequest` and `transactionStatusRequest`: both have
/// `TRX_ID` and `MERCHANT_TRANSACTION_ID`, each optional, one required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransactionRequest {
    /// The SAG's id from `processCheckOutResponse`. Seed 004 mis-describes it
    /// as the shopper's phone number (§4.2).
    #[serde(rename = "TRX_ID")]
    pub trx_id: String,
    /// Seed 004 §confirmTransaction: ours, the other way to name it.
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: String,
}

/// Any reply envelope (`SOAP-ENV:Envelope` in the samples).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReplyEnvelope {
    /// `SOAP-ENV:Body`.
    #[serde(rename = "Body")]
    pub body: ReplyBody,
}

/// `SOAP-ENV:Body`: one element, named by the operation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReplyBody {
    /// The element.
    #[serde(rename = "$value")]
    pub content: ReplyContent,
}

/// What a reply body holds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub enum ReplyContent {
    /// The answer to `processCheckOut`.
    #[serde(rename = "processCheckOutResponse")]
    ProcessCheckOut(ProcessCheckOutResponse),
    /// The answer to `confirmTransaction`.
    #[serde(rename = "transactionConfirmResponse")]
    Confirm(TransactionConfirmResponse),
    /// The answer to `transactionStatusQuery`.
    #[serde(rename = "transactionStatusResponse")]
    Status(TransactionResult),
    /// The merchant callback in `xml` mode (the WSDL's `LNMOResult`).
    #[serde(rename = "ResultMsg")]
    Result(TransactionResult),
    /// A SOAP fault.
    #[serde(rename = "Fault")]
    Fault(SoapFault),
}

/// `processCheckOutResponse` (seed 004 §Output Message; sequence from §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ProcessCheckOutResponse {
    /// `00` accepted; otherwise seed 004 §Reference Faults.
    #[serde(rename = "RETURN_CODE")]
    pub return_code: Option<String>,
    /// Seed 004: the status in words.
    #[serde(rename = "DESCRIPTION")]
    pub description: Option<String>,
    /// Seed 004: the SAG's transaction id (32 lower-case hex in the sample).
    #[serde(rename = "TRX_ID")]
    pub trx_id: Option<String>,
    /// Seed 004: the merchant's parameters, echoed.
    #[serde(rename = "ENC_PARAMS")]
    pub enc_params: Option<String>,
    /// Seed 004: what the merchant must show the customer before confirming.
    #[serde(rename = "CUST_MSG")]
    pub cust_msg: Option<String>,
}

/// `transactionConfirmResponse` (seed 004 §Output Message).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct TransactionConfirmResponse {
    /// `00` confirmed: the USSD prompt goes to the payer.
    #[serde(rename = "RETURN_CODE")]
    pub return_code: Option<String>,
    /// Seed 004: the status in words.
    #[serde(rename = "DESCRIPTION")]
    pub description: Option<String>,
    /// Seed 004: ours, echoed (empty in the sample).
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: Option<String>,
    /// Seed 004: the SAG's transaction id.
    #[serde(rename = "TRX_ID")]
    pub trx_id: Option<String>,
}

/// `transactionStatusResponse` and `ResultMsg`: the same sequence (§4.2),
/// and the same fields as the GET and POST callbacks (seed 004 §Payment
/// Notification).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct TransactionResult {
    /// Seed 004: the customer who paid.
    #[serde(rename = "MSISDN")]
    pub msisdn: Option<String>,
    /// Seed 004: "amount effected on M-PESA"; `54.0`, `54000` in the
    /// samples (§4.2: not stable).
    #[serde(rename = "AMOUNT")]
    pub amount: Option<String>,
    /// Seed 004: `YYYY-MM-DD HH24:MI:SS`. The samples hyphenate it; the WSDL
    /// says `MPESA_TRX_DATE` (§4.2): both are read.
    #[serde(rename = "M-PESA_TRX_DATE", alias = "MPESA_TRX_DATE")]
    pub mpesa_trx_date: Option<String>,
    /// Seed 004: the M-PESA receipt; `null` or `N/A` in the samples.
    #[serde(rename = "M-PESA_TRX_ID", alias = "MPESA_TRX_ID")]
    pub mpesa_trx_id: Option<String>,
    /// Seed 004: `Pending`, `Success`, `Failed` or `Error`.
    #[serde(rename = "TRX_STATUS")]
    pub trx_status: Option<String>,
    /// Seed 004 §Reference Faults.
    #[serde(rename = "RETURN_CODE")]
    pub return_code: Option<String>,
    /// Seed 004: the status in words.
    #[serde(rename = "DESCRIPTION")]
    pub description: Option<String>,
    /// Seed 004: ours, as sent.
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: Option<String>,
    /// Seed 004: the merchant's parameters, echoed.
    #[serde(rename = "ENC_PARAMS")]
    pub enc_params: Option<String>,
    /// Seed 004: the SAG's transaction id.
    #[serde(rename = "TRX_ID")]
    pub trx_id: Option<String>,
}

/// A SOAP 1.1 `Fault`. Seed 004 shows none; a PHP SoapServer sends them
/// for envelopes it cannot read (inferred).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct SoapFault {
    /// `SOAP-ENV:Client` (the request is at fault) or `SOAP-ENV:Server`.
    #[serde(rename = "faultcode")]
    pub faultcode: Option<String>,
    /// The reason in words.
    #[serde(rename = "faultstring")]
    pub faultstring: Option<String>,
}
