//! The scheduler: due transfers from the store, one step each, bounded in parallel.

use tracing::Instrument;

use super::*;

/// Due transfers started per scan, beyond those already in flight.
const DUE_BATCH: usize = 512;

impl Engine {
    /// Runs due steps until the task running it is aborted. Aborting it also
    /// aborts every step in flight (they live in its `JoinSet`), which is how
    /// tests kill a host mid-step.
    pub async fn run(self: Arc<Self>) {
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let now_ms = self.now_ms();
            // A transfer stays due in the store while its step runs, and the
            // steps in flight are the longest due, so they come first: ask
            // for that many more, or a thousand five-second waits would hide
            // every other due transfer until they end.
            let limit = DUE_BATCH + self.lock_in_flight().len();
            // Inline: an index range on a read-only connection.
            match self.store.due(now_ms, limit) {
                Ok(ids) => {
                    for id in ids {
                        let engine = self.clone();
                        let Ok(permit) = self.steps.clone().try_acquire_owned() else {
                            break;
                        };
                        if self.lock_in_flight().contains(&id) {
                            continue;
                        }
                        running.spawn(async move {
                            if let Some(claim) = engine.claim(&id) {
                                engine.step(&id).await;
                                drop(claim);
                            }
                            drop(permit);
                        });
                    }
                }
                Err(error) => tracing::error!(%error, "cannot read due transfers"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.tick) => {}
            }
        }
    }

    /// One step of one transfer: whatever its state calls for.
    async fn step(&self, id: &str) {
        let transfer = match self.get(id).await {
            Ok(transfer) => transfer,
            Err(error) => {
                return tracing::error!(transfer = id, %error, "cannot load a due transfer");
            }
        };
        if transfer.due_at_ms.is_none_or(|due| due > self.now_ms()) {
            return;
        }
        // Every log line of the step carries the transfer and the version
        // running it; the step's time is measured by the state it ran in.
        let span = tracing::info_span!(
            "step",
            transfer = %transfer.id,
            connector = %transfer.connector,
            version = %transfer.version.get(..12).unwrap_or_default(),
            state = %transfer.state(),
        );
        let state = transfer.state().name();
        let started = std::time::Instant::now();
        self.run_step(&transfer).instrument(span).await;
        metrics::histogram!("corridor_step_seconds", "state" => state)
            .record(started.elapsed().as_secs_f64());
    }

    /// What `transfer`'s state calls for.
    async fn run_step(&self, transfer: &Transfer) {
        let id = transfer.id.as_str();
        let transfer = transfer.clone();
        match transfer.stage() {
            Stage::LedgerRegistered { ledger_id } => {
                return self.check_with_ledger(&transfer, ledger_id).await;
            }
            Stage::Refunding { refund, .. } => return self.refund(&transfer, refund).await,
            _ => {}
        }
        match transfer.state() {
            TransferState::Created => self.start_pay_in(&transfer).await,
            TransferState::AwaitingPayIn => self.check_pay_in(&transfer).await,
            TransferState::PaidIn => self.register_with_ledger(&transfer).await,
            TransferState::LedgerConfirmed => self.pay_out(&transfer).await,
            TransferState::PayingOut if transfer.pay_out.requested_at_ms.is_none() => {
                self.pay_out(&transfer).await
            }
            TransferState::PayingOut | TransferState::PayOutUnknown => {
                self.query_pay_out(&transfer).await
            }
            TransferState::PayOutFailed => self.begin_refund(&transfer, "the pay-out failed").await,
            _ => {
                self.feed(id, Input::NothingDue).await;
            }
        }
    }
}
