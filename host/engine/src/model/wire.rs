//! A transfer as stored and as it always was: flat, a state name beside
//! optional facts. [`Transfer`] reads and writes itself through this, so the
//! stored JSON and the `state` column keep their format while the states
//! carry their facts in memory.

use serde::{Deserialize, Serialize};

use super::{FailureNote, PayIn, PayOut, Refund, Stage, StoredQuote, Transfer, TransferState};

/// The stored shape of a [`Transfer`]; see its fields there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct TransferWire {
    pub id: String,
    pub connector: String,
    pub connector_sha256: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub version: String,
    pub state: TransferState,
    pub recipient: String,
    pub quote: StoredQuote,
    pub pay_in: PayIn,
    pub ledger_id: Option<String>,
    pub pay_out: PayOut,
    pub refund: Option<Refund>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_from: Option<TransferState>,
    #[serde(default)]
    pub refund_reference: String,
    pub failure: Option<FailureNote>,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub callback_token: String,
    pub due_at_ms: Option<u64>,
    pub attempts: u32,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
}

/// A stored transfer whose state lacks a fact it implies.
#[derive(Debug, thiserror::Error)]
#[error("transfer {id} is {state} without its {missing}")]
pub struct MissingFact {
    id: String,
    state: TransferState,
    missing: &'static str,
}

impl TryFrom<TransferWire> for Transfer {
    type Error = MissingFact;

    fn try_from(wire: TransferWire) -> Result<Transfer, MissingFact> {
        let missing = match wire.state {
            TransferState::Refunding | TransferState::Refunded => "refund",
            _ => "ledger id",
        };
        let Some(mut stage) = Stage::with_facts(wire.state, wire.ledger_id, wire.refund) else {
            return Err(MissingFact {
                id: wire.id,
                state: wire.state,
                missing,
            });
        };
        if let Some(from) = wire.held_from {
            stage.set_held_from(from);
        }
        Ok(Transfer {
            id: wire.id,
            connector: wire.connector,
            connector_sha256: wire.connector_sha256,
            version: wire.version,
            stage,
            recipient: wire.recipient,
            quote: wire.quote,
            pay_in: wire.pay_in,
            pay_out: wire.pay_out,
            refund_reference: wire.refund_reference,
            failure: wire.failure,
            callback_token: wire.callback_token,
            due_at_ms: wire.due_at_ms,
            attempts: wire.attempts,
            created_at_ms: wire.created_at_ms,
            updated_at_ms: wire.updated_at_ms,
        })
    }
}

impl From<Transfer> for TransferWire {
    fn from(transfer: Transfer) -> TransferWire {
        TransferWire {
            state: transfer.state(),
            ledger_id: transfer.ledger_id().map(str::to_string),
            refund: transfer.refund().cloned(),
            held_from: transfer.stage.held_from(),
            id: transfer.id,
            connector: transfer.connector,
            connector_sha256: transfer.connector_sha256,
            version: transfer.version,
            recipient: transfer.recipient,
            quote: transfer.quote,
            pay_in: transfer.pay_in,
            pay_out: transfer.pay_out,
            refund_reference: transfer.refund_reference,
            failure: transfer.failure,
            callback_token: transfer.callback_token,
            due_at_ms: transfer.due_at_ms,
            attempts: transfer.attempts,
            created_at_ms: transfer.created_at_ms,
            updated_at_ms: transfer.updated_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::refund_of;

    fn stored(state: &str, ledger_id: Option<&str>) -> serde_json::Value {
        let money = serde_json::json!({ "amount_minor": 1000, "currency": "USD" });
        serde_json::json!({
            "id": "tr_1", "connector": "c", "connector_sha256": "sha", "state": state,
            "recipient": "254708374149",
            "quote": { "id": "q_1", "connector": "c", "send": money, "pay_in": money,
                       "receive": money, "fee": money, "rate": "1", "pay_in_rate": "1",
                       "expires_at_ms": 10, "rate_source": "fx", "created_at_ms": 0 },
            "pay_in": { "reference": "COR1", "amount": money, "payment_url": null,
                        "expires_at_ms": 10, "provider_transaction_id": null, "charged": null,
                        "provider_reference": null, "details": {} },
            "ledger_id": ledger_id,
            "pay_out": { "reference": "COR1-out", "requested_at_ms": 5, "provider_reference": null,
                         "accepted_at_ms": null, "provider_transaction_id": null, "fee": null,
                         "queries": 0, "details": {} },
            "refund": null, "refund_reference": "COR1-R1", "failure": null, "callback_token": "t", "due_at_ms": 7,
            "attempts": 0, "created_at_ms": 0, "updated_at_ms": 1
        })
    }

    #[test]
    fn a_stored_transfer_reads_into_its_stage_and_writes_back_the_same_json() {
        let json = stored("paying-out", Some("L1"));
        let transfer: Transfer = serde_json::from_value(json.clone()).expect("reads");
        assert_eq!(
            transfer.stage(),
            &Stage::PayingOut {
                ledger_id: "L1".into()
            }
        );
        assert_eq!(serde_json::to_value(&transfer).expect("writes"), json);
        let text = serde_json::to_string(&transfer).expect("writes");
        assert!(
            text.starts_with(
                r#"{"id":"tr_1","connector":"c","connector_sha256":"sha","state":"paying-out""#
            ),
            "fields in their stored order: {text}"
        );
    }

    #[test]
    fn a_refunding_transfer_keeps_its_refund_and_ledger_id_on_disk() {
        let mut json = stored("refunding", Some("L1"));
        assert!(
            serde_json::from_value::<Transfer>(json.clone()).is_err(),
            "refunding without its refund is refused"
        );
        let mut transfer: Transfer =
            serde_json::from_value(stored("pay-out-failed", Some("L1"))).expect("reads");
        let refund = refund_of(&transfer, "the pay-out failed".into());
        json["refund"] = serde_json::to_value(&refund).expect("refund");
        transfer.begin_refund(refund, Some(0));
        let read: Transfer = serde_json::from_value(json).expect("reads with its refund");
        assert_eq!(read.refund(), transfer.refund());
        assert_eq!(read.ledger_id(), Some("L1"));
    }

    #[test]
    fn a_stored_state_without_the_fact_it_implies_is_refused() {
        let error = serde_json::from_value::<Transfer>(stored("ledger-registered", None))
            .expect_err("no ledger id");
        assert!(
            error.to_string().contains("without its ledger id"),
            "{error}"
        );
    }
}
