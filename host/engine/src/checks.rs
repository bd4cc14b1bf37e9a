//! The host never trusts a value a connector returns. Every amount, currency,
//! account and reference in a connector's answer is checked here against the
//! request or the stored transfer; a mismatch fails safe.

use crate::wit::{
    Decimal, Descriptor, FxQuote, Money, PayInReceipt, PayOutReceipt, QuoteRequest, RefundReceipt,
    TransferPlan,
};

use super::model::Transfer;

/// The longest a quote may hold.
const MAX_QUOTE_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;

/// Exact decimal text: `{digits: 65943, scale: 4}` → "6.5943".
pub fn decimal_text(rate: &Decimal) -> String {
    let digits = format!(
        "{:0width$}",
        rate.digits,
        width = usize::from(rate.scale) + 1
    );
    let (whole, fraction) = digits.split_at(digits.len() - usize::from(rate.scale));
    if fraction.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// `amount × rate`, exactly, in minor units ×10^scale.
fn scaled(amount_minor: i64, rate: &Decimal) -> Option<(i128, i128)> {
    (rate.scale <= 18).then(|| {
        (
            i128::from(amount_minor) * i128::from(rate.digits),
            10i128.pow(u32::from(rate.scale)),
        )
    })
}

/// Whether `converted` is `amount × rate` to within `tolerance_minor`, never above
/// the exact value by more than half a minor unit (rounding half up). A rate
/// is in whole units of each currency, so the minor units of `amount` and
/// `converted` are each scaled by their own currency's digits (KES has two,
/// UGX none).
fn near(converted: &Money, amount: &Money, rate: &Decimal, tolerance_minor: i128) -> bool {
    let Some((numerator, denominator)) = scaled(amount.amount_minor, rate) else {
        return false;
    };
    let (to, from) = (
        super::money::minor_digits(&converted.currency),
        super::money::minor_digits(&amount.currency),
    );
    let numerator = numerator * 10i128.pow(to);
    let denominator = denominator * 10i128.pow(from);
    let converted = converted.amount_minor;
    let converted = i128::from(converted) * denominator;
    converted * 2 <= numerator * 2 + denominator
        && numerator - converted <= tolerance_minor * denominator
}

/// Checks a quote against its request and the connector's descriptor.
pub fn quote(
    request: &QuoteRequest,
    quote: &FxQuote,
    descriptor: &Descriptor,
    now_ms: u64,
) -> Result<(), String> {
    if quote.send != request.send {
        return Err(format!(
            "quoted {:?} for a request of {:?}",
            quote.send, request.send
        ));
    }
    if quote.receive.currency != request.receive_currency {
        return Err(format!(
            "quoted a receive currency of {}",
            quote.receive.currency
        ));
    }
    if !descriptor
        .pay_in_currencies
        .contains(&quote.pay_in.currency)
    {
        return Err(format!(
            "quoted a pay-in currency of {}",
            quote.pay_in.currency
        ));
    }
    if quote.fee.currency != quote.send.currency || quote.fee.amount_minor < 0 {
        return Err(format!("quoted a fee of {:?}", quote.fee));
    }
    if quote.receive.amount_minor <= 0 || quote.pay_in.amount_minor <= 0 {
        return Err("quoted a non-positive amount".into());
    }
    if quote.expires_at_ms <= now_ms || quote.expires_at_ms > now_ms + MAX_QUOTE_LIFETIME_MS {
        return Err(format!(
            "quoted an expiry of {} at {now_ms}",
            quote.expires_at_ms
        ));
    }
    // Receive: whole units at most the rate gives (one unit of rounding down).
    let whole_unit = 10i128.pow(super::money::minor_digits(&quote.receive.currency));
    if !near(&quote.receive, &quote.send, &quote.rate, whole_unit) {
        return Err(format!(
            "receive {} is not {} at {}",
            quote.receive.amount_minor,
            quote.send.amount_minor,
            decimal_text(&quote.rate)
        ));
    }
    let charged = quote
        .send
        .amount_minor
        .checked_add(quote.fee.amount_minor)
        .ok_or("the fee overflows")?;
    let charged_money = Money {
        amount_minor: charged,
        currency: quote.send.currency.clone(),
    };
    if !near(&quote.pay_in, &charged_money, &quote.pay_in_rate, 1) {
        return Err(format!(
            "pay-in {} is not {charged} at {}",
            quote.pay_in.amount_minor,
            decimal_text(&quote.pay_in_rate)
        ));
    }
    Ok(())
}

/// The longest reference or recipient a plan may name.
const MAX_PLANNED_CHARS: usize = 64;

/// A reference the host will send and providers will echo: 1 to 64
/// characters of `A-Z a-z 0-9 - _ .`, safe in any URL, header or log line.
fn reference(what: &str, text: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if (1..=MAX_PLANNED_CHARS).contains(&text.len()) && text.chars().all(allowed) {
        Ok(())
    } else {
        Err(format!(
            "the {what} reference {:?} is not 1 to {MAX_PLANNED_CHARS} characters of A-Z a-z 0-9 - _ .",
            text.chars().take(MAX_PLANNED_CHARS + 1).collect::<String>()
        ))
    }
}

/// A connector's plan for a transfer: three well-formed, different
/// references and a recipient the host can store and show. Whether another
/// transfer uses a reference is the store's to say.
pub fn plan(plan: &TransferPlan) -> Result<(), String> {
    reference("pay-in", &plan.pay_in_reference)?;
    reference("pay-out", &plan.pay_out_reference)?;
    reference("refund", &plan.refund_reference)?;
    let references = [
        &plan.pay_in_reference,
        &plan.pay_out_reference,
        &plan.refund_reference,
    ];
    if references[0] == references[1]
        || references[0] == references[2]
        || references[1] == references[2]
    {
        return Err(format!(
            "the plan's references are not all different: {references:?}"
        ));
    }
    let recipient_chars = plan.recipient.chars().count();
    if recipient_chars == 0 || recipient_chars > MAX_PLANNED_CHARS {
        return Err(format!(
            "the planned recipient has {recipient_chars} characters, not 1 to {MAX_PLANNED_CHARS}"
        ));
    }
    if let Some(payer) = &plan.payer {
        let payer_chars = payer.chars().count();
        if payer_chars == 0 || payer_chars > MAX_PLANNED_CHARS {
            return Err(format!(
                "the planned payer has {payer_chars} characters, not 1 to {MAX_PLANNED_CHARS}"
            ));
        }
    }
    Ok(())
}

fn same_money(what: &str, reported: &Money, stored: &crate::money::Money) -> Result<(), String> {
    if stored.is(reported) {
        Ok(())
    } else {
        Err(format!(
            "{what}: the provider reports {} {} where the transfer has {} {}",
            reported.amount_minor, reported.currency, stored.amount_minor, stored.currency
        ))
    }
}

fn same_text(what: &str, reported: &str, stored: &str) -> Result<(), String> {
    if reported == stored {
        Ok(())
    } else {
        Err(format!(
            "{what}: {reported:?} where the transfer has {stored:?}"
        ))
    }
}

/// A pay-in receipt: its reference, and the amount the payer paid (send + fee).
pub fn pay_in_receipt(transfer: &Transfer, receipt: &PayInReceipt) -> Result<(), String> {
    same_text(
        "pay-in reference",
        &receipt.reference,
        &transfer.pay_in.reference,
    )?;
    same_money("pay-in amount", &receipt.amount, &transfer.pay_in.amount)
}

/// A pay-out receipt: reference, recipient and amount.
pub fn pay_out_receipt(transfer: &Transfer, receipt: &PayOutReceipt) -> Result<(), String> {
    same_text(
        "pay-out reference",
        &receipt.reference,
        &transfer.pay_out.reference,
    )?;
    same_text("recipient", &receipt.recipient, &transfer.recipient)?;
    same_money("pay-out amount", &receipt.amount, &transfer.quote.receive)?;
    if let Some(fee) = &receipt.fee
        && (fee.amount_minor < 0 || transfer.quote.receive.currency != *fee.currency)
    {
        return Err(format!("pay-out fee {fee:?}"));
    }
    Ok(())
}

/// A pay-out reference on a failure, when it carries one.
pub fn pay_out_reference(transfer: &Transfer, reference: Option<&str>) -> Result<(), String> {
    match reference {
        Some(reference) => same_text("pay-out reference", reference, &transfer.pay_out.reference),
        None => Ok(()),
    }
}

/// A refund receipt: the refund's reference and the whole pay-in.
pub fn refund_receipt(transfer: &Transfer, receipt: &RefundReceipt) -> Result<(), String> {
    let refund = transfer.refund().ok_or("no refund is due")?;
    same_text("refund reference", &receipt.reference, &refund.reference)?;
    same_money("refund amount", &receipt.amount, &transfer.pay_in.amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount_minor: i64, currency: &str) -> Money {
        Money {
            amount_minor,
            currency: currency.into(),
        }
    }

    fn decimal(digits: u64, scale: u8) -> Decimal {
        Decimal { digits, scale }
    }

    fn descriptor() -> Descriptor {
        Descriptor {
            inbound_routes: vec![],
            id: "c".into(),
            version: "1".into(),
            rails: vec![],
            send_currencies: vec!["USD".into()],
            pay_in_currencies: vec!["CNY".into()],
            pay_out_currencies: vec!["KES".into()],
            limits: vec![],
            settings: vec![],
        }
    }

    fn fair_quote() -> (QuoteRequest, FxQuote) {
        let request = QuoteRequest {
            send: money(1000, "USD"),
            receive_currency: "KES".into(),
        };
        let quote = FxQuote {
            send: money(1000, "USD"),
            pay_in: money(6594, "CNY"),
            receive: money(100_000, "KES"),
            fee: money(0, "USD"),
            rate: decimal(10000, 2),
            pay_in_rate: decimal(65943, 4),
            expires_at_ms: 2_000,
            rate_source: "fx".into(),
        };
        (request, quote)
    }

    fn fair_plan() -> TransferPlan {
        TransferPlan {
            payer: None,
            recipient: "254708374149".into(),
            pay_in_reference: "IN0A1B".into(),
            pay_out_reference: "OUT0A1B".into(),
            refund_reference: "IN0A1B.refund".into(),
            pay_in_details: vec![],
            pay_out_details: vec![],
        }
    }

    #[test]
    fn a_plan_with_three_well_formed_different_references_passes() {
        assert_eq!(plan(&fair_plan()), Ok(()));
        let mut widest = fair_plan();
        widest.pay_in_reference = "a".repeat(64);
        widest.pay_out_reference = "Az09-_.".into();
        assert_eq!(plan(&widest), Ok(()));
    }

    #[test]
    fn a_reference_that_is_empty_too_long_or_has_other_characters_fails() {
        for bad in ["", &"a".repeat(65), "IN 1", "IN/1", "IN:1", "INé", "IN\n1"] {
            let mut bad_plan = fair_plan();
            bad_plan.refund_reference = bad.to_string();
            assert!(plan(&bad_plan).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_plan_that_uses_one_reference_twice_fails() {
        let mut twice = fair_plan();
        twice.refund_reference = twice.pay_in_reference.clone();
        assert!(plan(&twice).is_err());
        let mut again = fair_plan();
        again.pay_out_reference = again.refund_reference.clone();
        assert!(plan(&again).is_err());
    }

    #[test]
    fn a_plan_with_no_recipient_or_a_long_one_fails() {
        let mut empty = fair_plan();
        empty.recipient = String::new();
        assert!(plan(&empty).is_err());
        let mut long = fair_plan();
        long.recipient = "9".repeat(65);
        assert!(plan(&long).is_err());
        long.recipient = "é".repeat(64);
        assert_eq!(plan(&long), Ok(()), "characters, not bytes");
    }

    #[test]
    fn a_fair_quote_passes_and_a_generous_or_stingy_one_does_not() {
        let (request, fair) = fair_quote();
        assert_eq!(quote(&request, &fair, &descriptor(), 1_000), Ok(()));
        let mut generous = fair.clone();
        generous.receive.amount_minor = 100_100;
        assert!(
            quote(&request, &generous, &descriptor(), 1_000).is_err(),
            "more than the rate gives"
        );
        let mut stingy = fair.clone();
        stingy.receive.amount_minor = 99_800;
        assert!(
            quote(&request, &stingy, &descriptor(), 1_000).is_err(),
            "more than a unit below the rate"
        );
        let mut overcharging = fair.clone();
        overcharging.pay_in.amount_minor = 6600;
        assert!(quote(&request, &overcharging, &descriptor(), 1_000).is_err());
        assert!(
            quote(&request, &fair, &descriptor(), 2_000).is_err(),
            "expired"
        );
        assert_eq!(decimal_text(&decimal(65943, 4)), "6.5943");
        assert_eq!(decimal_text(&decimal(5, 2)), "0.05");
    }

    #[test]
    fn a_quote_between_currencies_of_different_minor_units_is_checked_in_whole_units() {
        let request = QuoteRequest {
            send: money(100_000, "KES"),
            receive_currency: "UGX".into(),
        };
        let mut kes_ugx = descriptor();
        kes_ugx.send_currencies = vec!["KES".into()];
        kes_ugx.pay_in_currencies = vec!["KES".into()];
        kes_ugx.pay_out_currencies = vec!["UGX".into()];
        let fair = FxQuote {
            send: money(100_000, "KES"),
            pay_in: money(100_000, "KES"),
            receive: money(28_600, "UGX"),
            fee: money(0, "KES"),
            rate: decimal(2860, 2),
            pay_in_rate: decimal(1, 0),
            expires_at_ms: 2_000,
            rate_source: "fx".into(),
        };
        assert_eq!(
            quote(&request, &fair, &kes_ugx, 1_000),
            Ok(()),
            "KES 1000.00 at 28.60 is UGX 28600"
        );
        let mut generous = fair.clone();
        generous.receive.amount_minor = 28_601;
        assert!(
            quote(&request, &generous, &kes_ugx, 1_000).is_err(),
            "a shilling more than the rate gives"
        );
        let mut in_cents = fair;
        in_cents.receive.amount_minor = 2_860_000;
        assert!(
            quote(&request, &in_cents, &kes_ugx, 1_000).is_err(),
            "UGX has no minor unit"
        );
    }
}
