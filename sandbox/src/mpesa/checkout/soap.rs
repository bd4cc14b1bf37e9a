//! The checkout's SOAP on the SAG's side: requests read by local name (any
//! prefix), replies written as seed 004's samples are (`SOAP-ENV:` and
//! `ns1:` bound to the WSDL's namespace, literally `tns:ns`), and SOAP 1.1
//! faults for what cannot be read.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const TARGET_NS: &str = "tns:ns";

/// A request envelope.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    #[serde(rename = "Header", default)]
    pub header: Option<Header>,
    #[serde(rename = "Body")]
    pub body: Body,
}

#[derive(Debug, Deserialize)]
pub(super) struct Header {
    #[serde(rename = "CheckOutHeader", default)]
    pub check_out_header: Option<CheckOutHeader>,
}

/// The header the WSDL puts on every operation: `MERCHANT_ID`, `PASSWORD`,
/// `TIMESTAMP` (mobile-money-apis.md §4.2).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CheckOutHeader {
    #[serde(rename = "MERCHANT_ID")]
    pub merchant_id: Option<String>,
    #[serde(rename = "PASSWORD")]
    pub password: Option<String>,
    #[serde(rename = "TIMESTAMP")]
    pub timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Body {
    #[serde(rename = "$value")]
    pub operation: Operation,
}

/// The operation, named by the body's element.
#[derive(Debug, Deserialize)]
pub(super) enum Operation {
    #[serde(rename = "processCheckOutRequest")]
    Process(ProcessCheckOut),
    #[serde(rename = "transactionConfirmRequest")]
    Confirm(TransactionRef),
    #[serde(rename = "transactionStatusRequest")]
    Status(TransactionRef),
}

/// `processCheckOutRequest` (seed 004 §Request body; the WSDL's sequence).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ProcessCheckOut {
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: Option<String>,
    #[serde(rename = "REFERENCE_ID")]
    pub reference_id: Option<String>,
    #[serde(rename = "AMOUNT")]
    pub amount: Option<String>,
    #[serde(rename = "MSISDN")]
    pub msisdn: Option<String>,
    #[serde(rename = "ENC_PARAMS")]
    pub enc_params: Option<String>,
    #[serde(rename = "CALL_BACK_URL")]
    pub call_back_url: Option<String>,
    #[serde(rename = "CALL_BACK_METHOD")]
    pub call_back_method: Option<String>,
}

/// `transactionConfirmRequest` / `transactionStatusRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TransactionRef {
    #[serde(rename = "TRX_ID")]
    pub trx_id: Option<String>,
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: Option<String>,
}

/// A reply envelope around `body`.
#[derive(Serialize)]
#[serde(rename = "SOAP-ENV:Envelope")]
struct ReplyEnvelope<B: Serialize> {
    #[serde(rename = "@xmlns:SOAP-ENV")]
    soap_env: &'static str,
    #[serde(rename = "@xmlns:ns1")]
    ns1: &'static str,
    #[serde(rename = "SOAP-ENV:Body")]
    body: B,
}

/// `processCheckOutResponse`.
#[derive(Serialize)]
pub(super) struct ProcessCheckOutResponse {
    #[serde(rename = "RETURN_CODE")]
    pub return_code: String,
    #[serde(rename = "DESCRIPTION")]
    pub description: String,
    #[serde(rename = "TRX_ID")]
    pub trx_id: String,
    #[serde(rename = "ENC_PARAMS")]
    pub enc_params: String,
    #[serde(rename = "CUST_MSG")]
    pub cust_msg: String,
}

/// `transactionConfirmResponse`.
#[derive(Serialize)]
pub(super) struct TransactionConfirmResponse {
    #[serde(rename = "RETURN_CODE")]
    pub return_code: String,
    #[serde(rename = "DESCRIPTION")]
    pub description: String,
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: String,
    #[serde(rename = "TRX_ID")]
    pub trx_id: String,
}

/// `transactionStatusResponse` and, with typed children, `ResultMsg`: the
/// same sequence (§4.2), hyphenated as the samples are.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct TransactionResult<V: Serialize> {
    #[serde(rename = "MSISDN")]
    pub msisdn: V,
    #[serde(rename = "AMOUNT")]
    pub amount: V,
    #[serde(rename = "M-PESA_TRX_DATE")]
    pub mpesa_trx_date: V,
    #[serde(rename = "M-PESA_TRX_ID")]
    pub mpesa_trx_id: V,
    #[serde(rename = "TRX_STATUS")]
    pub trx_status: V,
    #[serde(rename = "RETURN_CODE")]
    pub return_code: V,
    #[serde(rename = "DESCRIPTION")]
    pub description: V,
    #[serde(rename = "MERCHANT_TRANSACTION_ID")]
    pub merchant_transaction_id: V,
    #[serde(rename = "ENC_PARAMS")]
    pub enc_params: V,
    #[serde(rename = "TRX_ID")]
    pub trx_id: V,
}

