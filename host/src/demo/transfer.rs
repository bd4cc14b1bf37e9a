//! One payer's transfer: quote, transfer, pay (in the Alipay wallet, or on
//! M-PESA by prompt or by Paybill), wait for the host.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::corridors::DemoCorridor;
use super::{BUYER, BUYER_PASSWORD, ms};
use crate::SystemClock;
use crate::api::view::TransferView;
use crate::client::Client;
use crate::engine::model::TransferState;

/// One transfer's clock readings, ms.
pub(super) struct Timing {
    pub quote_ms: f64,
    pub pay_in_start_ms: f64,
    pub pay_task_ms: f64,
    pub pay_out_start_ms: f64,
    pub pay_in_complete_ms: f64,
    pub pay_out_complete_ms: f64,
    pub after_payment_ms: f64,
}

/// What the payer's side measures; the rest comes from the transfer's events.
struct PayerClock {
    quote_ms: f64,
    pay_in_start_ms: f64,
    pay_task_ms: f64,
    /// When the wallet answered that it paid, on the host's clock.
    paid_at_ms: u64,
}

/// Everything a payer needs, shared by the transfers in flight.
pub(super) struct Sender {
    pub client: Client,
    pub corridor: DemoCorridor,
    /// The payer's browser and wallet.
    pub wallet: reqwest::Client,
    pub alipay_url: String,
    /// The sandboxes' control API (an M-PESA customer paying a Paybill).
    pub control_url: String,
    pub recipient: String,
    pub amount: String,
}

impl Sender {
    /// Quote, transfer, pay, wait: one payer's transfer.
    pub async fn send(&self, index: u32) -> anyhow::Result<(TransferView, Timing)> {
        let clock = Instant::now();
        let (send, receive) = self.corridor.currencies();
        let quote = self
            .client
            .quote_on(self.corridor.id(), &self.amount, send, receive)
            .await?;
        let quote_ms = ms(clock.elapsed());
        let clock = Instant::now();
        let payer = self.corridor.payer(index);
        let key = format!("demo-{}-{index}", quote.id);
        let created = self
            .client
            .transfer_from(&quote.id, &self.recipient, payer.as_deref(), &key)
            .await?;
        let pay_in_start_ms = ms(clock.elapsed());
        let clock = Instant::now();
        self.corridor.pay(self, &created, index).await?;
        let paid_at_ms = crate::clock::Clock::now_ms(&SystemClock);
        let pay_task_ms = ms(clock.elapsed());
        let done = self.wait_until_accepted(&created.id).await?;
        let payer_clock = PayerClock {
            quote_ms,
            pay_in_start_ms,
            pay_task_ms,
            paid_at_ms,
        };
        let timing = timing(&payer_clock, &done)?;
        Ok((done, timing))
    }

    /// The Alipay payer opens the signed order and pays in the wallet.
    pub async fn pay_with_alipay(&self, created: &TransferView) -> anyhow::Result<()> {
        let payment_url = created
            .pay_in
            .payment_url
            .clone()
            .context("the transfer has no payment URL")?;
        self.open_order(&payment_url).await?;
        self.pay(&created.pay_in.reference).await
    }

    /// The M-PESA payer: a prompt is answered on the phone by the sandbox's
    /// handset; a Paybill is paid by the customer, through the sandbox's control API.
    pub async fn pay_with_mpesa(&self, created: &TransferView, index: u32) -> anyhow::Result<()> {
        use crate::engine::model::PayerAction;
        let transfer = self.instructed(created).await?;
        match &transfer.pay_in.action {
            Some(PayerAction::ApprovePrompt { .. }) => Ok(()),
            Some(PayerAction::PayToAccount {
                account,
                reference,
                amount,
                ..
            }) => {
                let paybill: String = account.chars().filter(char::is_ascii_digit).collect();
                let body = serde_json::json!({
                    "msisdn": super::corridors::mpesa_payer(index),
                    "shortcode": paybill,
                    "account": reference,
                    "amount": super::validity::decimal(amount.amount_minor),
                });
                let answer = self
                    .wallet
                    .post(format!("{}/control/mpesa/c2b/pay", self.control_url))
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await?;
                let status = answer.status();
                let outcome: serde_json::Value =
                    serde_json::from_slice(&answer.bytes().await?).unwrap_or_default();
                anyhow::ensure!(
                    status.is_success() && outcome["outcome"] == "completed",
                    "the customer could not pay the Paybill: {status} {outcome}"
                );
                Ok(())
            }
            // Paid already: the prompt was answered before the host recorded it.
            None if transfer.state != TransferState::Created => Ok(()),
            None => anyhow::bail!("the transfer tells the M-PESA payer nothing to do"),
        }
    }

