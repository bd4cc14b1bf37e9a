//! Quotes: KES → UGX from the configured rates source, with the fee and
//! expiry rules of every corridor (`corridor_connector_kit::quote`). The
//! payer pays KES, the send currency itself, so the pay-in rate is exactly 1.

use corridor_connector_kit::bindings::corridor::connector::types::{
    AmountLimit, Failure, FxQuote, QuoteRequest,
};
use corridor_connector_kit::failure::failed;
use corridor_connector_kit::quote::Corridor;
pub use corridor_connector_kit::quote::{QuoteSettings, Rates, parse_rates, rates_request};

/// This corridor: KES sent and charged, UGX (no minor unit) paid. Limits:
/// KES 100 to KES 150,000, M-PESA's own ceiling for one transaction.
pub const CORRIDOR: Corridor = Corridor {
    send: "KES",
    pay_in: "KES",
    pay_out: "UGX",
    pay_out_digits: 0,
    min_minor: 10_000,
    max_minor: 15_000_000,
};

/// The send limits, as `describe` reports them.
pub fn limits() -> Vec<AmountLimit> {
    CORRIDOR.limits()
}

/// Prices `request`. M-PESA collects whole shillings only, so a send amount
/// or fee with cents is refused here rather than at the payer's prompt.
pub fn build(
    request: &QuoteRequest,
    rates: &Rates,
    settings: &QuoteSettings,
    source: &str,
    now_ms: u64,
) -> Result<FxQuote, Failure> {
    if request.send.amount_minor % 100 != 0 {
        return Err(failed(
            "amount-out-of-range",
            "M-PESA collects whole shillings: send an amount without cents",
        ));
    }
    if settings.fee_minor % 100 != 0 {
        return Err(corridor_connector_kit::failure::misconfigured(
            "fee_minor must be whole shillings (a multiple of 100)",
        ));
    }
    corridor_connector_kit::quote::build(&CORRIDOR, request, rates, settings, source, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::money::money;

    fn rates() -> Rates {
        Rates {
            rates: [("UGX".to_string(), "28.60".to_string())].into(),
            version: 1,
            valid_until_ms: 600_000,
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
            send: money(amount_minor, "KES"),
            receive_currency: "UGX".into(),
        }
    }

    #[test]
    fn a_thousand_shillings_pays_28600_ugandan_shillings_and_charges_the_fee_in_kes() {
        let quote = build(&request(100_000), &rates(), &settings(3_000), "fx", 0).expect("quote");
        assert_eq!(quote.receive.amount_minor, 28_600);
        assert_eq!(quote.receive.currency, "UGX");
        assert_eq!(quote.pay_in.amount_minor, 103_000);
        assert_eq!(quote.pay_in.currency, "KES");
        assert_eq!(quote.expires_at_ms, 300_000);
    }

    #[test]
    fn cents_amounts_out_of_range_and_other_currencies_are_refused() {
        assert!(build(&request(100_050), &rates(), &settings(0), "fx", 0).is_err());
        assert!(build(&request(9_900), &rates(), &settings(0), "fx", 0).is_err());
        assert!(build(&request(15_000_100), &rates(), &settings(0), "fx", 0).is_err());
        assert!(build(&request(100_000), &rates(), &settings(50), "fx", 0).is_err());
        let mut usd = request(100_000);
        usd.send.currency = "USD".into();
        assert!(build(&usd, &rates(), &settings(0), "fx", 0).is_err());
    }
}
