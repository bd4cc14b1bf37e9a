//! The recipient of a B2C: a Kenyan M-PESA number (MSISDN). Clients write it
//! many ways; Daraja takes one, `2547XXXXXXXX` or `2541XXXXXXXX`.

/// A Kenyan M-PESA number in its canonical form, `2547XXXXXXXX` or
/// `2541XXXXXXXX`. Accepts `07…`, `01…`, `+254…`, `254…`, `7…` and `1…`,
/// with spaces or dashes. `Err` is the message for the client.
pub fn normalise(text: &str) -> Result<String, String> {
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
        .filter(|number| is_canonical(number))
        .ok_or_else(|| {
            format!(
                "recipient: {text:?} is not a Kenyan mobile number such as 254708374149 or 0708374149"
            )
        })
}

/// A 12-digit Kenyan MSISDN (2547… or 2541…), as Daraja takes it.
pub fn is_canonical(text: &str) -> bool {
    text.len() == 12
        && (text.starts_with("2547") || text.starts_with("2541"))
        && text.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

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
                normalise(good).is_ok_and(|number| number.len() == 12),
                "{good}"
            );
        }
        assert_eq!(
            normalise("0708374149").ok().as_deref(),
            Some("254708374149")
        );
        for bad in [
            "",
            "12345",
            "255708374149",
            "0208374149",
            "2547083741499",
            "07O8374149",
        ] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refusal_names_what_was_given_and_what_is_expected() {
        assert_eq!(
            normalise("12345"),
            Err(
                "recipient: \"12345\" is not a Kenyan mobile number such as 254708374149 or 0708374149"
                    .to_string()
            )
        );
    }
}
