//! The pay-out steps: the one request, and the queries that learn its fate.

use super::*;

impl Engine {
    /// Sends the one pay-out request. Its intent is recorded first: once
    /// `requested_at_ms` is on disk, this transfer's pay-out is never sent
    /// again, only queried.
    pub(super) async fn pay_out(&self, transfer: &Transfer) {
        let (now_ms, result_wait_ms) = (self.now_ms(), millis(self.config.result_wait));
        let intent = self
            .update(&transfer.id, move |transfer| {
                let first = transfer.state == TransferState::LedgerConfirmed;
                let resend_after_retryable = transfer.state == TransferState::PayingOut
                    && transfer.pay_out.requested_at_ms.is_none();
                if !first && !resend_after_retryable {
                    return None;
                }
                if first {
                    transfer.enter(TransferState::PayingOut, None);
                }
                transfer.pay_out.requested_at_ms = Some(now_ms);
                transfer.due_at_ms = Some(now_ms + result_wait_ms);
                Some(format!("pay-out {} requested", transfer.pay_out.reference))
            })
            .await;
        let transfer = match intent {
            Ok(Some((transfer, true))) => transfer,
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record the pay-out intent; not sending");
            }
        };
        let request = PayOutRequest {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_out.reference.clone(),
            recipient: transfer.recipient.clone(),
            amount: transfer.quote.receive.clone(),
            remarks: format!("Corridor {}", transfer.id),
            result_url: self.callback_url(&transfer, routes::PAY_OUT),
            timeout_url: self.callback_url(&transfer, routes::PAY_OUT_TIMEOUT),
        };
        match self
            .ask::<exports::BeginPayOut>(&transfer.connector, request)
            .await
        {
            Ok(PayOutStarted::Accepted(accepted)) => {
                let now_ms = self.now_ms();
                self.apply(&transfer.id, move |transfer| {
                    if transfer.pay_out.provider_reference.is_some() {
                        return None;
                    }
                    transfer.pay_out.provider_reference = Some(accepted.provider_reference.clone());
                    transfer.pay_out.accepted_at_ms = Some(now_ms);
                    super::details::apply(
                        &transfer.id,
                        "pay-out",
                        &mut transfer.pay_out.details,
                        &accepted.details,
                    );
                    Some(format!("accepted as {}", accepted.provider_reference))
                })
                .await;
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
        let (max_attempts, initial, max, now_ms) = (
            self.config.max_attempts,
            self.config.retry_backoff,
            self.config.retry_backoff_max,
            self.now_ms(),
        );
        self.apply(id, move |transfer| {
            if transfer.state != TransferState::PayingOut
                || transfer.pay_out.provider_reference.is_some()
            {
                return None;
            }
            transfer.attempts += 1;
            if transfer.attempts >= max_attempts {
                transfer.pay_out.requested_at_ms = Some(now_ms);
                transfer.enter(TransferState::PayOutUnknown, Some(now_ms));
                return Some(format!(
                    "{}: retries exhausted; resolving by query",
                    failure.code
                ));
            }
            transfer.pay_out.requested_at_ms = None;
            transfer.due_at_ms = Some(now_ms + backoff(initial, max, transfer.attempts));
            Some(format!("not sent ({}): {}", failure.code, failure.message))
        })
        .await;
    }

    async fn pay_out_unknown(&self, id: &str, reason: &str) {
        let (reason, due_ms) = (
            reason.to_string(),
            self.now_ms() + millis(self.config.query_backoff),
        );
        tracing::warn!(transfer = id, %reason, "pay-out outcome unknown; it will be queried, never resent");
        let moves = (TransferState::PayingOut, TransferState::PayOutUnknown);
        self.advance(id, moves, Some(due_ms), reason, |_| {}).await;
    }

    /// Asks the provider where the pay-out stands, on a backoff, a bounded number of times.
    pub(super) async fn query_pay_out(&self, transfer: &Transfer) {
        let config = self.config.clone();
        let now_ms = self.now_ms();
        let counted = self
            .update(&transfer.id, move |transfer| {
                if !matches!(
                    transfer.state,
                    TransferState::PayingOut | TransferState::PayOutUnknown
                ) {
                    return None;
                }
                if transfer.pay_out.queries >= config.max_status_queries {
                    transfer.hold(
                        "pay-out-unresolved",
                        format!(
                            "{} status queries left the pay-out unresolved",
                            transfer.pay_out.queries
                        ),
                    );
                    return Some("held: the pay-out is unresolved".into());
                }
                transfer.pay_out.queries += 1;
                transfer.due_at_ms = Some(
                    now_ms
                        + backoff(
                            config.query_backoff,
                            config.query_backoff_max,
                            transfer.pay_out.queries,
                        ),
                );
                Some(format!("status query {}", transfer.pay_out.queries))
            })
            .await;
        let transfer = match counted {
            Ok(Some((transfer, true))) if !transfer.state.is_terminal() => transfer,
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
        let status = match self
            .ask::<exports::QueryPayOut>(&transfer.connector, query)
            .await
        {
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
                let requested_at_ms = transfer
                    .pay_out
                    .requested_at_ms
                    .unwrap_or(transfer.updated_at_ms);
                if now_ms.saturating_sub(requested_at_ms) >= millis(self.config.not_found_grace) {
                    let failure = Failure {
                        kind: FailureKind::Failed,
                        code: "not-found".into(),
                        message: "the provider has no record of the pay-out: it never arrived"
                            .into(),
                    };
                    let event = crate::wit::PayOutFailure {
                        reference: None,
                        provider_reference: None,
                        failure,
                    };
                    self.apply_answer(&transfer.id, Event::PayOutFailed(event), "query-pay-out")
                        .await;
                }
            }
        }
    }
}
