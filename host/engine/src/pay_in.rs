//! The pay-in steps: start it at the provider, and ask after it when its
//! window lapses or when a report of it needs confirming.

use super::*;
use crate::wit::PayInStatus;

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
            payer: transfer.pay_in.payer.clone(),
            connector_routes: match self.connector_route_urls(transfer).await {
                Ok(urls) => urls,
                Err(error) => {
                    let reason = format!("cannot read the connector's route root: {error}");
                    return self
                        .retry_later(&transfer.id, TransferState::Created, reason)
                        .await;
                }
            },
        };
        let input = match self.ask::<exports::BeginPayIn>(transfer, request).await {
            Ok(instruction) => started(transfer, instruction),
            Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                Input::PayInRefused(failure)
            }
            Err(no_answer) => {
                return self
                    .retry_later(&transfer.id, TransferState::Created, no_answer.to_string())
                    .await;
            }
        };
        self.feed(&transfer.id, input).await;
    }

    /// The query for a transfer's pay-in; `provider_reference` names the
    /// payment being asked after, when a report named one.
    pub(super) fn pay_in_query(
        &self,
        transfer: &Transfer,
        provider_reference: Option<String>,
    ) -> PayInQuery {
        PayInQuery {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_in.reference.clone(),
            provider_reference: provider_reference
                .or_else(|| transfer.pay_in.provider_reference.clone()),
            result_url: self.callback_url(transfer, routes::PAY_IN_STATUS),
            timeout_url: self.callback_url(transfer, routes::PAY_IN_STATUS),
        }
    }

    /// The pay-in window closed: ask the provider before calling it expired
    /// (the notification may have been lost).
    pub(super) async fn check_pay_in(&self, transfer: &Transfer) {
        let query = self.pay_in_query(transfer, None);
        let status = match self.ask::<exports::QueryPayIn>(transfer, query).await {
            Ok(PayInStatus::Pending) => {
                Err("the provider answers the pay-in query later".to_string())
            }
            Ok(status) => Ok(status),
            Err(no_answer) => Err(no_answer.to_string()),
        };
        let status = match status {
            Ok(status) => status,
            Err(reason) => {
                return self
                    .retry_later(&transfer.id, TransferState::AwaitingPayIn, reason)
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
            PayInStatus::AwaitingPayment | PayInStatus::NotFound | PayInStatus::Pending => {
                self.feed(&transfer.id, Input::PayInUnpaid).await;
            }
        }
    }
}

/// The instruction as the transfer records it; one whose payer action fails
/// the host's checks is a refusal of the pay-in.
fn started(transfer: &Transfer, instruction: crate::wit::PayInInstruction) -> Input {
    let action = match instruction
        .action
        .as_ref()
        .map(|action| crate::offers::payer_action(transfer, action))
    {
        None => None,
        Some(Ok(action)) => Some(action),
        Some(Err(reason)) => {
            tracing::warn!(transfer = %transfer.id, %reason, "a connector's payer action was refused");
            return Input::PayInRefused(Failure {
                kind: FailureKind::Failed,
                code: "bad-instruction".into(),
                message: format!("the connector's payment instruction was refused: {reason}"),
            });
        }
    };
    Input::PayInStarted {
        payment_url: instruction.payment_url,
        provider_reference: instruction.provider_reference,
        action,
        details: instruction.details,
    }
}
