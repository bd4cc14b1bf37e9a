//! Amounts on the providers' wires are decimal strings ("10.00") or whole
//! numbers; inside the simulators they are integer minor units.

/// Parses a non-negative decimal with at most two fraction digits into minor
/// units: "10" → 1000, "10.5" → 1050, "0.01" → 1. Anything else is `None`.
pub fn parse_minor(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits_only = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || fraction.len() > 2
        || !digits_only(whole)
        || !digits_only(fraction)
    {
        return None;
    }
    if text.contains('.') && fraction.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(fraction)
}

/// Formats minor units as a two-decimal string: 1050 → "10.50", -198000 → "-1980.00".
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let absolute = minor.unsigned_abs();
    format!("{sign}{}.{:02}", absolute / 100, absolute % 100)
}

/// An exact decimal rate, `digits / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    /// Significant digits.
    pub digits: u64,
    /// Digits after the point.
    pub scale: u8,
}

impl Rate {
    /// Parses "6.5943".
    pub fn parse(text: &str) -> Option<Rate> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || fraction.len() > 12
            || !(whole
                .chars()
                .chain(fraction.chars())
                .all(|c| c.is_ascii_digit()))
        {
            return None;
        }
        let digits = format!("{whole}{fraction}").parse().ok()?;
        Some(Rate {
            digits,
            scale: u8::try_from(fraction.len()).ok()?,
        })
    }

    /// Converts an amount in minor units at this rate, rounding half up:
    /// 1000 USD cents at 6.5943 → 6594 fen (65.943 → 65.94).
    pub fn convert(&self, minor: i64) -> i64 {
        let scale = 10i128.pow(u32::from(self.scale));
        let product = i128::from(minor) * i128::from(self.digits);
        let rounded = (product + scale / 2) / scale;
        i64::try_from(rounded).unwrap_or(i64::MAX)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!(
            "{:0width$}",
            self.digits,
            width = usize::from(self.scale) + 1
        );
        let (whole, fraction) = text.split_at(text.len() - usize::from(self.scale));
        if fraction.is_empty() {
            write!(formatter, "{whole}")
        } else {
            write!(formatter, "{whole}.{fraction}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_become_minor_units_exactly() {
        assert_eq!(parse_minor("10"), Some(1000));
        assert_eq!(parse_minor("10.5"), Some(1050));
        assert_eq!(parse_minor("0.01"), Some(1));
        for bad in ["", "-1", "1.234", "1.", ".5", "1e3", "ten", "1,00"] {
            assert_eq!(parse_minor(bad), None, "{bad}");
        }
        assert_eq!(format_minor(-198_000), "-1980.00");
        assert_eq!(format_minor(1050), "10.50");
    }

    #[test]
    fn rates_convert_with_half_up_rounding() {
        let rate = Rate::parse("6.5943").expect("rate");
        assert_eq!(rate.convert(1000), 6594);
        assert_eq!(rate.to_string(), "6.5943");
        assert_eq!(Rate::parse("100").expect("rate").convert(1000), 100_000);
        assert_eq!(
            Rate {
                digits: 5,
                scale: 2
            }
            .to_string(),
            "0.05"
        );
    }
}
