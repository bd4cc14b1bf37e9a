//! The settings this connector reads, declared in `describe` so the host can
//! refuse a policy that lacks one and `corridor check-policy` can name it.

use corridor_connector_kit::bindings::corridor::connector::types::Setting;

/// `(name, secret, required, description)` for every key read through `config`.
const SETTINGS: &[(&str, bool, bool, &str)] = &[
    (
        "alipay_gateway_url",
        false,
        true,
        "the Alipay mapi gateway, …/gateway.do",
    ),
    (
        "alipay_partner",
        false,
        true,
        "the merchant's partner id (16 digits, 2088…)",
    ),
    (
        "alipay_sign_type",
        false,
        false,
        "MD5 (default), RSA (SHA1withRSA) or RSA2 (SHA256withRSA)",
    ),
    (
        "alipay_md5_key",
        true,
        false,
        "the MD5 signing key; required when alipay_sign_type is MD5",
    ),
    (
        "alipay_merchant_private_key",
        true,
        false,
        "the merchant's PKCS#8 PEM key; required for RSA and RSA2",
    ),
    (
        "alipay_public_key",
        false,
        false,
        "Alipay's PEM public key; required for RSA and RSA2",
    ),
    ("mpesa_base_url", false, true, "Daraja's base URL"),
    (
        "mpesa_consumer_key",
        true,
        true,
        "the Daraja app's consumer key (OAuth)",
    ),
    (
        "mpesa_consumer_secret",
        true,
        true,
        "the Daraja app's consumer secret (OAuth)",
    ),
    ("mpesa_shortcode", false, true, "the B2C shortcode (PartyA)"),
    (
        "mpesa_initiator_name",
        false,
        true,
        "the API operator who initiates B2C payments",
    ),
    (
        "mpesa_initiator_password",
        true,
        true,
        "the initiator's password, encrypted into SecurityCredential",
    ),
    (
        "mpesa_certificate",
        false,
        true,
        "Daraja's X.509 certificate (PEM) that encrypts the credential",
    ),
    (
        "mpesa_pay_out_protocol",
        false,
        false,
        "daraja-v3 (default), daraja-v1, or broker (B2C over the G2 SOAP broker)",
    ),
    (
        "mpesa_broker_url",
        false,
        false,
        "the G2 broker's base URL (…/mminterface/request below it); required for broker",
    ),
    (
        "mpesa_sp_id",
        false,
        false,
        "the broker's spId for this service provider; required for broker",
    ),
    (
        "mpesa_sp_password",
        true,
        false,
        "the SP password hashed into spPassword; required for broker",
    ),
    (
        "mpesa_service_id",
        false,
        false,
        "the broker's serviceId; required for broker",
    ),
    (
        "mpesa_third_party_id",
        false,
        false,
        "Caller/ThirdPartyID, the API caller's id in M-PESA; required for broker",
    ),
    (
        "mpesa_command_id",
        false,
        false,
        "BusinessPayment (default), SalaryPayment or PromotionPayment",
    ),
    (
        "fx_rates_url",
        false,
        true,
        "the rates source, asked ?base=USD",
    ),
    (
        "quote_ttl_s",
        false,
        false,
        "the longest a quote lasts, in seconds (default 300)",
    ),
    (
        "fee_minor",
        false,
        false,
        "a fixed fee in US cents added to the pay-in (default 0)",
    ),
];

/// The declared settings, as `describe` returns them.
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
