//! The payer's handset: how a customer answers a payment prompt (the STK
//! push's M-PESA PIN prompt, the checkout's USSD Bonga PIN prompt).
//!
//! A test picks the payer's behaviour by picking the payer, as MTN's sandbox
//! numbers do: each `[[mpesa.customers]]` says how it answers (`answers`),
//! and its balance decides whether a payment goes through. The defaults
//! include one payer per behaviour (see [`crate::config::MpesaConfig`]).

use serde::{Deserialize, Serialize};

use super::receipt;
use crate::World;
use crate::faults::lock;

/// How a customer answers a payment prompt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PromptAnswer {
    /// Enters the PIN at once; paid if the balance allows.
    #[default]
    Pays,
    /// Enters the PIN after `late_answer_ms`: the request is pending until then.
    PaysLate,
    /// Presses cancel.
    Cancels,
    /// Never answers: the prompt times out.
    TimesOut,
    /// Enters a wrong PIN.
    WrongPin,
}

/// What came of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// Paid: the customer's balance went down and the utility account's up.
    Paid {
        /// The M-PESA receipt number.
        receipt: String,
        /// When, ms since the epoch.
        at_ms: u64,
    },
    /// The PIN was right but the balance too small; nothing moved.
    InsufficientFunds,
    /// Cancelled on the handset.
    Cancelled,
    /// No answer in time.
    TimedOut,
    /// A wrong PIN.
    WrongPin,
}

/// Prompts `msisdn` to pay `amount_cents` to `collector` (the STK
/// shortcode, the checkout's merchant) and waits for the answer, moving the
/// money if it is paid. Unknown numbers pay, from a zero balance. A paid
/// prompt is a customer payment like a Paybill's: Transaction Status knows
/// its receipt and Transaction Reversal gives it back.
pub(super) async fn prompt(
    world: &World,
    msisdn: &str,
    amount_cents: i64,
    collector: &str,
) -> Answer {
    let config = &world.mpesa.config;
    let answers = config
        .customers
        .iter()
        .find(|customer| customer.msisdn == msisdn)
        .map(|customer| customer.answers)
        .unwrap_or_default();
    let mut wait = world.config.delay(config.result_delay_ms, 2500);
    if answers == PromptAnswer::PaysLate {
        wait += world.config.delay(config.late_answer_ms, 20_000);
    }
    tokio::time::sleep(wait).await;
    match answers {
        PromptAnswer::Cancels => Answer::Cancelled,
        PromptAnswer::TimesOut => Answer::TimedOut,
        PromptAnswer::WrongPin => Answer::WrongPin,
        PromptAnswer::Pays | PromptAnswer::PaysLate => pay(world, msisdn, amount_cents, collector),
    }
}

fn pay(world: &World, msisdn: &str, amount_cents: i64, collector: &str) -> Answer {
    let mut guard = lock(&world.mpesa.state);
    let state = &mut *guard;
    let balance = state
        .balances
        .customers
        .entry(msisdn.to_string())
        .or_insert(0);
    if *balance < amount_cents {
        return Answer::InsufficientFunds;
    }
    *balance -= amount_cents;
    // The collecting organisation's own utility account (seed 002: each
    // shortcode has its accounts), not the B2C organisation's.
    state
        .balances
        .paybills
        .entry(collector.to_string())
        .or_insert_with(|| super::c2b::PaybillBalances {
            name: "Lipa na M-PESA".into(),
            ..Default::default()
        })
        .utility_cents += amount_cents;
    let (receipt, at_ms) = (receipt(&mut state.random), crate::now_ms());
    state.c2b.payments.push(super::c2b::C2bPayment {
        trans_id: receipt.clone(),
        msisdn: msisdn.to_string(),
        amount_cents,
        shortcode: collector.to_string(),
        bill_ref: String::new(),
        time_ms: at_ms,
        status: super::c2b::C2bStatus::Completed,
    });
    Answer::Paid { receipt, at_ms }
}