impl TransactionResult<String> {
    /// Each child with the `ns1:type="xsd:string"` attribute seed 004's XML
    /// callback sample carries.
    pub fn typed(&self) -> TransactionResult<Typed> {
        let typed = |value: &String| Typed {
            kind: "xsd:string",
            value: value.clone(),
        };
        TransactionResult {
            msisdn: typed(&self.msisdn),
            amount: typed(&self.amount),
            mpesa_trx_date: typed(&self.mpesa_trx_date),
            mpesa_trx_id: typed(&self.mpesa_trx_id),
            trx_status: typed(&self.trx_status),
            return_code: typed(&self.return_code),
            description: typed(&self.description),
            merchant_transaction_id: typed(&self.merchant_transaction_id),
            enc_params: typed(&self.enc_params),
            trx_id: typed(&self.trx_id),
        }
    }

    /// The fields in seed 004's order, for the GET and POST callbacks.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MSISDN", self.msisdn.clone()),
            ("AMOUNT", self.amount.clone()),
            ("M-PESA_TRX_DATE", self.mpesa_trx_date.clone()),
            ("M-PESA_TRX_ID", self.mpesa_trx_id.clone()),
            ("TRX_STATUS", self.trx_status.clone()),
            ("RETURN_CODE", self.return_code.clone()),
            ("DESCRIPTION", self.description.clone()),
            (
                "MERCHANT_TRANSACTION_ID",
                self.merchant_transaction_id.clone(),
            ),
            ("ENC_PARAMS", self.enc_params.clone()),
            ("TRX_ID", self.trx_id.clone()),
        ]
    }
}

/// `<X ns1:type="xsd:string">value</X>`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Typed {
    #[serde(rename = "@ns1:type")]
    kind: &'static str,
    #[serde(rename = "$text")]
    value: String,
}

/// The body of each reply, named by its element.
#[derive(Serialize)]
pub(super) enum ReplyBody {
    #[serde(rename = "ns1:processCheckOutResponse")]
    Process(ProcessCheckOutResponse),
    #[serde(rename = "ns1:transactionConfirmResponse")]
    Confirm(TransactionConfirmResponse),
    #[serde(rename = "ns1:transactionStatusResponse")]
    Status(TransactionResult<String>),
    #[serde(rename = "ns1:ResultMsg")]
    Result(TransactionResult<Typed>),
}

/// The XML of an envelope around `body`.
pub(super) fn envelope(body: ReplyBody) -> String {
    #[derive(Serialize)]
    struct Wrapped {
        #[serde(rename = "$value")]
        body: ReplyBody,
    }
    let envelope = ReplyEnvelope {
        soap_env: ENVELOPE_NS,
        ns1: TARGET_NS,
        body: Wrapped { body },
    };
    // Every value is a string: serialization cannot fail.
    quick_xml::se::to_string(&envelope).unwrap_or_default()
}

/// A 200 with `body` in its envelope.
pub(super) fn reply(body: ReplyBody) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/xml; charset=utf-8")],
        envelope(body),
    )
        .into_response()
}

/// A SOAP 1.1 fault: HTTP 500, `SOAP-ENV:Client` when the request is at
/// fault, `SOAP-ENV:Server` otherwise.
pub(super) fn fault(client: bool, reason: &str) -> Response {
    let code = if client {
        "SOAP-ENV:Client"
    } else {
        "SOAP-ENV:Server"
    };
    let xml = format!(
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{ENVELOPE_NS}\"><SOAP-ENV:Body><SOAP-ENV:Fault>\
         <faultcode>{code}</faultcode><faultstring>{}</faultstring>\
         </SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        quick_xml::escape::escape(reason)
    );
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "text/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xml_callback_is_written_as_seed_004_s_sample_is() {
        let result = TransactionResult {
            msisdn: "254720471865".to_string(),
            amount: "54.0".to_string(),
            trx_id: "cce3d32e0159c1e62a9ec45b67676200".to_string(),
            ..TransactionResult::default()
        };
        let xml = envelope(ReplyBody::Result(result.typed()));
        for part in [
            "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns1=\"tns:ns\"><SOAP-ENV:Body><ns1:ResultMsg>",
            "<MSISDN ns1:type=\"xsd:string\">254720471865</MSISDN><AMOUNT ns1:type=\"xsd:string\">54.0</AMOUNT>",
            "<M-PESA_TRX_DATE ns1:type=\"xsd:string\"/>",
            "<TRX_ID ns1:type=\"xsd:string\">cce3d32e0159c1e62a9ec45b67676200</TRX_ID></ns1:ResultMsg></SOAP-ENV:Body></SOAP-ENV:Envelope>",
        ] {
            assert!(xml.contains(part), "{part}\nnot in\n{xml}");
        }
    }
}
