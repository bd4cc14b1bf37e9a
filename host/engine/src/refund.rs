//! Returning a pay-in: the one refund at the provider, then the ledger's reversal.

use super::*;

impl Engine {
    pub(super) async fn begin_refund(&self, transfer: &Transfer, reason: &str) {
        let reason = reason.to_string();
        self.feed(&transfer.id, Input::RefundBegun { reason }).await;
    }

    /// Returns the pay-in (idempotent per refund reference), then tells the ledger.
    pub(super) async fn refund(&self, transfer: &Transfer, refund: &Refund) {
        if refund.refunded_at_ms.is_none() {
            let request = RefundRequest {
                transfer_id: transfer.id.clone(),
                pay_in_reference: transfer.pay_in.reference.clone(),
                reference: refund.reference.clone(),
                amount: transfer.pay_in.amount.to_wit(),
                reason: refund.reason.clone(),
            };
            let input = match self.ask::<exports::RefundPayIn>(transfer, request).await {
                Ok(receipt) => Input::Refunded(receipt),
                Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                    Input::RefundRefused(failure)
                }
                Err(no_answer) => {
                    let reason = no_answer.to_string();
                    return self
                        .retry_later(&transfer.id, TransferState::Refunding, reason)
                        .await;
                }
            };
            match self.feed(&transfer.id, input).await {
                Some(decision) if decision.effect == Effect::Changed => {}
                _ => return,
            }
        }
        let Ok(transfer) = self.get(&transfer.id).await else {
            return;
        };
        if let (Some(ledger_id), None) = (
            transfer.ledger_id(),
            transfer
                .refund()
                .and_then(|refund| refund.ledger_reversal_id.clone()),
        ) {
            let facts = json!({ "reverses": ledger_id, "transfer_id": transfer.id, "refund": transfer.refund(), "amount": transfer.pay_in.amount });
            match self
                .ledger
                .register(&format!("{}/refund", transfer.id), facts)
                .await
            {
                Ok(record) => {
                    let ledger_id = record.ledger_id;
                    self.feed(&transfer.id, Input::LedgerReversed { ledger_id })
                        .await;
                }
                Err(error) => {
                    return self
                        .retry_later(&transfer.id, TransferState::Refunding, error.to_string())
                        .await;
                }
            }
        }
        self.feed(&transfer.id, Input::RefundFinished).await;
    }
}
