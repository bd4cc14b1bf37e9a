//! Quotes: USD → KES for the recipient and USD → CNY for the payer, from the
//! configured rates source, with a fee and an expiry. No fixed factor.

use serde::Deserialize;
use std::collections::BTreeMap;

use corridor_connector_kit::bindings::corridor::connector::http::{Method, Request, Response};
use corridor_connector_kit::bindings::corridor::connector::types::{
    AmountLimit, Failure, FxQuote, QuoteRequest,
};
use corridor_connector_kit::failure::{failed, misconfigured, retryable};
use corridor_connector_kit::money::{convert_half_up, convert_whole_down, money, parse_decimal};
use corridor_connector_kit::settings::Settings;

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

/// The send limits, as `describe` reports them.
pub fn limits() -> Vec<AmountLimit> {
    vec![AmountLimit {
        min: money(SEND_MIN_MINOR, SEND_CURRENCY),
        max: money(SEND_MAX_MINOR, SEND_CURRENCY),
    }]
}

/// What the policy grants for quoting.
pub struct QuoteSettings {
    /// `…/v1/rates`, asked with `?base=USD`.
    pub rates_url: String,
    /// How long a quote holds at most (the rates' own validity may be shorter).
    pub ttl_ms: u64,
    /// A fixed fee in the send currency, minor units, added to the pay-in.
    pub fee_minor: i64,
}

impl QuoteSettings {
    /// Reads `fx_rates_url`, `quote_ttl_s` (default 300) and `fee_minor` (default 0).
    pub fn from_settings(settings: &Settings<'_>) -> Result<QuoteSettings, Failure> {
        let ttl_s = settings.number("quote_ttl_s", 300)?;
        if !(1..=86_400).contains(&ttl_s) {
            return Err(misconfigured(format!(
                "quote_ttl_s = {ttl_s} must be 1 to 86400"
            )));
        }
        let fee_minor = i64::try_from(settings.number("fee_minor", 0)?)
            .map_err(|_| misconfigured("fee_minor is too large"))?;
        Ok(QuoteSettings {
            rates_url: settings.required("fx_rates_url")?,
            ttl_ms: ttl_s * 1000,
            fee_minor,
        })
    }
}

/// Rates from the source, for one quote.
#[derive(Debug, Clone)]
pub struct Rates {
    /// Every rate from the base, as exact decimal strings.
    pub rates: BTreeMap<String, String>,
    /// The source's version of the table.
    pub version: u64,
    /// Until when the source stands by them.
    pub valid_until_ms: u64,
}

#[derive(Deserialize)]
struct RatesResponse {
    rates: BTreeMap<String, String>,
    #[serde(default)]
    version: u64,
    valid_until_ms: u64,
}

/// `GET <rates_url>?base=<base>`.
pub fn rates_request(settings: &QuoteSettings, base: &str) -> Request {
    Request {
        method: Method::Get,
        url: format!("{}?base={base}", settings.rates_url),
        headers: vec![("accept".into(), "application/json".into())],
        body: vec![],
        timeout_ms: Some(5_000),
    }
}

/// Reads the rates.
pub fn parse_rates(response: &Response) -> Result<Rates, Failure> {
    if response.status != 200 {
        return Err(retryable(
            &format!("fx-{}", response.status),
            "the rates source did not answer",
        ));
    }
    let parsed: RatesResponse = serde_json::from_slice(&response.body).map_err(|error| {
        retryable(
            "fx-bad-response",
            format!("the rates are not understood: {error}"),
        )
    })?;
    Ok(Rates {
        rates: parsed.rates,
        version: parsed.version,
        valid_until_ms: parsed.valid_until_ms,
    })
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
    let send = &request.send;
    if send.currency != SEND_CURRENCY {
        return Err(failed(
            "unsupported-currency",
            format!("this corridor sends {SEND_CURRENCY}, not {}", send.currency),
        ));
    }
    if request.receive_currency != PAY_OUT_CURRENCY {
        return Err(failed(
            "unsupported-currency",
            format!(
                "this corridor pays out {PAY_OUT_CURRENCY}, not {}",
                request.receive_currency
            ),
        ));
    }
    if !(SEND_MIN_MINOR..=SEND_MAX_MINOR).contains(&send.amount_minor) {
        return Err(failed(
            "amount-out-of-range",
            format!("the amount must be {SEND_MIN_MINOR} to {SEND_MAX_MINOR} minor units"),
        ));
    }
    if rates.valid_until_ms <= now_ms {
        return Err(retryable(
            "fx-stale",
            "the rates source published rates that are no longer valid",
        ));
    }
    let rate = |currency: &str| {
        rates
            .rates
            .get(currency)
            .and_then(|text| parse_decimal(text))
            .filter(|rate| rate.digits > 0)
            .ok_or_else(|| {
                retryable(
                    "fx-missing-rate",
                    format!("no {SEND_CURRENCY}/{currency} rate"),
                )
            })
    };
    let (receive_rate, pay_in_rate) = (rate(PAY_OUT_CURRENCY)?, rate(PAY_IN_CURRENCY)?);
    let overflow = || failed("amount-out-of-range", "the amount overflows at this rate");
    let receive = convert_whole_down(send.amount_minor, &receive_rate).ok_or_else(overflow)?;
    if receive <= 0 {
        return Err(failed(
            "amount-out-of-range",
            "the amount is worth less than one shilling",
        ));
    }
    let charged_minor = send
        .amount_minor
        .checked_add(settings.fee_minor)
        .ok_or_else(overflow)?;
    let pay_in = convert_half_up(charged_minor, &pay_in_rate).ok_or_else(overflow)?;
    Ok(FxQuote {
        send: send.clone(),
        pay_in: money(pay_in, PAY_IN_CURRENCY),
        receive: money(receive, PAY_OUT_CURRENCY),
        fee: money(settings.fee_minor, SEND_CURRENCY),
        rate: receive_rate,
        pay_in_rate,
        expires_at_ms: (now_ms + settings.ttl_ms).min(rates.valid_until_ms),
        rate_source: format!("{source} v{}", rates.version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
