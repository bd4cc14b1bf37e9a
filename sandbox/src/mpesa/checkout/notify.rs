//! After `confirmTransaction`: the payer's USSD prompt, then the merchant
//! callback in the form the request asked for (seed 004 §Payment
//! Notification): `xml` a SOAP `ResultMsg` POSTed, `get` the fields in the
//! query string, `post` the fields form-encoded (the reference's reading of
//! seed 004's "plain" sample, mobile-money-apis.md §4.4).

use std::sync::Arc;

use super::soap::{ReplyBody, envelope};
use super::{Stage, Transaction};
use crate::World;
use crate::faults::lock;
use crate::mpesa::handset::{self, Answer};

/// Seed 004's return code and description for what the payer did. Seed 004
/// lists no code for a cancelled prompt or a wrong PIN: `06` ("could not be
/// confirmed") and `11` ("unable to complete") are this simulator's guesses.
fn failure_of(answer: &Answer) -> Option<(&'static str, &'static str)> {
    match answer {
        Answer::Paid { .. } => None,
        // The description of seed 004's status sample.
        Answer::InsufficientFunds => Some(("01", "InsufficientFunds")),
        Answer::TimedOut => Some(("05", "Transaction expired")),
        Answer::Cancelled => Some(("06", "Transaction cancelled by the customer")),
        Answer::WrongPin => Some(("11", "Customer authentication failed")),
    }
}

/// Prompts the payer, records what came of it, and calls back (under the
/// `mpesa` callback fault knobs).
pub(super) async fn prompt_then_call_back(world: Arc<World>, transaction: Transaction) {
    let merchant = world.mpesa.config.checkout_merchant_id.clone();
    let answer = handset::prompt(
        &world,
        &transaction.msisdn,
        transaction.amount_cents,
        &merchant,
    )
    .await;
    let stage = match (&answer, failure_of(&answer)) {
        (Answer::Paid { receipt, at_ms }, _) => Stage::Paid {
            receipt: receipt.clone(),
            date: crate::clock::local_time(*at_ms, 3, "yyyy-MM-dd HH:mm:ss"),
        },
        (_, Some((code, description))) => Stage::Failed { code, description },
        (_, None) => return,
    };
    let decided = {
        let mut state = lock(&world.mpesa.state);
        let Some(stored) = state
            .checkout
            .iter_mut()
            .find(|stored| stored.trx_id == transaction.trx_id)
        else {
            return;
        };
        stored.stage = stage;
        stored.clone()
    };
    let decision = world
        .faults
        .decide_callback("mpesa", std::time::Duration::ZERO);
    tokio::time::sleep(decision.delay).await;
    if !decision.send {
        return;
    }
    let sends = if decision.duplicate { 2 } else { 1 };
    for _ in 0..sends {
        call_back(&world, &decided).await;
    }
}

/// One callback in the transaction's form.
async fn call_back(world: &World, transaction: &Transaction) {
    let mut result = transaction.result();
    let url = &transaction.callback_url;
    match transaction.callback_method.as_str() {
        "get" => {
            let query = serde_urlencoded::to_string(result.fields()).unwrap_or_default();
            let separator = if url.contains('?') { '&' } else { '?' };
            world
                .send_callback(
                    "mpesa",
                    "GET",
                    &format!("{url}{separator}{query}"),
                    "text/plain",
                    String::new(),
                )
                .await;
        }
        "post" => {
            let form = serde_urlencoded::to_string(result.fields()).unwrap_or_default();
            world
                .post_callback("mpesa", url, "application/x-www-form-urlencoded", form)
                .await;
        }
        _ => {
            // The XML sample prints the amount with a decimal: `54.0`.
            result.amount = format!("{}.0", transaction.amount_cents / 100);
            let xml = envelope(ReplyBody::Result(result.typed()));
            world
                .post_callback("mpesa", url, "text/xml; charset=utf-8", xml)
                .await;
        }
    }
}
