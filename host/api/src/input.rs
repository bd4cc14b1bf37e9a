//! Client input: parsed strictly, refused with a clear reason, never rounded.

use crate::engine::money::Currency;
use std::collections::HashSet;

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::ApiError;

pub use crate::engine::money::minor_digits;

/// A currency code: three upper-case letters.
pub fn currency(field: &str, text: &str) -> Result<Currency, ApiError> {
    Currency::parse(text)
        .map_err(|error| ApiError::bad_request("invalid-currency", format!("{field}: {error}")))
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

/// The longest recipient the host takes.
const MAX_RECIPIENT_CHARS: usize = 64;

/// A recipient's account as the client wrote it: 1 to 64 printable
/// characters. What an account is (a phone number, an IBAN) is the
/// connector's to check and normalise, in `plan-transfer`.
pub fn recipient(text: &str) -> Result<String, ApiError> {
    account(text, "recipient", "invalid-recipient")
}

/// The payer's account on the pay-in rail, as the client wrote it: like a
/// recipient, 1 to 64 printable characters, judged by the connector.
pub fn payer(text: &str) -> Result<String, ApiError> {
    account(text, "payer", "invalid-payer")
}

fn account(text: &str, field: &str, code: &'static str) -> Result<String, ApiError> {
    let length = text.chars().count();
    if (1..=MAX_RECIPIENT_CHARS).contains(&length) && !text.chars().any(char::is_control) {
        Ok(text.to_string())
    } else {
        Err(ApiError::bad_request(
            code,
            format!("{field}: give 1 to {MAX_RECIPIENT_CHARS} printable characters"),
        ))
    }
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

/// The request's `Idempotency-Key`, if it has one. Two of them is a
/// refusal, not a choice: which one the client meant is unknowable.
pub fn idempotency_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all("idempotency-key").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return if headers.contains_key("idempotency-key") {
            Err(ApiError::bad_request(
                "invalid-idempotency-key",
                "give Idempotency-Key once, not several times",
            ))
        } else {
            Ok(None)
        };
    };
    idempotency_key(value.to_str().unwrap_or_default()).map(Some)
}

/// Refuses a body that is not declared JSON (`application/json`, optionally
/// with `charset=utf-8`): a form or text sent by mistake gets 415, not a
/// parse error about its content.
pub fn json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<mime::Mime>().ok());
    let is_json = declared.as_ref().is_some_and(|mime| {
        mime.essence_str() == mime::APPLICATION_JSON.essence_str()
            && mime.params().all(|(name, value)| {
                name == mime::CHARSET && value.as_str().eq_ignore_ascii_case("utf-8")
            })
    });
    if is_json {
        Ok(())
    } else {
        Err(ApiError {
            status: 415,
            code: "unsupported-media-type",
            message: "send the body as Content-Type: application/json".into(),
        })
    }
}

/// Walks a JSON document and fails on the first object that repeats a key.
/// serde_json keeps the last of duplicates silently, so `{"amount": "1",
/// "amount": "1000"}` would be read differently by other parsers on the way.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E: de::Error>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<UniqueKeys, A::Error> {
        while items.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = entries.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice")));
            }
            entries.next_value::<UniqueKeys>()?;
            seen.insert(key);
        }
        Ok(UniqueKeys)
    }
}

/// A client body as JSON: well-formed, one value, no repeated keys.
pub fn json_value(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let invalid = |error: serde_json::Error| {
        ApiError::bad_request("invalid-json", format!("the body is not JSON: {error}"))
    };
    serde_json::from_slice::<UniqueKeys>(body).map_err(invalid)?;
    serde_json::from_slice(body).map_err(invalid)
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
    fn a_recipient_is_any_short_printable_text_and_the_connector_judges_the_rest() {
        for good in [
            "254708374149",
            "+254 708 374 149",
            "DE89 3704 0044 0532 0130 00",
            "x",
        ] {
            assert_eq!(recipient(good).as_deref(), Ok(good), "{good}");
        }
        for bad in ["", "0708\n374149", "\u{7}", &"9".repeat(65)] {
            assert_eq!(
                recipient(bad).map_err(|error| error.code),
                Err("invalid-recipient"),
                "{bad:?}"
            );
        }
        assert!(recipient(&"é".repeat(64)).is_ok(), "characters, not bytes");
        for bad in ["", "0722\n000000", &"7".repeat(65)] {
            assert_eq!(
                payer(bad).map_err(|error| error.code),
                Err("invalid-payer"),
                "{bad:?}"
            );
        }
        assert_eq!(payer("0722000000").as_deref(), Ok("0722000000"));
        assert!(currency("currency", "usd").is_err());
        assert!(idempotency_key("").is_err());
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, axum::http::HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_json_in_utf_8_is_declared_json() {
        for good in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert_eq!(
                json_content_type(&headers(&[("content-type", good)])),
                Ok(()),
                "{good}"
            );
        }
        for bad in [
            "",
            "text/plain",
            "application/jsonp",
            "application/json; charset=latin1",
            "application/json; boundary=x",
            "multipart/form-data",
        ] {
            assert_eq!(
                json_content_type(&headers(&[("content-type", bad)])).map_err(|error| error.code),
                Err("unsupported-media-type"),
                "{bad:?}"
            );
        }
        assert!(json_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn an_idempotency_key_counts_only_when_given_once() {
        assert_eq!(idempotency_header(&HeaderMap::new()), Ok(None));
        assert_eq!(
            idempotency_header(&headers(&[("idempotency-key", "order-1")])),
            Ok(Some("order-1".to_string()))
        );
        for twice in [
            headers(&[
                ("idempotency-key", "order-1"),
                ("idempotency-key", "order-2"),
            ]),
            headers(&[
                ("idempotency-key", "order-1"),
                ("Idempotency-Key", "order-1"),
            ]),
        ] {
            assert_eq!(
                idempotency_header(&twice).map_err(|error| error.code),
                Err("invalid-idempotency-key")
            );
        }
    }

    #[test]
    fn a_key_repeated_at_any_depth_is_not_json_we_read() {
        assert!(json_value(br#"{"a": 1, "b": [{"a": 2}], "c": {"a": 3}}"#).is_ok());
        for bad in [
            r#"{"a": 1, "a": 1}"#,
            r#"{"a": {"b": 1, "b": 2}}"#,
            r#"[{"a": 1}, {"b": [{"c": 1, "c": 1}]}]"#,
            r#"{"a\u0062": 1, "ab": 2}"#,
            r#"{"a": 1} {"a": 1}"#,
            "",
        ] {
            assert_eq!(
                json_value(bad.as_bytes()).map_err(|error| error.code),
                Err("invalid-json"),
                "{bad}"
            );
        }
    }
}
