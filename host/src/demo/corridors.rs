//! The corridors the demo can run, each with what differs between them: its
//! connector and policy, the currencies and defaults, how its payer pays,
//! and its validity checks. The host is the same for every one.

use std::path::Path;

use anyhow::Context;
use corridor_sandbox::Sandbox;

use super::DemoArgs;
use super::transfer::Sender;
use super::validity::{self, Check, Expected};
use crate::Policy;
use crate::api::view::TransferView;

/// A corridor the demo runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoCorridor {
    /// Alipay (USD, the payer charged CNY) → M-PESA Kenya (KES).
    AlipayMpesa,
    /// M-PESA Kenya (KES) → MTN MoMo Uganda (UGX).
    MpesaMomo,
}

/// The sandbox's demo payers on M-PESA, who pay the M-PESA → MoMo transfers:
/// funded, each answering every prompt it gets (see the sandbox's handsets).
/// A phone takes one prompt at a time, so transfer `i` is paid by payer
/// `i mod 100`: up to 100 transfers in flight never share a phone.
pub fn mpesa_payer(index: u32) -> String {
    format!("254722000{:03}", 100 + index % 100)
}

/// Every demo payer.
pub fn mpesa_payers() -> impl Iterator<Item = String> {
    (0..100).map(mpesa_payer)
}

impl DemoCorridor {
    /// The simulated provider delays on a transfer's path after the payment,
    /// ms, when the demo knows them: what is left of the end-to-end time
    /// once they are taken away is the host's own.
    pub(super) fn simulated_delays_ms(
        self,
        config: &corridor_sandbox::SandboxConfig,
    ) -> Option<u64> {
        let ms = |delay: std::time::Duration| u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        match self {
            // The payment notification, the ledger's register and check, the B2C result.
            DemoCorridor::AlipayMpesa => Some(
                ms(config.delay(config.alipay.notify_delay_ms, 300))
                    + ms(config.delay(config.ledger.register_latency_ms, 5000))
                    + ms(config.delay(config.ledger.check_latency_ms, 100))
                    + ms(config.delay(config.mpesa.result_delay_ms, 2500)),
            ),
            DemoCorridor::MpesaMomo => None,
        }
    }

    /// The corridors `--corridor` names: one, or `all`.
    pub(super) fn chosen(name: &str) -> Vec<DemoCorridor> {
        match name {
            "mpesa-momo" => vec![DemoCorridor::MpesaMomo],
            "all" => vec![DemoCorridor::AlipayMpesa, DemoCorridor::MpesaMomo],
            _ => vec![DemoCorridor::AlipayMpesa],
        }
    }

    /// The connector id (and policy file name).
    pub fn id(self) -> &'static str {
        match self {
            DemoCorridor::AlipayMpesa => "alipay-mpesa",
            DemoCorridor::MpesaMomo => "mpesa-momo",
        }
    }

    /// The component's file in the wasm folder.
    pub(super) fn wasm(self) -> &'static str {
        match self {
            DemoCorridor::AlipayMpesa => "alipay_mpesa.wasm",
            DemoCorridor::MpesaMomo => "mpesa_momo.wasm",
        }
    }

    /// (send, receive) currencies.
    pub(super) fn currencies(self) -> (&'static str, &'static str) {
        match self {
            DemoCorridor::AlipayMpesa => ("USD", "KES"),
            DemoCorridor::MpesaMomo => ("KES", "UGX"),
        }
    }

    /// Each transfer's amount, in the send currency: `--amount`, or about
    /// US$10 in the corridor's currency.
    pub(super) fn amount(self, args: &DemoArgs) -> String {
        match (&args.amount, self) {
            (Some(amount), _) => amount.clone(),
            (None, DemoCorridor::AlipayMpesa) => "10.00".into(),
            (None, DemoCorridor::MpesaMomo) => "1300.00".into(),
        }
    }

    /// The recipient: `--recipient`, or the sandbox's default account.
    pub(super) fn recipient(self, args: &DemoArgs) -> String {
        match (&args.recipient, self) {
            (Some(recipient), _) => recipient.clone(),
            (None, DemoCorridor::AlipayMpesa) => "254708374149".into(),
            (None, DemoCorridor::MpesaMomo) => "256772123456".into(),
        }
    }

    /// The payer of transfer `index` on the pay-in rail, when the corridor takes one.
    pub(super) fn payer(self, index: u32) -> Option<String> {
        match self {
            DemoCorridor::AlipayMpesa => None,
            DemoCorridor::MpesaMomo => Some(mpesa_payer(index)),
        }
    }

    /// How the protocols were chosen, for the banner.
    pub(super) fn protocols(self, args: &DemoArgs) -> String {
        match self {
            DemoCorridor::AlipayMpesa => format!("M-PESA pay-out by {}", args.pay_out),
            DemoCorridor::MpesaMomo => format!("M-PESA pay-in by {}", args.pay_in),
        }
    }

    /// The shipped policy, pointed at the sandboxes and the chosen protocols.
    pub(super) fn policy(
        self,
        args: &DemoArgs,
        sandbox: &Sandbox,
        policy_dir: &Path,
    ) -> anyhow::Result<Policy> {
        let path = policy_dir.join(format!("{}.toml", self.id()));
        let policy =
            Policy::load(&path).with_context(|| format!("cannot load {}", path.display()))?;
        let policy = crate::commands::sandbox::pointed_at(policy, sandbox);
        Ok(match self {
            DemoCorridor::AlipayMpesa => {
                policy.with_setting("mpesa_pay_out_protocol", &args.pay_out)
            }
            DemoCorridor::MpesaMomo => policy.with_setting("mpesa_pay_in_protocol", &args.pay_in),
        })
    }

    /// The payer's part of one transfer, after it was created.
    pub(super) async fn pay(
        self,
        sender: &Sender,
        created: &TransferView,
        index: u32,
    ) -> anyhow::Result<()> {
        match self {
            DemoCorridor::AlipayMpesa => sender.pay_with_alipay(created).await,
            DemoCorridor::MpesaMomo => sender.pay_with_mpesa(created, index).await,
        }
    }

    /// The balances the corridor's transfers move, before they run.
    pub(super) fn balances(self, sandbox: &Sandbox) -> validity::Balances {
        validity::Balances::read(self, sandbox)
    }

    /// Its validity checks.
    pub(super) fn checks(
        self,
        sandbox: &Sandbox,
        transfers: &[TransferView],
        expected: &Expected,
    ) -> Vec<Check> {
        match self {
            DemoCorridor::AlipayMpesa => {
                validity::alipay_mpesa::checks(sandbox, transfers, expected)
            }
            DemoCorridor::MpesaMomo => validity::mpesa_momo::checks(sandbox, transfers, expected),
        }
    }
}
