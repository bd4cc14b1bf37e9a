//! What operators do to transfers: list them by filter, and get a held one
//! moving again. Each action asks the provider first where money may have
//! moved (the host's own `query-pay-out`), then goes through [`decide`],
//! which refuses rather than pay twice; a refusal changes nothing.

use super::*;
use crate::decide::PayOutFinding;
use crate::store::{AuditEntry, TransferFilter};
use crate::wit::PayOutReceipt;

/// An operator's resolution of a held transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The provider paid it: this is its receipt id, to be confirmed by query.
    PaidOut {
        /// The provider's receipt (transaction id).
        receipt: String,
    },
    /// Return the pay-in to the payer.
    Refund,
}

impl Engine {
    /// Transfers matching `filter`, newest first.
    pub async fn list_filtered(
        &self,
        filter: TransferFilter,
    ) -> Result<Vec<Transfer>, EngineError> {
        Ok(self.db(move |store| store.list_filtered(&filter)).await?)
    }

    /// Appends an entry to the operators' audit log, stamped now.
    pub async fn audit(&self, mut entry: AuditEntry) -> Result<AuditEntry, EngineError> {
        entry.at_ms = self.now_ms();
        let stored = entry.clone();
        entry.id = self.db(move |store| store.append_audit(&stored)).await?;
        Ok(entry)
    }

    /// The audit log, newest first, below `before`.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        Ok(self.db(move |store| store.audit(before, limit)).await?)
    }

    /// Sends a held transfer back to the step it was held in, due now.
    pub async fn retry_held(&self, id: &str, note: &str) -> Result<Transfer, EngineError> {
        self.operate(id, Input::OperatorRetry, note).await
    }

    /// Resolves a held transfer with evidence, after asking the provider.
    pub async fn resolve_held(
        &self,
        id: &str,
        resolution: Resolution,
        reason: &str,
        note: &str,
    ) -> Result<Transfer, EngineError> {
        let transfer = self.get(id).await?;
        if transfer.state() != TransferState::Held {
            return Err(EngineError::Refused(format!(
                "transfer {id} is {}, not held",
                transfer.state()
            )));
        }
        let input = match resolution {
            Resolution::PaidOut { receipt } => {
                Input::OperatorPaidOut(self.confirmed_receipt(&transfer, &receipt).await?)
            }
            Resolution::Refund => Input::OperatorRefund {
                reason: reason.to_string(),
                pay_out: self.pay_out_finding(&transfer).await?,
            },
        };
        self.operate(id, input, note).await
    }

    /// Feeds an operator's input; an unchanged transfer is a refusal.
    async fn operate(&self, id: &str, input: Input, note: &str) -> Result<Transfer, EngineError> {
        let decision = self
            .record(id, input, Some(note))
            .await?
            .ok_or_else(|| EngineError::TransferNotFound(id.to_string()))?;
        if decision.effect == Effect::Unchanged {
            let reason = decision.summary.trim_start_matches("refused: ").to_string();
            return Err(EngineError::Refused(reason));
        }
        Ok(decision.transfer)
    }

    /// The provider's own receipt for the pay-out, when it names `receipt`.
    async fn confirmed_receipt(
        &self,
        transfer: &Transfer,
        receipt: &str,
    ) -> Result<PayOutReceipt, EngineError> {
        match self.ask_pay_out(transfer).await? {
            PayOutStatus::Succeeded(paid) if paid.provider_transaction_id == receipt => Ok(paid),
            PayOutStatus::Succeeded(paid) => Err(EngineError::Refused(format!(
                "the provider's receipt is {}, not {receipt}",
                paid.provider_transaction_id
            ))),
            other => Err(EngineError::Refused(format!(
                "the provider does not confirm the pay-out: it says {}",
                status_name(&other)
            ))),
        }
    }

    /// Where the pay-out stands by the provider's answer (nothing to ask
    /// when no request was ever recorded).
    async fn pay_out_finding(&self, transfer: &Transfer) -> Result<PayOutFinding, EngineError> {
        if transfer.pay_out.requested_at_ms.is_none()
            && transfer.pay_out.provider_reference.is_none()
        {
            return Ok(PayOutFinding::NotRequested);
        }
        Ok(match self.ask_pay_out(transfer).await? {
            PayOutStatus::Succeeded(paid) => PayOutFinding::Succeeded(paid.provider_transaction_id),
            PayOutStatus::Pending => PayOutFinding::Pending,
            PayOutStatus::Failed(failure) => PayOutFinding::Failed(failure.code),
            PayOutStatus::NotFound => {
                let requested_at_ms = transfer.pay_out.requested_at_ms.unwrap_or_default();
                let grace_ms = millis(self.config.not_found_grace);
                if self.now_ms().saturating_sub(requested_at_ms) < grace_ms {
                    PayOutFinding::Pending
                } else {
                    PayOutFinding::NotFound
                }
            }
        })
    }

    async fn ask_pay_out(&self, transfer: &Transfer) -> Result<PayOutStatus, EngineError> {
        let query = PayOutQuery {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_out.reference.clone(),
            provider_reference: transfer.pay_out.provider_reference.clone(),
            result_url: self.callback_url(transfer, routes::PAY_OUT_STATUS),
            timeout_url: self.callback_url(transfer, routes::PAY_OUT_TIMEOUT),
        };
        self.ask::<exports::QueryPayOut>(transfer, query)
            .await
            .map_err(|no_answer| {
                EngineError::Refused(format!("the provider could not be asked: {no_answer}"))
            })
    }
}

fn status_name(status: &PayOutStatus) -> String {
    match status {
        PayOutStatus::Pending => "pending".into(),
        PayOutStatus::Succeeded(_) => "succeeded".into(),
        PayOutStatus::Failed(failure) => format!("failed ({})", failure.code),
        PayOutStatus::NotFound => "no record of it".into(),
    }
}
