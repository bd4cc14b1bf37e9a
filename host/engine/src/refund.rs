//! Returning a pay-in: the one refund at the provider, then the ledger's
//! reversal. Sent once, like a pay-out: the intent is recorded before the
//! request, and a request that may have reached the provider is resolved by
//! `query-refund` (and the result callbacks), never by sending it again.

use super::*;
use crate::wit::{RefundQuery, RefundStarted, RefundStatus};

impl Engine {
    pub(super) async fn begin_refund(&self, transfer: &Transfer, reason: &str) {
        let reason = reason.to_string();
        self.feed(&transfer.id, Input::RefundBegun { reason }).await;
    }

    /// The refund step: request it, or ask after it, then tell the ledger.
    pub(super) async fn refund(&self, transfer: &Transfer, refund: &Refund) {
        if refund.refunded_at_ms.is_none() {
            if refund.awaits_outcome() {
                self.query_refund(transfer).await;
            } else {
                self.request_refund(transfer).await;
            }
            let Ok(now) = self.get(&transfer.id).await else {
                return;
            };
            if now.state() != TransferState::Refunding
                || now
                    .refund()
                    .is_none_or(|refund| refund.refunded_at_ms.is_none())
            {
                return;
            }
        }
        self.reverse_in_ledger(&transfer.id).await;
    }

    /// Sends the one refund request, its intent recorded first.
    async fn request_refund(&self, transfer: &Transfer) {
        let result_wait_ms = millis(self.config.result_wait);
        let intent = self
            .record(
                &transfer.id,
                Input::RefundRequesting { result_wait_ms },
                None,
            )
            .await;
        let transfer = match intent {
            Ok(Some(decision)) if decision.effect == Effect::Changed => decision.transfer,
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record the refund intent; not sending");
            }
        };
        let Some(refund) = transfer.refund() else {
            return;
        };
        let request = RefundRequest {
            transfer_id: transfer.id.clone(),
            pay_in_reference: transfer.pay_in.reference.clone(),
            reference: refund.reference.clone(),
            amount: transfer.pay_in.amount.to_wit(),
            reason: refund.reason.clone(),
            pay_in_transaction_id: transfer.pay_in.provider_transaction_id.clone(),
            result_url: self.callback_url(&transfer, routes::REFUND),
            timeout_url: self.callback_url(&transfer, routes::REFUND_TIMEOUT),
        };
        let input = match self.ask::<exports::RefundPayIn>(&transfer, request).await {
            Ok(RefundStarted::Succeeded(receipt)) => Input::Refunded(receipt),
            Ok(RefundStarted::Accepted(accepted)) => Input::RefundAccepted {
                provider_reference: accepted.provider_reference,
                details: accepted.details,
            },
            Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                Input::RefundRefused(failure)
            }
            Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Retryable => {
                Input::RefundNotSent {
                    failure,
                    retry: self.retry(),
                }
            }
            Err(no_answer) => {
                // It may have reached the provider: the due query finds out.
                return tracing::warn!(transfer = %transfer.id, reason = %no_answer, "the refund's outcome is unknown; asking the provider when due");
            }
        };
        self.feed(&transfer.id, input).await;
    }

    /// Asks the provider where the refund stands, on a backoff, a bounded
    /// number of times.
    async fn query_refund(&self, transfer: &Transfer) {
        let counted = self
            .record(
                &transfer.id,
                Input::RefundQueryDue(self.query_budget()),
                None,
            )
            .await;
        let transfer = match counted {
            Ok(Some(decision))
                if decision.effect == Effect::Changed
                    && decision.transfer.state() == TransferState::Refunding =>
            {
                decision.transfer
            }
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record a refund query");
            }
        };
        let Some(refund) = transfer.refund() else {
            return;
        };
        let query = RefundQuery {
            transfer_id: transfer.id.clone(),
            pay_in_reference: transfer.pay_in.reference.clone(),
            pay_in_transaction_id: transfer.pay_in.provider_transaction_id.clone(),
            reference: refund.reference.clone(),
            amount: transfer.pay_in.amount.to_wit(),
            provider_reference: refund.provider_reference.clone(),
            result_url: self.callback_url(&transfer, routes::REFUND_STATUS),
            timeout_url: self.callback_url(&transfer, routes::REFUND_TIMEOUT),
        };
        let input = match self.ask::<exports::QueryRefund>(&transfer, query).await {
            Ok(RefundStatus::Pending) => return,
            Ok(RefundStatus::Succeeded(receipt)) => Input::Refunded(receipt),
            Ok(RefundStatus::Failed(failure)) => Input::RefundRefused(failure),
            Ok(RefundStatus::NotFound) => Input::RefundNotFound {
                grace_ms: millis(self.config.not_found_grace),
            },
            Err(no_answer) => {
                return tracing::warn!(transfer = %transfer.id, reason = %no_answer, "refund query failed; asking again later");
            }
        };
        if let Err(error) = self.record(&transfer.id, input, Some("query-refund")).await {
            tracing::error!(transfer = %transfer.id, %error, "cannot record an answer; the step runs again when due");
        }
    }

    /// Records the reversal in the ledger, then finishes the refund.
    async fn reverse_in_ledger(&self, id: &str) {
        let Ok(transfer) = self.get(id).await else {
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
