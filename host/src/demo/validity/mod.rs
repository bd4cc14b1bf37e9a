//! The validity check of the thesis's section 5.3, done right: every provider
//! id pairs with exactly one transfer, and the balances moved by exactly what
//! the transfers say. What the providers' ids and balances are is each
//! corridor's ([`alipay_mpesa`], [`mpesa_momo`]); the rest is here.

pub(super) mod alipay_mpesa;
pub(super) mod mpesa_momo;

use corridor_sandbox::Sandbox;

use super::corridors::DemoCorridor;
use crate::api::view::TransferView;
use crate::engine::model::TransferState;

/// One check's outcome and the line that says what was checked.
pub(super) struct Check {
    pub ok: bool,
    pub line: String,
}

/// The two sandbox balances a corridor's transfers move, minor units: the
/// payer's on the pay-in rail, and the account the pay-outs are paid from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Balances {
    pub payer_minor: i64,
    pub pay_out_source_minor: i64,
}

impl Balances {
    pub fn read(corridor: DemoCorridor, sandbox: &Sandbox) -> Self {
        match corridor {
            DemoCorridor::AlipayMpesa => alipay_mpesa::balances(sandbox),
            DemoCorridor::MpesaMomo => mpesa_momo::balances(sandbox),
        }
    }
}

/// What the demo set out to do, and the balances before it did.
pub(super) struct Expected {
    pub transfers: u32,
    /// The amount of each transfer, in the send currency's minor units.
    pub amount_minor: i64,
    /// The pay-out provider's charge on each pay-out, in its minor units.
    pub charge_minor: i64,
    pub before: Balances,
}

/// How many of `transfers` completed.
pub(super) fn completed(transfers: &[TransferView]) -> usize {
    transfers
        .iter()
        .filter(|transfer| transfer.state == TransferState::Completed)
        .count()
}

/// Every transfer completed.
pub(super) fn all_completed(transfers: &[TransferView], expected: &Expected) -> Check {
    let completed = completed(transfers);
    Check {
        ok: completed == expected.transfers as usize,
        line: format!("{completed} of {} transfers completed", expected.transfers),
    }
}

/// The amounts sent add up; `currency` prefixes the amount ("US$", "KES ").
pub(super) fn sent_in_all(
    transfers: &[TransferView],
    expected: &Expected,
    currency: &str,
) -> Check {
    let sent = expected.amount_minor * completed(transfers) as i64;
    let sent_total: i64 = transfers
        .iter()
        .map(|transfer| transfer.send.amount_minor)
        .sum();
    Check {
        ok: sent == sent_total,
        line: format!("{currency}{} sent in all", decimal(sent_total)),
    }
}

/// Minor units as a two-decimal amount.
pub(super) fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        minor.unsigned_abs() / 100,
        minor.unsigned_abs() % 100
    )
}
