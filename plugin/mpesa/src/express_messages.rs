//! M-PESA Express (STK push) messages as types, named as Daraja names them
//! (payment-apis.md §1.8). Mixed value types (`ResultCode` `0` in the
//! callback and `"0"` in the query; `Amount`, `TransactionDate` and
//! `PhoneNumber` as JSON numbers) are read as text.

use serde::{Deserialize, Serialize};

use crate::messages::text_or_number;

/// `POST /mpesa/stkpush/v1/processrequest`, in the order of Daraja's sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StkPushRequest {
    /// The shortcode the password is made of (a number in Daraja's sample,
    /// accepted as a string).
    pub business_short_code: String,
    /// `base64(BusinessShortCode + Passkey + Timestamp)`, no hashing.
    pub password: String,
    /// `YYYYMMDDHHmmss`, EAT.
    pub timestamp: String,
    /// `CustomerPayBillOnline` or `CustomerBuyGoodsOnline`.
    pub transaction_type: String,
    /// Whole shillings, as digits.
    pub amount: String,
    /// The payer's MSISDN (the party paying).
    pub party_a: String,
    /// The shortcode (Paybill) or till (Buy Goods) paid.
    pub party_b: String,
    /// The handset the prompt goes to: the payer's MSISDN again.
    pub phone_number: String,
    /// Where the `stkCallback` is POSTed.
    #[serde(rename = "CallBackURL")]
    pub call_back_url: String,
    /// Shown to the payer; at most 12 characters.
    pub account_reference: String,
    /// At most 13 characters; not echoed back.
    pub transaction_desc: String,
}

/// The push's synchronous acknowledgement (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StkPushAcknowledgement {
    /// Daraja's id of the merchant's request.
    #[serde(rename = "MerchantRequestID", default)]
    pub merchant_request_id: String,
    /// The id the callback and the query name the push by.
    #[serde(rename = "CheckoutRequestID", default)]
    pub checkout_request_id: String,
    /// `"0"` when accepted.
    #[serde(default, deserialize_with = "text_or_number")]
    pub response_code: Option<String>,
    /// Safaricom's words.
    #[serde(default)]
    pub response_description: String,
    /// What the merchant may show the payer.
    #[serde(default)]
    pub customer_message: String,
}

/// `POST /mpesa/stkpushquery/v1/query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StkQueryRequest {
    /// As in the push.
    pub business_short_code: String,
    /// As in the push, for this request's timestamp.
    pub password: String,
    /// `YYYYMMDDHHmmss`, EAT.
    pub timestamp: String,
    /// The push asked about.
    #[serde(rename = "CheckoutRequestID")]
    pub checkout_request_id: String,
}

/// The query's answer (HTTP 200): the push's fate once the payer acted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StkQueryAnswer {
    /// `"0"`: the query was answered.
    #[serde(default, deserialize_with = "text_or_number")]
    pub response_code: Option<String>,
    /// Safaricom's words for the query.
    #[serde(default)]
    pub response_description: String,
    /// The push's merchant request.
    #[serde(rename = "MerchantRequestID", default)]
    pub merchant_request_id: String,
    /// The push.
    #[serde(rename = "CheckoutRequestID", default)]
    pub checkout_request_id: String,
    /// The push's result code, a string here and a number in the callback.
    #[serde(default, deserialize_with = "text_or_number")]
    pub result_code: Option<String>,
    /// Safaricom's words for the result.
    #[serde(default)]
    pub result_desc: String,
}

/// The callback POSTed to `CallBackURL`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StkCallbackBody {
    /// The envelope.
    #[serde(rename = "Body")]
    pub body: StkCallbackEnvelope,
}

/// `Body`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StkCallbackEnvelope {
    /// `Body.stkCallback`.
    #[serde(rename = "stkCallback")]
    pub stk_callback: StkCallback,
}

/// `Body.stkCallback`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StkCallback {
    /// The merchant request.
    #[serde(rename = "MerchantRequestID", default)]
    pub merchant_request_id: String,
    /// The push.
    #[serde(rename = "CheckoutRequestID", default)]
    pub checkout_request_id: String,
    /// `0` paid; `1032` cancelled; …: a number here.
    #[serde(default, deserialize_with = "text_or_number")]
    pub result_code: Option<String>,
    /// Safaricom's words.
    #[serde(default)]
    pub result_desc: String,
    /// Present only when paid.
    #[serde(default)]
    pub callback_metadata: Option<CallbackMetadata>,
}

impl StkCallback {
    /// The value of the metadata item `name`, as text.
    pub fn item(&self, name: &str) -> Option<String> {
        self.callback_metadata
            .as_ref()?
            .item
            .iter()
            .find(|item| item.name == name)?
            .value
            .clone()
            .filter(|value| !value.trim().is_empty())
    }
}

/// `CallbackMetadata`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CallbackMetadata {
    /// `Item`: Amount, MpesaReceiptNumber, TransactionDate, PhoneNumber (and
    /// on older samples `Balance` with no `Value`).
    #[serde(rename = "Item", default)]
    pub item: Vec<CallbackItem>,
}

/// One `{"Name": …, "Value": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallbackItem {
    /// The item's name.
    #[serde(rename = "Name")]
    pub name: String,
    /// A number or a string, as text; missing on `Balance`.
    #[serde(rename = "Value", default, deserialize_with = "text_or_number")]
    pub value: Option<String>,
}
