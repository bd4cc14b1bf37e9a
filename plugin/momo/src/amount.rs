//! Money on MoMo's wire: a string in the currency's units.
//!
//! The host's `money` is integer minor units of the ISO 4217 currency, and
//! ISO gives UGX (and XOF, XAF, RWF, GNF, the other MoMo markets' currencies)
//! no minor unit: 5 000 shillings is `amount-minor: 5000`, the same as the
//! host's own API reads "5000" UGX. So a zero-digit currency goes on the wire
//! as its minor units, digits only ("5000"), and a two-digit one (EUR, the
//! sandbox's only currency) through the kit's `format_minor` ("10.50").
//! MTN publishes no decimal-places rule; these are the forms its examples use.
//! Currencies with three digits are refused: no MoMo market uses one.

use corridor_connector_kit::bindings::corridor::connector::types::{Failure, Money};
use corridor_connector_kit::failure::failed;
use corridor_connector_kit::money::{format_minor, parse_minor};

/// ISO 4217 digits after the point, as the host's API counts them.
pub fn minor_digits(currency: &str) -> Option<u32> {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => Some(0),
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => None,
        _ => Some(2),
    }
}

/// `money` as MoMo's `amount`: 5000 UGX → "5000", 1050 EUR → "10.50".
pub fn to_wire(money: &Money) -> Result<String, Failure> {
    if money.amount_minor <= 0 {
        return Err(failed(
            "invalid-amount",
            format!("MoMo pays positive amounts, not {}", money.amount_minor),
        ));
    }
    match minor_digits(&money.currency) {
        Some(0) => Ok(money.amount_minor.to_string()),
        Some(_) => Ok(format_minor(money.amount_minor)),
        None => Err(failed(
            "unsupported-currency",
            format!("MoMo has no market paying {}", money.currency),
        )),
    }
}

/// MoMo's `amount` in `currency` as minor units. A zero-digit currency may
/// come back as "5000" or "5000.00" (a number printed by a JSON library); a
/// fraction that is not zero is not an amount of it. `None` for anything
/// else: a money field is never rounded on the way in.
pub fn from_wire(text: &str, currency: &str) -> Option<i64> {
    let cents = parse_minor(text)?;
    match minor_digits(currency)? {
        0 => (cents % 100 == 0).then_some(cents / 100),
        _ => Some(cents),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_connector_kit::money::money;

    #[test]
    fn shillings_have_no_minor_unit_and_euros_have_cents() {
        assert_eq!(to_wire(&money(5000, "UGX")).expect("ugx"), "5000");
        assert_eq!(to_wire(&money(1050, "EUR")).expect("eur"), "10.50");
        assert!(to_wire(&money(1000, "KWD")).is_err());
        assert!(to_wire(&money(0, "UGX")).is_err());
        assert_eq!(from_wire("5000", "UGX"), Some(5000));
        assert_eq!(from_wire("5000.00", "UGX"), Some(5000));
        assert_eq!(from_wire("5000.5", "UGX"), None);
        assert_eq!(from_wire("5.0", "EUR"), Some(500));
        assert_eq!(from_wire("100", "EUR"), Some(10_000));
        assert_eq!(from_wire("-1", "EUR"), None);
    }
}
