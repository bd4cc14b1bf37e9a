//! The M-PESA → MTN MoMo corridor's checks: every M-PESA receipt and every
//! MoMo transfer pairs with one transfer (one MoMo transfer each, none
//! resent), and the payer's KES and the MoMo disbursement account's UGX moved
//! by exactly the transfers' amounts.

use std::collections::{HashMap, HashSet};

use corridor_sandbox::Sandbox;

use super::super::corridors::mpesa_payers;
use super::{Balances, Check, Expected, all_completed, completed, decimal, sent_in_all};
use crate::api::view::TransferView;

/// The demo payers' KES on M-PESA and the MoMo disbursement account's UGX.
pub(super) fn balances(sandbox: &Sandbox) -> Balances {
    Balances {
        payer_minor: {
            let customers = sandbox.mpesa_balances().customers;
            mpesa_payers()
                .filter_map(|payer| customers.get(&payer).copied())
                .sum()
        },
        pay_out_source_minor: sandbox
            .momo_balances()
            .disbursement
            .get("UGX")
            .copied()
            .unwrap_or_default(),
    }
}

/// The checks, in the order they print.
pub(in super::super) fn checks(
    sandbox: &Sandbox,
    transfers: &[TransferView],
    expected: &Expected,
) -> Vec<Check> {
    let after = balances(sandbox);
    vec![
        all_completed(transfers, expected),
        receipts_pair_with_pay_ins(transfers),
        one_momo_transfer_each(sandbox, transfers),
        payer_moved_by_the_pay_ins(transfers, expected, &after),
        disbursement_moved_by_the_pay_outs(transfers, expected, &after),
        sent_in_all(transfers, expected, "KES "),
    ]
}

/// Every completed transfer's pay-in has its own M-PESA receipt.
fn receipts_pair_with_pay_ins(transfers: &[TransferView]) -> Check {
    let receipts: Vec<&str> = transfers
        .iter()
        .filter_map(|transfer| transfer.pay_in.provider_transaction_id.as_deref())
        .collect();
    let distinct: HashSet<&str> = receipts.iter().copied().collect();
    let completed = completed(transfers);
    Check {
        ok: distinct.len() == receipts.len() && receipts.len() == completed,
        line: format!(
            "{} distinct M-PESA receipts for {completed} transfers' Pay Ins",
            distinct.len()
        ),
    }
}

/// Each MoMo transfer (by `X-Reference-Id`) is one transfer's Pay Out, and
/// there is one per transfer: none resent.
fn one_momo_transfer_each(sandbox: &Sandbox, transfers: &[TransferView]) -> Check {
    let by_reference: HashMap<&str, &TransferView> = transfers
        .iter()
        .map(|transfer| (transfer.pay_out.reference.as_str(), transfer))
        .collect();
    let sent = sandbox.momo_transfers();
    let paired = sent
        .iter()
        .filter(|record| {
            by_reference
                .get(record.reference_id.as_str())
                .is_some_and(|transfer| {
                    transfer.pay_out.amount.amount_minor == record.amount_minor
                        && transfer.pay_out.recipient == record.payee
                })
        })
        .count();
    let completed = completed(transfers);
    Check {
        ok: paired == sent.len() && paired == completed,
        line: format!(
            "{paired} of {} MoMo transfers paired with a transfer's Pay Out (X-Reference-Id, amount, payee) for {completed} transfers",
            sent.len()
        ),
    }
}

fn payer_moved_by_the_pay_ins(
    transfers: &[TransferView],
    expected: &Expected,
    after: &Balances,
) -> Check {
    let paid: i64 = transfers
        .iter()
        .map(|transfer| transfer.pay_in.amount.amount_minor)
        .sum();
    let drop = expected.before.payer_minor - after.payer_minor;
    Check {
        ok: drop == paid,
        line: format!(
            "M-PESA demo payers down {} KES = Σ pay-in {} KES",
            decimal(drop),
            decimal(paid)
        ),
    }
}

fn disbursement_moved_by_the_pay_outs(
    transfers: &[TransferView],
    expected: &Expected,
    after: &Balances,
) -> Check {
    let received: i64 = transfers
        .iter()
        .map(|transfer| transfer.pay_out.amount.amount_minor)
        .sum();
    let drop = expected.before.pay_out_source_minor - after.pay_out_source_minor;
    let expected_drop = received + expected.charge_minor * completed(transfers) as i64;
    Check {
        ok: drop == expected_drop,
        line: format!(
            "MoMo disbursement account down {drop} UGX = Σ receive {received} UGX ({expected_drop} expected)"
        ),
    }
}
