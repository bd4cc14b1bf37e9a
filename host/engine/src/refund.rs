//! Returning a pay-in: the one refund at the provider, then the ledger's reversal.

use super::*;

impl Engine {
    pub(super) async fn begin_refund(&self, transfer: &Transfer, reason: &str) {
        let reason = reason.to_string();
        let moves = (TransferState::PayOutFailed, TransferState::Refunding);
        self.advance(&transfer.id, moves, Some(0), reason.clone(), |transfer| {
            transfer.refund = Some(refund_of(transfer, reason));
        })
        .await;
    }

    /// Returns the pay-in (idempotent per refund reference), then tells the ledger.
    pub(super) async fn refund(&self, transfer: &Transfer) {
        let Some(refund) = transfer.refund.clone() else {
            unreachable!("transfer {} is refunding without a refund", transfer.id)
        };
        if refund.refunded_at_ms.is_none() {
            let request = RefundRequest {
                transfer_id: transfer.id.clone(),
                pay_in_reference: transfer.pay_in.reference.clone(),
                reference: refund.reference.clone(),
                amount: transfer.pay_in.amount.clone(),
                reason: refund.reason.clone(),
            };
            let receipt = match self
                .ask::<exports::RefundPayIn>(&transfer.connector, request)
                .await
            {
                Ok(receipt) => receipt,
                Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                    let reason = format!("the refund was refused: {}", failure.message);
                    return self.hold(&transfer.id, &failure.code, reason).await;
                }
                Err(no_answer) => {
                    return self
                        .retry_later(
                            &transfer.id,
                            TransferState::Refunding,
                            no_answer.to_string(),
                        )
                        .await;
                }
            };
            if let Err(mismatch) = checks::refund_receipt(transfer, &receipt) {
                return self.hold(&transfer.id, "mismatch", mismatch).await;
            }
            let now_ms = self.now_ms();
            self.apply(&transfer.id, move |transfer| {
                let refund = transfer.refund.as_mut()?;
                refund.refunded_at_ms = Some(now_ms);
                // A refund returns the pay-in: its fields are the pay-in's to show.
                super::details::apply(
                    &transfer.id,
                    "pay-in",
                    &mut transfer.pay_in.details,
                    &receipt.details,
                );
                Some("refunded at the provider".into())
            })
            .await;
        }
        let Ok(transfer) = self.get(&transfer.id).await else {
            return;
        };
        if let (Some(ledger_id), None) = (
            &transfer.ledger_id,
            transfer
                .refund
                .as_ref()
                .and_then(|refund| refund.ledger_reversal_id.clone()),
        ) {
            let facts = json!({ "reverses": ledger_id, "transfer_id": transfer.id, "refund": transfer.refund, "amount": transfer.pay_in.amount });
            match self
                .ledger
                .register(&format!("{}/refund", transfer.id), facts)
                .await
            {
                Ok(record) => {
                    self.apply(&transfer.id, move |transfer| {
                        transfer.refund.as_mut()?.ledger_reversal_id =
                            Some(record.ledger_id.clone());
                        Some(format!("ledger reversal {}", record.ledger_id))
                    })
                    .await;
                }
                Err(error) => {
                    return self
                        .retry_later(&transfer.id, TransferState::Refunding, error.to_string())
                        .await;
                }
            }
        }
        let moves = (TransferState::Refunding, TransferState::Refunded);
        self.advance(
            &transfer.id,
            moves,
            None,
            "the payer has the money back".into(),
            |_| {},
        )
        .await;
    }
}
