//! Client input: parsed strictly, refused with a clear reason, never rounded.

use super::error::ApiError;

/// Digits after the point in a currency (ISO 4217). Two unless listed.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A currency code: three upper-case letters.
pub fn currency(field: &str, text: &str) -> Result<String, ApiError> {
    if text.len() == 3 && text.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(text.to_string())
    } else {
        Err(ApiError::bad_request(
            "invalid-currency",
            format!("{field}: {text:?} is not an ISO 4217 code such as \"USD\""),
        ))
    }
}

/// A positive decimal amount in `currency`'s minor units: "10.00" USD → 1000.
/// More fraction digits than the currency has is an error, not a rounding.
pub fn amount(field: &str, text: &str, currency: &str) -> Result<i64, ApiError> {
    let digits = minor_digits(currency);
    let invalid = || {
        ApiError::bad_request(
            "invalid-amount",
            format!(
                "{field}: {text:?} is not a positive amount of {currency} with at most {digits} decimals, such as \"10.00\""
            ),
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 13
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > digits as usize
    {
        return Err(invalid());
    }
    if text.contains('.') && fraction.is_empty() {
        return Err(invalid());
    }
    let padded = format!("{fraction:0<width$}", width = digits as usize);
    let scale = 10i64.pow(digits);
    let minor = whole
        .parse::<i64>()
        .ok()
        .and_then(|whole| whole.checked_mul(scale))
        .and_then(|minor| {
            minor.checked_add(if padded.is_empty() {
                0
            } else {
                padded.parse().unwrap_or(0)
            })
        })
        .ok_or_else(invalid)?;
    if minor <= 0 {
        return Err(invalid());
    }
    Ok(minor)
}

/// A Kenyan M-PESA number in its canonical form, `2547XXXXXXXX` or
/// `2541XXXXXXXX`. Accepts `07…`, `01…`, `+254…`, `254…`, `7…` and `1…`,
/// with spaces or dashes.
pub fn msisdn(text: &str) -> Result<String, ApiError> {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    let canonical = if !digits.chars().all(|c| c.is_ascii_digit()) {
        None
    } else if digits.len() == 12 && digits.starts_with("254") {
        Some(digits.to_string())
    } else if digits.len() == 10 && digits.starts_with('0') {
        Some(format!("254{}", &digits[1..]))
    } else if digits.len() == 9 {
        Some(format!("254{digits}"))
    } else {
        None
    };
    canonical
        .filter(|number| number.starts_with("2547") || number.starts_with("2541"))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-recipient",
                format!("recipient: {text:?} is not a Kenyan mobile number such as 254708374149 or 0708374149"),
            )
        })
}

/// An `Idempotency-Key`: 1 to 255 visible ASCII characters.
pub fn idempotency_key(text: &str) -> Result<String, ApiError> {
    if !text.is_empty() && text.len() <= 255 && text.chars().all(|c| c.is_ascii_graphic()) {
        Ok(text.to_string())
    } else {
        Err(ApiError::bad_request(
            "invalid-idempotency-key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_per_currency_and_never_rounded() {
        assert_eq!(amount("amount", "10.00", "USD"), Ok(1000));
        assert_eq!(amount("amount", "10.5", "USD"), Ok(1050));
        assert_eq!(amount("amount", "10", "USD"), Ok(1000));
        assert_eq!(amount("amount", "500", "JPY"), Ok(500));
        for bad in [
            "0",
            "0.00",
            "-1",
            "1.234",
            "1.",
            ".5",
            "1e3",
            "",
            "ten",
            "99999999999999",
        ] {
            assert_eq!(
                amount("amount", bad, "USD").map_err(|error| error.code),
                Err("invalid-amount"),
                "{bad}"
            );
        }
        assert!(amount("amount", "1.5", "JPY").is_err());
    }

    #[test]
    fn kenyan_numbers_are_normalised_and_others_refused() {
        for good in [
            "254708374149",
            "+254 708 374 149",
            "0708374149",
            "708374149",
            "0110-123-456",
        ] {
            assert!(
                msisdn(good).is_ok_and(|number| number.len() == 12),
                "{good}"
            );
        }
        assert_eq!(msisdn("0708374149").ok().as_deref(), Some("254708374149"));
        for bad in [
            "",
            "12345",
            "255708374149",
            "0208374149",
            "2547083741499",
            "07O8374149",
        ] {
            assert_eq!(
                msisdn(bad).map_err(|error| error.code),
                Err("invalid-recipient"),
                "{bad}"
            );
        }
        assert!(currency("currency", "usd").is_err());
        assert!(idempotency_key("").is_err());
    }
}
