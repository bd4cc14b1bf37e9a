//! Money on the providers' wires: decimal strings ("10.00") or whole numbers.
//! Inside the connector it is integer minor units; rates are exact decimals.

use crate::bindings::corridor::connector::types::{Decimal, Money};

/// Digits after the point in every currency this corridor handles (USD, CNY, KES).
pub const MINOR_DIGITS: u32 = 2;
const MINOR_PER_UNIT: i64 = 100;

/// Parses a non-negative decimal with at most two fraction digits into minor
/// units: "10" → 1000, "10.5" → 1050. Anything else (signs, exponents, three
/// fraction digits) is `None`: a money field is never rounded on the way in.
pub fn parse_minor(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 15
        || fraction.len() > 2
        || !digits(whole)
        || !digits(fraction)
    {
        return None;
    }
    if text.contains('.') && fraction.is_empty() {
        return None;
    }
    let fraction_minor = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse::<i64>().ok()?,
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(MINOR_PER_UNIT)?
        .checked_add(fraction_minor)
}

/// Formats minor units with two decimals: 1050 → "10.50".
pub fn format_minor(minor: i64) -> String {
    assert!(
        minor >= 0,
        "amounts on the wire are never negative: {minor}"
    );
    format!("{}.{:02}", minor / MINOR_PER_UNIT, minor % MINOR_PER_UNIT)
}

/// Whole units of an amount that must be whole ("1000" for 100000 minor).
pub fn format_whole(minor: i64) -> String {
    assert!(
        minor >= 0 && minor % MINOR_PER_UNIT == 0,
        "not a whole amount: {minor}"
    );
    (minor / MINOR_PER_UNIT).to_string()
}

/// Parses "6.5943" into an exact decimal.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || fraction.len() > 12
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some(Decimal {
        digits: format!("{whole}{fraction}").parse().ok()?,
        scale: u8::try_from(fraction.len()).ok()?,
    })
}

/// `minor × rate` exactly, as a numerator over `10^scale`.
fn product(minor: i64, rate: &Decimal) -> (i128, i128) {
    assert!(rate.scale <= 18, "rate scale {} is past 18", rate.scale);
    (
        i128::from(minor) * i128::from(rate.digits),
        10i128.pow(u32::from(rate.scale)),
    )
}

/// Converts at `rate`, rounding half up to the minor unit (how Alipay charges
/// the buyer: 1000 USD cents at 6.5943 → 6594 fen).
pub fn convert_half_up(minor: i64, rate: &Decimal) -> Option<i64> {
    let (numerator, denominator) = product(minor, rate);
    i64::try_from((numerator + denominator / 2) / denominator).ok()
}

/// Converts at `rate`, rounding down to a whole unit (M-PESA pays whole
/// shillings; the recipient never gets more than the rate gives).
pub fn convert_whole_down(minor: i64, rate: &Decimal) -> Option<i64> {
    let (numerator, denominator) = product(minor, rate);
    let whole_minor = i128::from(MINOR_PER_UNIT);
    i64::try_from(numerator / denominator / whole_minor * whole_minor).ok()
}

/// Money in minor units.
pub fn money(amount_minor: i64, currency: &str) -> Money {
    Money {
        amount_minor,
        currency: currency.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_become_minor_units_exactly() {
        assert_eq!(parse_minor("10"), Some(1000));
        assert_eq!(parse_minor("10.5"), Some(1050));
        assert_eq!(parse_minor("20.42"), Some(2042));
        for bad in ["", "-1", "1.234", "1.", ".5", "1e3", "ten", "1,00"] {
            assert_eq!(parse_minor(bad), None, "{bad}");
        }
        assert_eq!(format_minor(1050), "10.50");
        assert_eq!(format_whole(100_000), "1000");
    }

    #[test]
    fn conversions_round_as_each_provider_does() {
        let cny = parse_decimal("6.5943").expect("rate");
        assert_eq!((cny.digits, cny.scale), (65943, 4));
        assert_eq!(convert_half_up(1000, &cny), Some(6594));
        let kes = parse_decimal("100.00").expect("rate");
        assert_eq!(convert_whole_down(1000, &kes), Some(100_000));
        let odd = parse_decimal("129.87").expect("rate");
        // 10.00 USD × 129.87 = 1298.70 KES → 1298 KES paid.
        assert_eq!(convert_whole_down(1000, &odd), Some(129_800));
        assert!(parse_decimal("1.2.3").is_none());
    }
}
