//! Money as the host keeps it: an integer amount of minor units of a currency
//! code. The WIT contract's `money` is converted here, at the boundary, so the
//! stored record and the API follow these types and not the generated
//! bindings; both serialize as `{"amount_minor": 1000, "currency": "USD"}`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wit;

/// An ISO 4217 alphabetic code: three ASCII capital letters. Which codes a
/// corridor takes is the connector's to say (its descriptor); the host
/// guarantees only the shape, so a code is never empty, lower case or long.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Digits after the point in a currency (ISO 4217). Two unless listed.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A text that is not three ASCII capital letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO 4217 code such as \"USD\"")]
pub struct NotACurrency(pub String);

impl Currency {
    /// `text` as a code, if it has the shape of one.
    pub fn parse(text: &str) -> Result<Currency, NotACurrency> {
        match text.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(NotACurrency(text.to_string())),
        }
    }

    /// The code: "USD".
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("three ASCII capitals are UTF-8")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", self.as_str())
    }
}

impl PartialEq<str> for Currency {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Currency {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Currency, D::Error> {
        let text = String::deserialize(deserializer)?;
        Currency::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: integer minor units (cents, fen), never a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units of `currency`.
    pub amount_minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `amount_minor` of `currency`.
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money {
            amount_minor,
            currency,
        }
    }

    /// A connector's money, if its currency has the shape of a code.
    pub fn from_wit(money: &wit::Money) -> Result<Money, NotACurrency> {
        Ok(Money::new(
            money.amount_minor,
            Currency::parse(&money.currency)?,
        ))
    }

    /// As the contract carries it, for a request to a connector.
    pub fn to_wit(&self) -> wit::Money {
        wit::Money {
            amount_minor: self.amount_minor,
            currency: self.currency.as_str().to_string(),
        }
    }

    /// Whether a connector reports exactly this amount in this currency.
    pub fn is(&self, reported: &wit::Money) -> bool {
        self.amount_minor == reported.amount_minor && self.currency == *reported.currency
    }
}

impl fmt::Display for Money {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} minor units of {}",
            self.amount_minor, self.currency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_is_three_capital_letters_and_nothing_else() {
        assert_eq!(
            Currency::parse("USD").map(|code| code.to_string()),
            Ok("USD".into())
        );
        for bad in ["", "usd", "US", "USDT", "U$D", "ÜSD", "12A"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn money_serializes_as_the_contract_did_so_stored_records_read_back() {
        let money = Money::new(1000, Currency::parse("KES").expect("a code"));
        let json = serde_json::to_string(&money).expect("serializes");
        assert_eq!(json, r#"{"amount_minor":1000,"currency":"KES"}"#);
        let wit_json = serde_json::to_string(&money.to_wit()).expect("serializes");
        assert_eq!(json, wit_json, "the same bytes as the bindings' type wrote");
        assert_eq!(
            serde_json::from_str::<Money>(&json).ok(),
            Some(money.clone())
        );
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":1,"currency":"kes"}"#).is_err());
        assert!(money.is(&money.to_wit()));
    }
}
