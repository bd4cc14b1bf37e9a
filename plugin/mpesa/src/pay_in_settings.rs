//! Which M-PESA pay-in protocol a policy chose, and the keys each needs.
//!
//! `mpesa_pay_in_protocol` is one of:
//! - `express`: Daraja's M-PESA Express (STK push), JSON over HTTPS with an
//!   OAuth token (payment-apis.md §1.8);
//! - `checkout`: the SAG's Lipa Na M-PESA Online Checkout, SOAP (seed 004);
//! - `paybill`: the customer pays the Paybill from the phone and M-PESA calls
//!   the C2B URLs (read by the C2B module, not here).

use corridor_connector_kit::bindings::corridor::connector::types::{Failure, Setting};
use corridor_connector_kit::failure::misconfigured;
use corridor_connector_kit::settings::Settings;

/// The protocol a policy chose, with what that protocol needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpesaPayInSettings {
    /// Daraja's STK push.
    Express(ExpressSettings),
    /// The SAG's SOAP checkout.
    Checkout(CheckoutSettings),
    /// C2B Paybill: its keys are the C2B module's.
    Paybill,
}

/// The Daraja app every Daraja call authenticates as (the OAuth token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DarajaApp {
    /// Daraja's base URL, without a trailing `/`.
    pub base_url: String,
    /// The app's consumer key.
    pub consumer_key: String,
    /// The app's consumer secret.
    pub consumer_secret: String,
}

/// `TransactionType` of an STK push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionType {
    /// `CustomerPayBillOnline`: to a Paybill; `PartyB` is the shortcode.
    PayBill,
    /// `CustomerBuyGoodsOnline`: to a till; `PartyB` is the till number.
    BuyGoods,
}

impl TransactionType {
    /// Daraja's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionType::PayBill => "CustomerPayBillOnline",
            TransactionType::BuyGoods => "CustomerBuyGoodsOnline",
        }
    }
}

/// What an STK push needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpressSettings {
    /// The OAuth app.
    pub app: DarajaApp,
    /// `BusinessShortCode`, which the password is made of.
    pub shortcode: String,
    /// The Lipa na M-PESA Online passkey: `Password = base64(shortcode + passkey + timestamp)`.
    pub passkey: String,
    /// Paybill or till.
    pub transaction_type: TransactionType,
    /// `PartyB`: the shortcode for a Paybill, the till number for Buy Goods.
    pub party_b: String,
}

/// How the SAG calls the merchant back (seed 004 `CALL_BACK_METHOD`; the
/// values `xml`, `get`, `post` are from mobile-money-apis.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackMethod {
    /// A SOAP `ResultMsg` POSTed (the seed's sample request asks for this).
    Xml,
    /// A query string.
    Get,
    /// A plain POST of the fields.
    Post,
}

impl CallbackMethod {
    /// The word sent in `CALL_BACK_METHOD`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackMethod::Xml => "xml",
            CallbackMethod::Get => "get",
            CallbackMethod::Post => "post",
        }
    }
}

/// What the SOAP checkout needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSettings {
    /// The service URL (`…/mpesa_online/lnmo_checkout_server.php`).
    pub url: String,
    /// `MERCHANT_ID`, allocated by the SAG.
    pub merchant_id: String,
    /// The passkey the SAG issued, hashed into `PASSWORD`.
    pub passkey: String,
    /// How the result comes back.
    pub callback_method: CallbackMethod,
}

impl MpesaPayInSettings {
    /// Reads `mpesa_pay_in_protocol` and the keys of the protocol chosen.
    pub fn from_settings(settings: &Settings<'_>) -> Result<MpesaPayInSettings, Failure> {
        let protocol = settings.required("mpesa_pay_in_protocol")?;
        match protocol.trim() {
            "express" => Ok(MpesaPayInSettings::Express(express(settings)?)),
            "checkout" => Ok(MpesaPayInSettings::Checkout(checkout(settings)?)),
            "paybill" => Ok(MpesaPayInSettings::Paybill),
            other => Err(misconfigured(format!(
                "mpesa_pay_in_protocol = {other:?}: use express, checkout or paybill"
            ))),
        }
    }
}

fn express(settings: &Settings<'_>) -> Result<ExpressSettings, Failure> {
    let shortcode = settings.required("mpesa_pay_in_shortcode")?;
    let transaction_type = match settings
        .optional("mpesa_express_transaction_type")
        .as_deref()
    {
        None | Some("CustomerPayBillOnline") => TransactionType::PayBill,
        Some("CustomerBuyGoodsOnline") => TransactionType::BuyGoods,
        Some(other) => {
            return Err(misconfigured(format!(
                "mpesa_express_transaction_type = {other:?}: use CustomerPayBillOnline or CustomerBuyGoodsOnline"
            )));
        }
    };
    let party_b = match transaction_type {
        TransactionType::PayBill => settings
            .optional("mpesa_express_party_b")
            .unwrap_or_else(|| shortcode.clone()),
        TransactionType::BuyGoods => settings.required("mpesa_express_party_b")?,
    };
    Ok(ExpressSettings {
        app: DarajaApp {
            base_url: settings
                .required("mpesa_base_url")?
                .trim_end_matches('/')
                .to_string(),
            consumer_key: settings.required("mpesa_consumer_key")?,
            consumer_secret: settings.required("mpesa_consumer_secret")?,
        },
        passkey: settings.required("mpesa_express_passkey")?,
        shortcode,
        transaction_type,
        party_b,
    })
}