    /// The transfer once its payer has an instruction: a pay-in the provider
    /// refused for now (a prompt already open on the payer's phone) is
    /// started again by the host a moment later.
    async fn instructed(&self, created: &TransferView) -> anyhow::Result<TransferView> {
        let mut transfer = created.clone();
        for _ in 0..600 {
            if transfer.pay_in.action.is_some() || transfer.state != TransferState::Created {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            transfer = self.client.get(&created.id).await?;
        }
        Ok(transfer)
    }

    /// The payer's wallet opens the signed order: Alipay creates the trade.
    async fn open_order(&self, payment_url: &str) -> anyhow::Result<()> {
        let cashier = self.wallet.get(payment_url).send().await?;
        anyhow::ensure!(
            cashier.status().is_success(),
            "the Alipay cashier answered {}",
            cashier.status()
        );
        let page = cashier.text().await?;
        anyhow::ensure!(
            page.contains("Alipay cashier"),
            "the Alipay gateway refused the order: {page}"
        );
        Ok(())
    }

    /// The payer pays with the payment password (the thesis's PayTask).
    async fn pay(&self, out_trade_no: &str) -> anyhow::Result<()> {
        let form = [
            ("partner", "2088101122136241"),
            ("out_trade_no", out_trade_no),
            ("login", BUYER),
            ("pay_password", BUYER_PASSWORD),
        ];
        let wallet: serde_json::Value = self
            .wallet
            .post(format!("{}/sandbox/pay", self.alipay_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form)?)
            .send()
            .await?
            .bytes()
            .await
            .map(|body| serde_json::from_slice(&body).unwrap_or_default())?;
        anyhow::ensure!(
            wallet["resultStatus"] == "9000",
            "the wallet did not pay: {wallet}"
        );
        Ok(())
    }

    /// Waits until the transfer completed and its pay-out's acceptance is on
    /// record.
    async fn wait_until_accepted(&self, id: &str) -> anyhow::Result<TransferView> {
        let mut done = self
            .client
            .wait_until_final(id, Duration::from_secs(180))
            .await?;
        anyhow::ensure!(
            done.state == TransferState::Completed,
            "transfer {} ended {}: {:?}",
            done.id,
            done.state,
            done.failure
        );
        // The result callback can complete a transfer a moment before the B2C
        // acknowledgement (ConversationID, acceptance time) is recorded.
        for _ in 0..250 {
            if done.pay_out.accepted_at_ms.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            done = self.client.get(id).await?;
        }
        Ok(done)
    }
}

/// The payer's readings, completed with the host's from the transfer's events.
fn timing(payer: &PayerClock, done: &TransferView) -> anyhow::Result<Timing> {
    let at = |state: TransferState| {
        done.events
            .iter()
            .find(|event| event.state == state)
            .map(|event| event.at_ms)
            .context(format!("no {state} event"))
    };
    let since = |from: u64, to: u64| to.saturating_sub(from) as f64;
    let (registered, paying_out, completed) = (
        at(TransferState::LedgerRegistered)?,
        at(TransferState::PayingOut)?,
        at(TransferState::Completed)?,
    );
    let accepted = done
        .pay_out
        .accepted_at_ms
        .context("the pay-out has no acceptance time")?;
    Ok(Timing {
        quote_ms: payer.quote_ms,
        pay_in_start_ms: payer.pay_in_start_ms,
        pay_task_ms: payer.pay_task_ms,
        pay_out_start_ms: since(paying_out, accepted),
        pay_in_complete_ms: since(payer.paid_at_ms, registered),
        pay_out_complete_ms: since(registered, completed),
        after_payment_ms: since(payer.paid_at_ms, completed),
    })
}
