//! The Alipay → M-PESA corridor's checks: Alipay trade numbers and M-PESA
//! ConversationIDs pair with transfers, one B2C each, and the buyer's CNY and
//! the B2C utility account's KES moved by exactly the transfers' amounts.

use std::collections::{BTreeMap, HashMap};

use corridor_sandbox::Sandbox;

use super::super::BUYER;
use super::{Balances, Check, Expected, all_completed, completed, decimal as kes, sent_in_all};
use crate::api::view::TransferView;

/// The buyer's CNY and the B2C utility account's KES.
pub(super) fn balances(sandbox: &Sandbox) -> Balances {
    Balances {
        pay_out_source_minor: sandbox.mpesa_balances().utility_cents,
        payer_minor: sandbox
            .alipay_buyer_balances()
            .get(BUYER)
            .copied()
            .unwrap_or_default(),
    }
}

/// Waits (at most a second) until the sandbox's journal holds a pay-out
/// result for each of `completed` transfers. The sandbox journals a callback
/// once the host has answered it, and the host answers after it has applied
/// it, so the last result can be journaled just after its transfer completed.
pub(in super::super) async fn await_results(sandbox: &Sandbox, completed: usize) {
    for _ in 0..50 {
        if b2c_result_conversations(sandbox).len() >= completed {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The section 5.3 checks, in the order they print.
pub(in super::super) fn checks(
    sandbox: &Sandbox,
    transfers: &[TransferView],
    expected: &Expected,
) -> Vec<Check> {
    let completed = completed(transfers);
    let after = balances(sandbox);
    vec![
        all_completed(transfers, expected),
        alipay_trades_pair_with_pay_ins(sandbox, transfers, completed),
        mpesa_conversations_pair_with_pay_outs(sandbox, transfers, completed),
        one_b2c_request_each(sandbox, completed),
        utility_moved_by_the_pay_outs(transfers, expected, &after, completed),
        buyer_moved_by_the_pay_ins(transfers, expected, &after),
        sent_in_all(transfers, expected, "US$"),
    ]
}

/// Alipay: every trade_no the notifications carried is one transfer's Pay In.
fn alipay_trades_pair_with_pay_ins(
    sandbox: &Sandbox,
    transfers: &[TransferView],
    completed: usize,
) -> Check {
    let by_trade: HashMap<&str, &TransferView> = transfers
        .iter()
        .filter_map(|transfer| {
            Some((
                transfer.pay_in.provider_transaction_id.as_deref()?,
                transfer,
            ))
        })
        .collect();
    let trades = sandbox.alipay_trades();
    let paid: Vec<_> = trades
        .iter()
        .filter(|trade| trade.trade_no.is_some())
        .collect();
    let paired_trades = paid
        .iter()
        .filter(|trade| {
            trade
                .trade_no
                .as_deref()
                .and_then(|number| by_trade.get(number))
                .is_some_and(|transfer| transfer.pay_in.reference == trade.out_trade_no)
        })
        .count();
    Check {
        ok: paired_trades == paid.len() && paired_trades == completed,
        line: format!(
            "{paired_trades} of {} Alipay trade numbers paired with a transfer's Pay In (out_trade_no and trade_no)",
            paid.len()
        ),
    }
}

/// M-PESA: every ConversationID in a B2C result is one transfer's Pay Out.
fn mpesa_conversations_pair_with_pay_outs(
    sandbox: &Sandbox,
    transfers: &[TransferView],
    completed: usize,
) -> Check {
    let by_conversation: HashMap<&str, &TransferView> = transfers
        .iter()
        .filter_map(|transfer| Some((transfer.pay_out.provider_reference.as_deref()?, transfer)))
        .collect();
    let conversations = b2c_result_conversations(sandbox);
    let paired_conversations = conversations
        .iter()
        .filter(|(conversation, originator)| {
            by_conversation
                .get(conversation.as_str())
                .is_some_and(|transfer| {
                    // Daraja v1 names the request itself: the pay-out's
                    // details keep the id it chose.
                    transfer.pay_out.reference == **originator
                        || transfer.pay_out.details.get("originator_conversation_id")
                            == Some(*originator)
                })
        })
        .count();
    Check {
        ok: paired_conversations == conversations.len() && paired_conversations == completed,
        line: format!(
            "{paired_conversations} of {} M-PESA ConversationIDs paired with a transfer's Pay Out",
            conversations.len()
        ),
    }
}

/// ConversationID → OriginatorConversationID of every B2C result the
/// sandbox sent.
fn b2c_result_conversations(sandbox: &Sandbox) -> BTreeMap<String, String> {
    let mut conversations = BTreeMap::new();
    for entry in sandbox.journal(Some("mpesa")) {
        // The B2C results: Daraja's callbacks to the pay-out's own route
        // (a status answer goes to `pay-out-status`, a queue timeout to
        // `pay-out-timeout`).
        let b2c_result_route = format!("/{}/", crate::engine::routes::PAY_OUT);
        if entry.direction == corridor_sandbox::journal::Direction::Sent
            && entry.target.contains(&b2c_result_route)
        {
            // The broker's ResultMsg (SOAP), or Daraja's Result (JSON).
            if let Some((conversation, originator)) =
                corridor_sandbox::mpesa::broker::result_ids(&entry.body)
            {
                conversations.insert(conversation, originator);
                continue;
            }
            let body: serde_json::Value = serde_json::from_str(&entry.body).unwrap_or_default();
            if let Some(id) = body["Result"]["ConversationID"].as_str() {
                conversations.insert(
                    id.to_string(),
                    body["Result"]["OriginatorConversationID"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
    conversations
}

fn one_b2c_request_each(sandbox: &Sandbox, completed: usize) -> Check {
    let b2c_requests = sandbox
        .journal(Some("mpesa"))
        .iter()
        .filter(|entry| {
            entry.target.contains("/paymentrequest")
                || entry.target.contains("/mminterface/request")
        })
        .count();
    Check {
        ok: b2c_requests == completed,
        line: format!(
            "{b2c_requests} B2C requests for {completed} transfers: one each, none resent"
        ),
    }
}

fn utility_moved_by_the_pay_outs(
    transfers: &[TransferView],
    expected: &Expected,
    after: &Balances,
    completed: usize,
) -> Check {
    let received: i64 = transfers
        .iter()
        .map(|transfer| transfer.pay_out.amount.amount_minor)
        .sum();
    let utility_drop = expected.before.pay_out_source_minor - after.pay_out_source_minor;
    let expected_drop = received + expected.charge_minor * completed as i64;
    Check {
        ok: utility_drop == expected_drop,
        line: format!(
            "M-PESA utility account down {} KES = Σ receive {} KES + {completed} × {} KES charge ({} expected)",
            kes(utility_drop),
            kes(received),
            kes(expected.charge_minor),
            kes(expected_drop)
        ),
    }
}

fn buyer_moved_by_the_pay_ins(
    transfers: &[TransferView],
    expected: &Expected,
    after: &Balances,
) -> Check {
    let charged: i64 = transfers
        .iter()
        .map(|transfer| transfer.pay_in.charged_estimate.amount_minor)
        .sum();
    let buyer_drop = expected.before.payer_minor - after.payer_minor;
    Check {
        ok: buyer_drop == charged,
        line: format!(
            "Alipay buyer down {} CNY = Σ amount at the quoted CNY rate {} CNY",
            kes(buyer_drop),
            kes(charged)
        ),
    }
}
