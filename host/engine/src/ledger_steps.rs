//! The ledger steps: register the paid-in transfer, then check the registration.

use super::*;

impl Engine {
    pub(super) async fn register_with_ledger(&self, transfer: &Transfer) {
        let facts = json!({
            "transfer_id": transfer.id,
            "connector": transfer.connector,
            "pay_in_reference": transfer.pay_in.reference,
            "pay_in_transaction_id": transfer.pay_in.provider_transaction_id,
            "pay_out_reference": transfer.pay_out.reference,
            "send": transfer.quote.send,
            "receive": transfer.quote.receive,
            "recipient": transfer.recipient,
            "rate": transfer.quote.rate,
        });
        match self.ledger.register(&transfer.id, facts).await {
            Ok(record) => {
                let ledger_id = record.ledger_id;
                self.feed(&transfer.id, Input::LedgerRegistered { ledger_id })
                    .await;
            }
            Err(error) => {
                self.retry_later(&transfer.id, TransferState::PaidIn, error.to_string())
                    .await
            }
        }
    }

    pub(super) async fn check_with_ledger(&self, transfer: &Transfer, ledger_id: &str) {
        match self.ledger.is_confirmed(ledger_id).await {
            Ok(true) => {
                self.feed(&transfer.id, Input::LedgerConfirmed).await;
            }
            Ok(false) => {
                self.retry_later(
                    &transfer.id,
                    TransferState::LedgerRegistered,
                    "not confirmed yet".into(),
                )
                .await
            }
            Err(error) => {
                self.retry_later(
                    &transfer.id,
                    TransferState::LedgerRegistered,
                    error.to_string(),
                )
                .await
            }
        }
    }
}
