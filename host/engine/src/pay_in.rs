//! The pay-in steps: start it at the provider, and ask after it when its window lapses.

use super::*;

impl Engine {
    pub(super) async fn start_pay_in(&self, transfer: &Transfer) {
        let request = PayInRequest {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_in.reference.clone(),
            amount: transfer.pay_in.amount.to_wit(),
            subject: format!(
                "Corridor transfer to {}",
                crate::redact::account(&transfer.recipient)
            ),
            notify_url: self.callback_url(transfer, routes::PAY_IN),
            expires_at_ms: transfer.pay_in.expires_at_ms,
        };
        match self.ask::<exports::BeginPayIn>(transfer, request).await {
            Ok(instruction) => {
                let input = Input::PayInStarted {
                    payment_url: instruction.payment_url,
                    provider_reference: instruction.provider_reference,
                    details: instruction.details,
                };
                self.feed(&transfer.id, input).await;
            }
            Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                self.feed(&transfer.id, Input::PayInRefused(failure)).await;
            }
            Err(no_answer) => {
                self.retry_later(&transfer.id, TransferState::Created, no_answer.to_string())
                    .await
            }
        }
    }

    /// The pay-in window closed: ask the provider before calling it expired
    /// (the notification may have been lost).
    pub(super) async fn check_pay_in(&self, transfer: &Transfer) {
        let query = PayInQuery {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_in.reference.clone(),
        };
        let status = match self.ask::<exports::QueryPayIn>(transfer, query).await {
            Ok(status) => status,
            Err(no_answer) => {
                return self
                    .retry_later(
                        &transfer.id,
                        TransferState::AwaitingPayIn,
                        no_answer.to_string(),
                    )
                    .await;
            }
        };
        match status {
            PayInStatus::Succeeded(receipt) => {
                self.apply_answer(&transfer.id, Event::PayInSucceeded(receipt), "query-pay-in")
                    .await;
            }
            PayInStatus::Failed(failure) => {
                self.apply_answer(
                    &transfer.id,
                    Event::PayInFailed(crate::wit::PayInFailure {
                        reference: transfer.pay_in.reference.clone(),
                        failure,
                    }),
                    "query-pay-in",
                )
                .await;
            }
            PayInStatus::AwaitingPayment | PayInStatus::NotFound => {
                self.feed(&transfer.id, Input::PayInUnpaid).await;
            }
        }
    }
}
