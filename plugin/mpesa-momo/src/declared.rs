//! What `describe` declares: every setting the connector reads (the rails'
//! own declarations, plus Daraja's app and initiator and the quoting keys),
//! and the Paybill's two routes.

use corridor_connector_kit::bindings::corridor::connector::types::{
    InboundKind, InboundRoute, Setting,
};

use crate::routes;

/// `(name, secret, required, description)` of the keys no rail declares.
const OWN: &[(&str, bool, bool, &str)] = &[
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
    (
        "mpesa_shortcode",
        false,
        true,
        "the organisation's shortcode that owns the pay-ins (Transaction Status PartyA)",
    ),
    (
        "mpesa_initiator_name",
        false,
        true,
        "the API operator with the reversal and status roles",
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
        "fx_rates_url",
        false,
        true,
        "the rates source, asked ?base=KES",
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
        "a fixed fee in KES cents, whole shillings, added to the pay-in (default 0)",
    ),
];

/// Every setting read through `config`, as `describe` returns them.
pub fn settings() -> Vec<Setting> {
    let mut settings: Vec<Setting> = OWN
        .iter()
        .map(|&(name, secret, required, description)| Setting {
            name: name.to_string(),
            secret,
            required,
            description: description.to_string(),
        })
        .collect();
    settings.extend(corridor_rail_mpesa::pay_in::settings());
    // C2B's keys matter only for `paybill`: none is required of the others.
    settings.extend(
        corridor_rail_mpesa::c2b::settings()
            .into_iter()
            .map(|setting| Setting {
                required: false,
                ..setting
            }),
    );
    settings.extend(corridor_rail_momo::settings());
    settings
}

/// The Paybill's validation (an offer) and confirmation (a notification)
/// routes. `describe` may call no import, so it cannot read which protocol
/// the policy chose: both are declared always, and are registered with
/// M-PESA only under `paybill`.
pub fn inbound_routes() -> Vec<InboundRoute> {
    vec![
        InboundRoute {
            name: routes::C2B_VALIDATION.into(),
            kind: InboundKind::Offer,
        },
        InboundRoute {
            name: routes::C2B_CONFIRMATION.into(),
            kind: InboundKind::Notification,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_declared_once_and_the_secrets_as_secrets() {
        let declared = settings();
        let mut names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a setting declared twice");
        for secret in [
            "mpesa_consumer_secret",
            "mpesa_express_passkey",
            "momo_api_key",
            "momo_subscription_key",
        ] {
            assert!(
                declared.iter().any(|s| s.name == secret && s.secret),
                "{secret}"
            );
        }
        assert!(
            declared
                .iter()
                .any(|s| s.name == "mpesa_paybill_shortcode" && !s.required)
        );
    }
}