fn checkout(settings: &Settings<'_>) -> Result<CheckoutSettings, Failure> {
    let callback_method = match settings
        .optional("mpesa_checkout_callback_method")
        .map(|method| method.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("xml") => CallbackMethod::Xml,
        Some("get") => CallbackMethod::Get,
        Some("post") => CallbackMethod::Post,
        Some(other) => {
            return Err(misconfigured(format!(
                "mpesa_checkout_callback_method = {other:?}: use xml, get or post"
            )));
        }
    };
    Ok(CheckoutSettings {
        url: settings.required("mpesa_checkout_url")?,
        merchant_id: settings.required("mpesa_checkout_merchant_id")?,
        passkey: settings.required("mpesa_checkout_passkey")?,
        callback_method,
    })
}

/// `(name, secret, required, description)` of every key read here.
const SETTINGS: &[(&str, bool, bool, &str)] = &[
    (
        "mpesa_pay_in_protocol",
        false,
        true,
        "how the payer pays: express (Daraja STK push), checkout (SOAP Online Checkout) or paybill (C2B)",
    ),
    (
        "mpesa_pay_in_shortcode",
        false,
        false,
        "express: the BusinessShortCode the STK password is made of",
    ),
    (
        "mpesa_express_passkey",
        true,
        false,
        "express: the Lipa na M-PESA Online passkey",
    ),
    (
        "mpesa_express_transaction_type",
        false,
        false,
        "express: CustomerPayBillOnline (default) or CustomerBuyGoodsOnline",
    ),
    (
        "mpesa_express_party_b",
        false,
        false,
        "express: PartyB, the till number for Buy Goods (default: the shortcode)",
    ),
    (
        "mpesa_checkout_url",
        false,
        false,
        "checkout: the SAG's service URL, …/mpesa_online/lnmo_checkout_server.php",
    ),
    (
        "mpesa_checkout_merchant_id",
        false,
        false,
        "checkout: the MERCHANT_ID the SAG allocated",
    ),
    (
        "mpesa_checkout_passkey",
        true,
        false,
        "checkout: the passkey the SAG issued",
    ),
    (
        "mpesa_checkout_callback_method",
        false,
        false,
        "checkout: how the SAG calls back, xml (default), get or post",
    ),
];

/// The pay-in keys, for a connector's descriptor. Daraja's `mpesa_base_url`,
/// `mpesa_consumer_key` and `mpesa_consumer_secret`, which `express` also
/// reads, are declared with the pay-out's keys.
pub fn settings() -> Vec<Setting> {
    SETTINGS
        .iter()
        .map(|&(name, secret, required, description)| Setting {
            name: name.to_string(),
            secret,
            required,
            description: description.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<MpesaPayInSettings, Failure> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let lookup = move |key: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.clone())
        };
        MpesaPayInSettings::from_settings(&Settings::new(&lookup))
    }

    #[test]
    fn express_reads_the_daraja_app_and_defaults_to_a_paybill() {
        let read = read(&[
            ("mpesa_pay_in_protocol", "express"),
            ("mpesa_base_url", "http://127.0.0.1:1/"),
            ("mpesa_consumer_key", "key"),
            ("mpesa_consumer_secret", "secret"),
            ("mpesa_pay_in_shortcode", "174379"),
            ("mpesa_express_passkey", "bfb279"),
        ]);
        let Ok(MpesaPayInSettings::Express(express)) = read else {
            panic!("{read:?}");
        };
        assert_eq!(express.app.base_url, "http://127.0.0.1:1");
        assert_eq!(express.transaction_type, TransactionType::PayBill);
        assert_eq!(express.party_b, "174379");
    }

    #[test]
    fn checkout_needs_its_three_keys_and_takes_the_callback_method_in_any_case() {
        let base = [
            ("mpesa_pay_in_protocol", "checkout"),
            ("mpesa_checkout_url", "http://127.0.0.1:1/x.php"),
            ("mpesa_checkout_merchant_id", "898945"),
            ("mpesa_checkout_passkey", "secret"),
            ("mpesa_checkout_callback_method", "POST"),
        ];
        let Ok(MpesaPayInSettings::Checkout(checkout)) = read(&base) else {
            panic!("checkout");
        };
        assert_eq!(checkout.callback_method, CallbackMethod::Post);
        let missing = read(&base[..3]).expect_err("no passkey");
        assert!(
            missing.message.contains("mpesa_checkout_passkey"),
            "{missing:?}"
        );
    }

    #[test]
    fn an_unknown_protocol_is_misconfigured_and_every_secret_is_declared_secret() {
        let refused = read(&[("mpesa_pay_in_protocol", "ussd")]).expect_err("refused");
        assert_eq!(refused.code, "misconfigured");
        assert!(matches!(
            read(&[("mpesa_pay_in_protocol", "paybill")]),
            Ok(MpesaPayInSettings::Paybill)
        ));
        let declared = settings();
        for secret in ["mpesa_express_passkey", "mpesa_checkout_passkey"] {
            assert!(
                declared
                    .iter()
                    .any(|setting| setting.name == secret && setting.secret),
                "{secret}"
            );
        }
    }
}
