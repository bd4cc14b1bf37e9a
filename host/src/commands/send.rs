//! `corridor send`: quote, then transfer, under one idempotency key, so that
//! running it again after a lost answer (a timeout, a closed terminal) gives
//! the same transfer instead of paying twice.
//!
//! The key `K` covers both requests: the quote goes with `K/quote`, the
//! transfer with `K`. A second run with `K` gets the first run's quote (even
//! lapsed) and then the first run's transfer.

use crate::api::view::TransferView;
use crate::client::Client;
use crate::engine::money::Money;

/// What the quote's key adds to the transfer's.
pub const QUOTE_KEY_SUFFIX: &str = "/quote";

/// Options of `corridor send`.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The recipient's account, as the corridor's connector takes it (for
    /// Alipay → M-PESA a Kenyan number: 2547XXXXXXXX, 07XXXXXXXX, +254…).
    #[arg(long)]
    pub to: String,
    /// The amount, e.g. 10.00.
    #[arg(long)]
    pub amount: String,
    /// The currency of the amount.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// The currency the recipient receives. Left out: the corridor's only
    /// pay-out currency.
    #[arg(long)]
    pub receive_currency: Option<String>,
    /// The host's API.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "CORRIDOR_HOST")]
    pub host: String,
    /// The Idempotency-Key: sending again with the same key returns the same
    /// transfer. Without it a fresh one is made and printed.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Print the full transfer record as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// A fresh key: 96 random bits, so two people's sends never collide.
pub fn fresh_key() -> String {
    format!("send-{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// The input as the host will take it: the currency and the normalised
/// recipient. Refused here, before anyone is called, as the API would.
pub fn check(args: &SendArgs) -> anyhow::Result<(String, String)> {
    let refused = |error: crate::api::error::ApiError| anyhow::anyhow!(error.message);
    let currency = crate::api::input::currency("--currency", &args.currency).map_err(refused)?;
    crate::api::input::amount("--amount", &args.amount, currency.as_str()).map_err(refused)?;
    let recipient = crate::api::input::recipient(&args.to).map_err(refused)?;
    if let Some(receive_currency) = &args.receive_currency {
        crate::api::input::currency("--receive-currency", receive_currency).map_err(refused)?;
    }
    if let Some(key) = &args.idempotency_key {
        crate::api::input::idempotency_key(&format!("{key}{QUOTE_KEY_SUFFIX}")).map_err(|_| {
            anyhow::anyhow!("--idempotency-key must be 1 to 249 visible ASCII characters")
        })?;
    }
    Ok((currency.to_string(), recipient))
}

/// Quotes and creates the transfer under `key` (the quote under
/// `key/quote`). Nothing is sent to the host when the input is refused.
pub async fn send(args: &SendArgs, key: &str) -> anyhow::Result<TransferView> {
    let (currency, recipient) = check(args)?;
    let client = Client::new(&args.host);
    let quote_key = format!("{key}{QUOTE_KEY_SUFFIX}");
    let quote = client
        .quote_with_key(
            &args.amount,
            &currency,
            args.receive_currency.as_deref(),
            Some(&quote_key),
        )
        .await?;
    Ok(client.transfer(&quote.id, &recipient, key).await?)
}

/// `12.30 USD`: an amount in its currency's minor digits, never rounded.
pub fn money_text(money: &Money) -> String {
    let digits = crate::api::input::minor_digits(money.currency.as_str()) as usize;
    let sign = if money.amount_minor < 0 { "-" } else { "" };
    let units = money.amount_minor.unsigned_abs().to_string();
    let padded = format!("{units:0>width$}", width = digits + 1);
    let (whole, fraction) = padded.split_at(padded.len() - digits);
    if digits == 0 {
        format!("{sign}{whole} {}", money.currency)
    } else {
        format!("{sign}{whole}.{fraction} {}", money.currency)
    }
}

/// `HH:MM:SS UTC` of a Unix time in milliseconds.
pub fn utc_time_of_day(at_ms: u64) -> String {
    let seconds = (at_ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    )
}

/// What a person needs from a new transfer: who pays what, who gets what,
/// where to pay and by when. The recipient is masked: a terminal's
/// scroll-back is a log too.
pub fn summary(transfer: &TransferView, now_ms: u64) -> String {
    let pay_in = &transfer.pay_in;
    let mut lines = vec![
        format!("transfer {} ({})", transfer.id, transfer.state.name()),
        format!(
            "the payer pays {} (about {})",
            money_text(&pay_in.amount),
            money_text(&pay_in.charged_estimate)
        ),
        format!(
            "{} receives {}",
            crate::redact::account(&transfer.pay_out.recipient),
            money_text(&transfer.pay_out.amount)
        ),
    ];
    if let Some(url) = &pay_in.payment_url {
        lines.push(format!("payment URL: {url}"));
    }
    let lapses_at = utc_time_of_day(pay_in.expires_at_ms);
    if pay_in.expires_at_ms > now_ms {
        let seconds = (pay_in.expires_at_ms - now_ms) / 1000;
        lines.push(format!(
            "pay within {seconds} s (the quote lapses at {lapses_at})"
        ));
    } else {
        lines.push(format!("the quote lapsed at {lapses_at}"));
    }
    lines.join("\n")
}

/// What `send` prints: the full record as JSON with `--json`, else the
/// [`summary`].
pub fn render(transfer: &TransferView, json: bool, now_ms: u64) -> serde_json::Result<String> {
    if json {
        serde_json::to_string_pretty(transfer)
    } else {
        Ok(summary(transfer, now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount_minor: i64, currency: &str) -> Money {
        Money::new(
            amount_minor,
            crate::engine::money::Currency::parse(currency).expect("a code"),
        )
    }

    #[test]
    fn money_prints_in_its_currencys_minor_digits() {
        assert_eq!(money_text(&money(1030, "USD")), "10.30 USD");
        assert_eq!(money_text(&money(5, "USD")), "0.05 USD");
        assert_eq!(money_text(&money(500, "JPY")), "500 JPY");
        assert_eq!(money_text(&money(-1234, "KWD")), "-1.234 KWD");
    }

    #[test]
    fn times_of_day_are_utc() {
        assert_eq!(utc_time_of_day(0), "00:00:00 UTC");
        assert_eq!(utc_time_of_day(86_400_000 + 45_296_999), "12:34:56 UTC");
    }

    #[test]
    fn fresh_keys_differ_and_leave_room_for_the_quote_suffix() {
        let (first, second) = (fresh_key(), fresh_key());
        assert_ne!(first, second);
        assert!(crate::api::input::idempotency_key(&format!("{first}{QUOTE_KEY_SUFFIX}")).is_ok());
    }
}
