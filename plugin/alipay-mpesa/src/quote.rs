//! Quotes: USD → KES for the recipient and USD → CNY for the payer, from the
//! configured rates source, with a fee and an expiry. No fixed factor.

use corridor_connector_kit::bindings::corridor::connector::types::{
    AmountLimit, Failure, FxQuote, QuoteRequest,
};
use corridor_connector_kit::quote::Corridor;
pub use corridor_connector_kit::quote::{QuoteSettings, Rates, parse_rates, rates_request};

/// The currency a transfer is denominated in.
pub const SEND_CURRENCY: &str = "USD";
/// The currency Alipay charges the payer.
pub const PAY_IN_CURRENCY: &str = "CNY";
/// The currency M-PESA pays.
pub const PAY_OUT_CURRENCY: &str = "KES";
/// Send limits: US$1.00 to US$1,000.00.
pub const SEND_MIN_MINOR: i64 = 100;
/// See [`SEND_MIN_MINOR`].
pub const SEND_MAX_MINOR: i64 = 100_000;

/// This corridor, for the kit's quoting.
pub const CORRIDOR: Corridor = Corridor {
    send: SEND_CURRENCY,
    pay_in: PAY_IN_CURRENCY,
    pay_out: PAY_OUT_CURRENCY,
    pay_out_digits: 2,
    min_minor: SEND_MIN_MINOR,
    max_minor: SEND_MAX_MINOR,
};

/// The send limits, as `describe` reports them.
pub fn limits() -> Vec<AmountLimit> {
    CORRIDOR.limits()
}

/// Prices `request`: the recipient gets the send amount at the KES rate, in
/// whole shillings, rounded down; the payer is charged send + fee at the CNY
/// rate, half up (as Alipay charges).
pub fn build(
    request: &QuoteRequest,
    rates: &Rates,
    settings: &QuoteSettings,
    source: &str,
    now_ms: u64,
) -> Result<FxQuote, Failure> {
    corridor_connector_kit::quote::build(&CORRIDOR, request, rates, settings, source, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::money::money;

    fn rates() -> Rates {
        Rates {
            rates: [("KES", "100.00"), ("CNY", "6.5943")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            version: 3,
            valid_until_ms: 60_000,
        }
    }

    fn settings(fee_minor: i64) -> QuoteSettings {
        QuoteSettings {
            rates_url: "http://127.0.0.1:1/v1/rates".into(),
            ttl_ms: 300_000,
            fee_minor,
        }
    }

    fn request(amount_minor: i64) -> QuoteRequest {
        QuoteRequest {
            send: money(amount_minor, "USD"),
            receive_currency: "KES".into(),
        }
    }

    #[test]
    fn ten_dollars_is_a_thousand_shillings_and_65_94_yuan_on_the_theses_day() {
        let quote = build(&request(1000), &rates(), &settings(0), "fx", 1_000).expect("quote");
        assert_eq!(quote.receive.amount_minor, 100_000);
        assert_eq!(quote.pay_in.amount_minor, 6594);
        assert_eq!(
            quote.expires_at_ms, 60_000,
            "never past the rates' validity"
        );
        let with_fee = build(&request(1000), &rates(), &settings(50), "fx", 1_000).expect("quote");
        assert_eq!(with_fee.pay_in.amount_minor, 6924, "10.50 USD at 6.5943");
        assert_eq!(
            with_fee.receive.amount_minor, 100_000,
            "the fee is not taken from the recipient"
        );
    }

    #[test]
    fn wrong_currencies_out_of_range_amounts_and_stale_rates_are_refused() {
        let mut eur = request(1000);
        eur.send.currency = "EUR".into();
        assert!(build(&eur, &rates(), &settings(0), "fx", 0).is_err());
        assert!(build(&request(99), &rates(), &settings(0), "fx", 0).is_err());
        assert!(build(&request(100_001), &rates(), &settings(0), "fx", 0).is_err());
        assert!(build(&request(1000), &rates(), &settings(0), "fx", 60_000).is_err());
    }
}
