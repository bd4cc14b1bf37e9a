//! The pay-out steps: the one request, and the queries that learn its fate.

use super::*;

impl Engine {
    /// Sends the one pay-out request. Its intent is recorded first: once
    /// `requested_at_ms` is on disk, this transfer's pay-out is never sent
    /// again, only queried.
    pub(super) async fn pay_out(&self, transfer: &Transfer) {
        let result_wait_ms = millis(self.config.result_wait);
        let intent = self
            .record(
                &transfer.id,
                Input::PayOutRequesting { result_wait_ms },
                None,
            )
            .await;
        let transfer = match intent {
            Ok(Some(decision)) if decision.effect == Effect::Changed => decision.transfer,
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record the pay-out intent; not sending");
            }
        };
        let request = PayOutRequest {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_out.reference.clone(),
            recipient: transfer.recipient.clone(),
            amount: transfer.quote.receive.to_wit(),
            remarks: format!("Corridor {}", transfer.id),
            result_url: self.callback_url(&transfer, routes::PAY_OUT),
            timeout_url: self.callback_url(&transfer, routes::PAY_OUT_TIMEOUT),
        };
        match self.ask::<exports::BeginPayOut>(&transfer, request).await {
            Ok(PayOutStarted::Accepted(accepted)) => {
                let input = Input::PayOutAccepted {
                    provider_reference: accepted.provider_reference,
                    details: accepted.details,
                };
                self.feed(&transfer.id, input).await;
            }
            Ok(PayOutStarted::Succeeded(receipt)) => {
                self.apply_answer(
                    &transfer.id,
                    Event::PayOutSucceeded(receipt),
                    "begin-pay-out",
                )
                .await;
            }
            Err(NoAnswer::Refused(failure)) => match failure.kind {
                FailureKind::Failed => {
                    let event = crate::wit::PayOutFailure {
                        reference: None,
                        provider_reference: None,
                        failure,
                    };
                    self.apply_answer(&transfer.id, Event::PayOutFailed(event), "begin-pay-out")
                        .await;
                }
                FailureKind::Retryable => self.pay_out_not_sent(&transfer.id, failure).await,
                FailureKind::Unknown => {
                    let reason = NoAnswer::Refused(failure).to_string();
                    self.pay_out_unknown(&transfer.id, &reason).await
                }
            },
            // The guest may have sent the request before it failed.
            Err(broken) => {
                self.pay_out_unknown(&transfer.id, &broken.to_string())
                    .await
            }
        }
    }

    /// The provider certainly did not act: the same request (same reference)
    /// may go again later.
    async fn pay_out_not_sent(&self, id: &str, failure: Failure) {
        let retry = self.retry();
        self.feed(id, Input::PayOutNotSent { failure, retry }).await;
    }

    async fn pay_out_unknown(&self, id: &str, reason: &str) {
        tracing::warn!(transfer = id, %reason, "pay-out outcome unknown; it will be queried, never resent");
        let query_at_ms = self.now_ms() + millis(self.config.query_backoff);
        let reason = reason.to_string();
        self.feed(
            id,
            Input::PayOutInDoubt {
                reason,
                query_at_ms,
            },
        )
        .await;
    }

    /// Asks the provider where the pay-out stands, on a backoff, a bounded number of times.
    pub(super) async fn query_pay_out(&self, transfer: &Transfer) {
        let budget = self.query_budget();
        let counted = self
            .record(&transfer.id, Input::PayOutQueryDue(budget), None)
            .await;
        let transfer = match counted {
            Ok(Some(decision))
                if decision.effect == Effect::Changed
                    && !decision.transfer.state().is_terminal() =>
            {
                decision.transfer
            }
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record a status query");
            }
        };
        let query = PayOutQuery {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_out.reference.clone(),
            provider_reference: transfer.pay_out.provider_reference.clone(),
            result_url: self.callback_url(&transfer, routes::PAY_OUT_STATUS),
            timeout_url: self.callback_url(&transfer, routes::PAY_OUT_TIMEOUT),
        };
        let status = match self.ask::<exports::QueryPayOut>(&transfer, query).await {
            Ok(status) => status,
            Err(no_answer) => {
                return tracing::warn!(transfer = %transfer.id, reason = %no_answer, "status query failed; asking again later");
            }
        };
        match status {
            PayOutStatus::Pending => {}
            PayOutStatus::Succeeded(receipt) => {
                self.apply_answer(
                    &transfer.id,
                    Event::PayOutSucceeded(receipt),
                    "query-pay-out",
                )
                .await;
            }
            PayOutStatus::Failed(failure) => {
                let event = crate::wit::PayOutFailure {
                    reference: None,
                    provider_reference: None,
                    failure,
                };
                self.apply_answer(&transfer.id, Event::PayOutFailed(event), "query-pay-out")
                    .await;
            }
            PayOutStatus::NotFound => {
                let grace_ms = millis(self.config.not_found_grace);
                let input = Input::PayOutNotFound { grace_ms };
                if let Err(error) = self
                    .record(&transfer.id, input, Some("query-pay-out"))
                    .await
                {
                    tracing::error!(transfer = %transfer.id, %error, "cannot record an answer; the step runs again when due");
                }
            }
        }
    }
}
