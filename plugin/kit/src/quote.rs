//! Quotes every corridor prices the same way: rates from the configured
//! source (`fx_rates_url`, asked `?base=<send>`), a fixed fee added to what
//! the payer pays, and an expiry that never outlives the rates. Only the
//! currencies, the limits and the recipient's minor unit differ between
//! corridors, so they are a [`Corridor`] and the rest is written once.

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::bindings::corridor::connector::http::{Method, Request, Response};
use crate::bindings::corridor::connector::types::{
    AmountLimit, Decimal, Failure, FxQuote, QuoteRequest,
};
use crate::failure::{failed, misconfigured, retryable};
use crate::money::{convert_half_up, convert_whole_down, money, parse_decimal};
use crate::settings::Settings;

/// What a corridor sends, charges and pays, and within which limits.
#[derive(Debug, Clone, Copy)]
pub struct Corridor {
    /// The currency a transfer is denominated in (the rates' base).
    pub send: &'static str,
    /// The currency the payer is charged in.
    pub pay_in: &'static str,
    /// The currency the recipient receives.
    pub pay_out: &'static str,
    /// Minor digits of `pay_out` as the host counts them (2 for KES, 0 for
    /// UGX): the recipient always gets whole units, expressed in these.
    pub pay_out_digits: u32,
    /// The smallest send amount, minor units.
    pub min_minor: i64,
    /// The largest send amount, minor units.
    pub max_minor: i64,
}

impl Corridor {
    /// The send limits, as `describe` reports them.
    pub fn limits(&self) -> Vec<AmountLimit> {
        vec![AmountLimit {
            min: money(self.min_minor, self.send),
            max: money(self.max_minor, self.send),
        }]
    }
}

/// What the policy grants for quoting.
pub struct QuoteSettings {
    /// `…/v1/rates`, asked with `?base=<send currency>`.
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

/// The rate from the base to `currency`; the base to itself is exactly 1,
/// whether or not the source lists it.
fn rate(corridor: &Corridor, rates: &Rates, currency: &str) -> Result<Decimal, Failure> {
    if currency == corridor.send {
        return Ok(Decimal {
            digits: 1,
            scale: 0,
        });
    }
    rates
        .rates
        .get(currency)
        .and_then(|text| parse_decimal(text))
        .filter(|rate| rate.digits > 0)
        .ok_or_else(|| {
            retryable(
                "fx-missing-rate",
                format!("no {}/{currency} rate", corridor.send),
            )
        })
}

/// Prices `request`: the recipient gets the send amount at the pay-out rate,
/// in whole units, rounded down; the payer is charged send + fee at the
/// pay-in rate, half up (as Alipay charges; exact when both are one currency).
pub fn build(
    corridor: &Corridor,
    request: &QuoteRequest,
    rates: &Rates,
    settings: &QuoteSettings,
    source: &str,
    now_ms: u64,
) -> Result<FxQuote, Failure> {
    let send = &request.send;
    if send.currency != corridor.send {
        return Err(failed(
            "unsupported-currency",
            format!(
                "this corridor sends {}, not {}",
                corridor.send, send.currency
            ),
        ));
    }
    if request.receive_currency != corridor.pay_out {
        return Err(failed(
            "unsupported-currency",
            format!(
                "this corridor pays out {}, not {}",
                corridor.pay_out, request.receive_currency
            ),
        ));
    }
    if !(corridor.min_minor..=corridor.max_minor).contains(&send.amount_minor) {
        return Err(failed(
            "amount-out-of-range",
            format!(
                "the amount must be {} to {} minor units",
                corridor.min_minor, corridor.max_minor
            ),
        ));
    }
    if rates.valid_until_ms <= now_ms {
        return Err(retryable(
            "fx-stale",
            "the rates source published rates that are no longer valid",
        ));
    }
    let receive_rate = rate(corridor, rates, corridor.pay_out)?;
    let pay_in_rate = rate(corridor, rates, corridor.pay_in)?;
    let overflow = || failed("amount-out-of-range", "the amount overflows at this rate");
    // Whole units in two-digit minor units, then in the pay-out's own.
    let whole_cents = convert_whole_down(send.amount_minor, &receive_rate).ok_or_else(overflow)?;
    let receive = whole_cents / 10_i64.pow(2_u32.saturating_sub(corridor.pay_out_digits));
    if receive <= 0 {
        return Err(failed(
            "amount-out-of-range",
            format!("the amount is worth less than one {}", corridor.pay_out),
        ));
    }
    let charged_minor = send
        .amount_minor
        .checked_add(settings.fee_minor)
        .ok_or_else(overflow)?;
    let pay_in = convert_half_up(charged_minor, &pay_in_rate).ok_or_else(overflow)?;
    Ok(FxQuote {
        send: send.clone(),
        pay_in: money(pay_in, corridor.pay_in),
        receive: money(receive, corridor.pay_out),
        fee: money(settings.fee_minor, corridor.send),
        rate: receive_rate,
        pay_in_rate,
        expires_at_ms: (now_ms + settings.ttl_ms).min(rates.valid_until_ms),
        rate_source: format!("{source} v{}", rates.version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KES_UGX: Corridor = Corridor {
        send: "KES",
        pay_in: "KES",
        pay_out: "UGX",
        pay_out_digits: 0,
        min_minor: 10_000,
        max_minor: 15_000_000,
    };

    fn rates() -> Rates {
        Rates {
            rates: [("UGX".to_string(), "28.5130".to_string())].into(),
            version: 1,
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

    #[test]
    fn shillings_to_ugandan_shillings_pay_whole_units_and_charge_send_plus_fee_exactly() {
        let request = QuoteRequest {
            send: money(100_000, "KES"),
            receive_currency: "UGX".into(),
        };
        let quote = build(&KES_UGX, &request, &rates(), &settings(5_000), "fx", 0).expect("quote");
        // 1000.00 KES × 28.513 = 28513 UGX, UGX having no minor unit.
        assert_eq!(
            (quote.receive.amount_minor, quote.receive.currency.as_str()),
            (28_513, "UGX")
        );
        assert_eq!(quote.pay_in.amount_minor, 105_000, "the fee, at rate 1");
        assert_eq!((quote.pay_in_rate.digits, quote.pay_in_rate.scale), (1, 0));
        assert_eq!(quote.expires_at_ms, 60_000);
    }
}
