//! A transfer and its states: the durable record the engine drives.
//!
//! ```text
//! created → awaiting-pay-in → paid-in → ledger-registered → ledger-confirmed → paying-out → completed
//!               ↘ expired / pay-in-failed                                    ↘ pay-out-unknown → (query) ↗
//!                                                                            ↘ pay-out-failed → refunding → refunded
//! ```
//!
//! `held` is where a transfer stops when a value did not match what was stored,
//! or retries ran out: nothing more is paid until an operator looks.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::money::Money;

mod stage;
mod wire;

pub use self::stage::Stage;
pub use self::wire::TransferWire;

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferState {
    /// Recorded; the pay-in has not been started at the provider yet.
    Created,
    /// The payer has the payment instruction; waiting for the payment.
    AwaitingPayIn,
    /// The payer paid (verified notification or query).
    PaidIn,
    /// Registered with the ledger.
    LedgerRegistered,
    /// The ledger confirmed the registration.
    LedgerConfirmed,
    /// The pay-out request is recorded and sent (or being sent); waiting for its result.
    PayingOut,
    /// The pay-out's fate is unknown; resolved by querying, never by resending.
    PayOutUnknown,
    /// The recipient was paid.
    Completed,
    /// The payer did not pay in time.
    Expired,
    /// The pay-in was closed unpaid.
    PayInFailed,
    /// The pay-out definitively failed: no money reached the recipient.
    PayOutFailed,
    /// Returning the pay-in to the payer.
    Refunding,
    /// The payer has their money back.
    Refunded,
    /// Stopped for an operator: a mismatch or exhausted retries.
    Held,
}

/// Every state's serde name, made once so [`TransferState::name`] can lend
/// them out for the life of the process.
static STATE_NAMES: LazyLock<Vec<(TransferState, String)>> = LazyLock::new(|| {
    TransferState::ALL
        .iter()
        .map(|&state| {
            let name =
                serde_plain::to_string(&state).expect("a unit variant serializes as its name");
            (state, name)
        })
        .collect()
});

impl TransferState {
    /// Every state, for listings.
    pub const ALL: [TransferState; 14] = [
        TransferState::Created,
        TransferState::AwaitingPayIn,
        TransferState::PaidIn,
        TransferState::LedgerRegistered,
        TransferState::LedgerConfirmed,
        TransferState::PayingOut,
        TransferState::PayOutUnknown,
        TransferState::Completed,
        TransferState::Expired,
        TransferState::PayInFailed,
        TransferState::PayOutFailed,
        TransferState::Refunding,
        TransferState::Refunded,
        TransferState::Held,
    ];

    /// The wire name, `awaiting-pay-in`: serde's, so the API, the stored
    /// JSON and the database's `state` columns cannot disagree.
    pub fn name(self) -> &'static str {
        STATE_NAMES
            .iter()
            .find(|(state, _)| *state == self)
            .map(|(_, name)| name.as_str())
            .expect("TransferState::ALL lists every state")
    }

    /// From the wire name.
    pub fn parse(text: &str) -> Option<TransferState> {
        serde_plain::from_str(text).ok()
    }

    /// Nothing more happens on its own. (A payment that arrives after a
    /// pay-in expired or failed still moves the transfer on, to a refund.)
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TransferState::Completed
                | TransferState::Expired
                | TransferState::PayInFailed
                | TransferState::Refunded
                | TransferState::Held
        )
    }

    /// The thesis's Pay In status (plus `Refunded`).
    pub fn pay_in_status(self) -> LegStatus {
        match self {
            TransferState::Created => LegStatus::Incomplete,
            TransferState::AwaitingPayIn => LegStatus::Pending,
            TransferState::Expired | TransferState::PayInFailed => LegStatus::Failed,
            TransferState::Refunded => LegStatus::Refunded,
            _ => LegStatus::Complete,
        }
    }

    /// The thesis's Pay Out status.
    pub fn pay_out_status(self) -> LegStatus {
        match self {
            TransferState::PayingOut | TransferState::PayOutUnknown => LegStatus::Pending,
            TransferState::Completed => LegStatus::Complete,
            TransferState::PayOutFailed | TransferState::Refunding | TransferState::Refunded => {
                LegStatus::Failed
            }
            TransferState::Expired | TransferState::PayInFailed => LegStatus::Failed,
            _ => LegStatus::Incomplete,
        }
    }
}

impl std::fmt::Display for TransferState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The thesis's status codes for a Pay In or Pay Out object (Table 4-2), and
/// `Refunded` for a pay-in returned to the payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegStatus {
    /// Not started (the initial value).
    Incomplete,
    /// Being processed.
    Pending,
    /// Done.
    Complete,
    /// Failed.
    Failed,
    /// Paid, then returned to the payer.
    Refunded,
}

/// Why a transfer failed or was held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureNote {
    /// A stable code: the provider's ("2040") or the host's ("mismatch").
    pub code: String,
    /// What happened.
    pub message: String,
}

/// A priced offer, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredQuote {
    /// `q_…`.
    pub id: String,
    /// The connector that priced it.
    pub connector: String,
    /// The amount to send.
    pub send: Money,
    /// What the payer is charged (estimate at the pay-in rate).
    pub pay_in: Money,
    /// What the recipient receives.
    pub receive: Money,
    /// The fee, in the send currency.
    pub fee: Money,
    /// Receive units per send unit, exact decimal text.
    pub rate: String,
    /// Pay-in units per send unit.
    pub pay_in_rate: String,
    /// When it lapses.
    pub expires_at_ms: u64,
    /// Where the rates came from.
    pub rate_source: String,
    /// When it was made.
    pub created_at_ms: u64,
}

/// The pay-in leg: the thesis's Pay In object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayIn {
    /// The pay-in's reference, as the connector planned it.
    pub reference: String,
    /// What the payer pays, in the send currency (send + fee).
    pub amount: Money,
    /// The payment URL the payer opens.
    pub payment_url: Option<String>,
    /// When the payer's window closes.
    pub expires_at_ms: u64,
    /// The provider's transaction id for the payment.
    pub provider_transaction_id: Option<String>,
    /// What the payer was charged, when the provider says.
    pub charged: Option<Money>,
    /// The provider's reference from the payment instruction, if it gave one.
    #[serde(default)]
    pub provider_reference: Option<String>,
    /// Provider fields for people (see [`super::details`]).
    #[serde(default)]
    pub details: super::details::Details,
    /// The payer's account on the pay-in rail, as the connector normalised
    /// it, when the client named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// What the payer does to pay, when it is not opening `payment_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<PayerAction>,
}

/// What the payer does to pay, as the connector's instruction said and the
/// host checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PayerAction {
    /// Approve the prompt the provider sent to the payer's phone.
    ApprovePrompt {
        /// Where the prompt went.
        payer: String,
        /// What to tell the payer.
        message: String,
    },
    /// Pay an account by hand, quoting a reference.
    PayToAccount {
        /// The account to pay.
        account: String,
        /// The reference to quote.
        reference: String,
        /// The exact amount; offers are checked against it.
        amount: Money,
        /// What to tell the payer.
        message: String,
    },
}

/// The pay-out leg: the thesis's Pay Out object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayOut {
    /// The one reference of the one pay-out request, as the connector planned it.
    pub reference: String,
    /// Set when the request is about to be sent: from then on it is never sent again.
    pub requested_at_ms: Option<u64>,
    /// The provider's id for the request, once it accepted it.
    pub provider_reference: Option<String>,
    /// When the provider acknowledged the request.
    pub accepted_at_ms: Option<u64>,
    /// The provider's transaction id for the payment: the receipt.
    pub provider_transaction_id: Option<String>,
    /// The provider's fee, when it reports one.
    pub fee: Option<Money>,
    /// Status queries sent so far.
    pub queries: u32,
    /// Provider fields for people (see [`super::details`]).
    #[serde(default)]
    pub details: super::details::Details,
}

/// The refund leg.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The refund's reference, as the connector planned it.
    pub reference: String,
    /// Why.
    pub reason: String,
    /// The provider confirmed it.
    pub refunded_at_ms: Option<u64>,
    /// The ledger's id for the reversal.
    pub ledger_reversal_id: Option<String>,
    /// Set when the refund request is about to be sent: from then on it is
    /// never sent again unless the provider says it has no record of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at_ms: Option<u64>,
    /// The provider's id for the refund, once it accepted it for processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// Status queries sent so far.
    #[serde(default)]
    pub queries: u32,
}

impl Refund {
    /// The request went out (or may have): its outcome is learnt by query
    /// or callback, never by sending it again.
    pub fn awaits_outcome(&self) -> bool {
        self.refunded_at_ms.is_none()
            && (self.requested_at_ms.is_some() || self.provider_reference.is_some())
    }
}

/// A transfer: the durable record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "wire::TransferWire", into = "wire::TransferWire")]
pub struct Transfer {
    /// `tr_…`.
    pub id: String,
    /// The connector that runs it.
    pub connector: String,
    /// The SHA-256 of the connector component that started it.
    pub connector_sha256: String,
    /// The connector version it is pinned to (see [`crate::versions`]):
    /// every step and callback of it runs on that version until an operator
    /// migrates it. Empty in transfers from before versions: they run on
    /// the connector's active version.
    pub version: String,
    /// Where it stands, with the facts that implies; moved only by
    /// [`Transfer::enter`], [`Transfer::register`] and [`Transfer::begin_refund`].
    pub(super) stage: Stage,
    /// The recipient's account, as the connector normalised it.
    pub recipient: String,
    /// The quote it was made from.
    pub quote: StoredQuote,
    /// The pay-in leg.
    pub pay_in: PayIn,
    /// The pay-out leg.
    pub pay_out: PayOut,
    /// The refund's reference, planned with the others; empty in transfers
    /// stored before connectors planned them (see [`super::decide::refund_of`]).
    pub refund_reference: String,
    /// Why it failed or was held.
    pub failure: Option<FailureNote>,
    /// The secret in its callback URLs.
    pub callback_token: String,
    /// When the engine acts on it next; `None` when it waits for nothing.
    pub due_at_ms: Option<u64>,
    /// Tries of the current step.
    pub attempts: u32,
    /// Created.
    pub created_at_ms: u64,
    /// Last changed.
    pub updated_at_ms: u64,
}

impl Transfer {
    /// Where it stands.
    pub fn state(&self) -> TransferState {
        self.stage.state()
    }

    /// Where it stands, with its facts.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// The ledger's id for the registration, once registered.
    pub fn ledger_id(&self) -> Option<&str> {
        self.stage.ledger_id()
    }

    /// The refund, once one began.
    pub fn refund(&self) -> Option<&Refund> {
        self.stage.refund()
    }

    /// The refund, to record its progress.
    pub fn refund_mut(&mut self) -> Option<&mut Refund> {
        self.stage.refund_mut()
    }

    /// Moves to `state`, keeping the facts it has, and resets the step's
    /// attempts. Asserts that the move is one the state machine has, and
    /// that it needs no new fact (see [`Transfer::register`], [`Transfer::begin_refund`]).
    pub fn enter(&mut self, state: TransferState, due_at_ms: Option<u64>) {
        let (ledger_id, refund) = (self.ledger_id().map(str::to_string), self.refund().cloned());
        self.move_to(state, ledger_id, refund, due_at_ms);
    }

    /// Registered with the ledger as `ledger_id`.
    pub fn register(&mut self, ledger_id: String, due_at_ms: Option<u64>) {
        self.move_to(
            TransferState::LedgerRegistered,
            Some(ledger_id),
            None,
            due_at_ms,
        );
    }

    /// Begins `refund` of the pay-in.
    pub fn begin_refund(&mut self, refund: Refund, due_at_ms: Option<u64>) {
        let ledger_id = self.ledger_id().map(str::to_string);
        self.move_to(TransferState::Refunding, ledger_id, Some(refund), due_at_ms);
    }

    fn move_to(
        &mut self,
        state: TransferState,
        ledger_id: Option<String>,
        refund: Option<Refund>,
        due_at_ms: Option<u64>,
    ) {
        let from = self.state();
        assert!(
            allowed(from, state),
            "transfer {}: {from} → {state} is not a transition",
            self.id,
        );
        self.stage = Stage::with_facts(state, ledger_id, refund)
            .unwrap_or_else(|| panic!("transfer {}: {from} → {state} lacks a fact", self.id));
        self.attempts = 0;
        self.due_at_ms = if state.is_terminal() { None } else { due_at_ms };
    }

    /// Stops for an operator, remembering where it stood.
    pub fn hold(&mut self, code: &str, message: String) {
        let from = self.state();
        self.failure = Some(FailureNote {
            code: code.to_string(),
            message,
        });
        self.enter(TransferState::Held, None);
        self.stage.set_held_from(from);
    }

    /// The state it was held from, when recorded.
    pub fn held_from(&self) -> Option<TransferState> {
        self.stage.held_from()
    }

    /// An operator lets a held transfer go on in `state` (with `refund`, or
    /// the one it had). Only an operator's action, through
    /// [`crate::decide::decide`], calls this: it is the one way out of `held`,
    /// outside the state machine's own transitions ([`allowed`]).
    pub fn release(
        &mut self,
        state: TransferState,
        refund: Option<Refund>,
        due_at_ms: Option<u64>,
    ) {
        assert_eq!(
            self.state(),
            TransferState::Held,
            "only a held transfer is released"
        );
        assert!(
            state != TransferState::Held
                && (!state.is_terminal() || state == TransferState::Completed),
            "transfer {}: released to {state}",
            self.id
        );
        let ledger_id = self.ledger_id().map(str::to_string);
        let refund = refund.or_else(|| self.refund().cloned());
        self.stage = Stage::with_facts(state, ledger_id, refund)
            .unwrap_or_else(|| panic!("transfer {}: released to {state} without a fact", self.id));
        self.attempts = 0;
        self.failure = None;
        self.due_at_ms = if state.is_terminal() { None } else { due_at_ms };
    }
}

/// The transitions of the state machine. Terminal states have none; nothing moves backwards.
pub fn allowed(from: TransferState, to: TransferState) -> bool {
    use TransferState::*;
    if to == Held {
        // A finished transfer is held only when the provider contradicts how
        // it finished (paid after the refund, failed after the success).
        return !from.is_terminal() || matches!(from, Completed | Refunded);
    }
    matches!(
        (from, to),
        (Created, AwaitingPayIn | PaidIn | Expired | PayInFailed)
            | (AwaitingPayIn, PaidIn | Expired | PayInFailed)
            | (PaidIn, LedgerRegistered)
            | (LedgerRegistered, LedgerConfirmed)
            | (LedgerConfirmed, PayingOut)
            | (PayingOut, PayOutUnknown | Completed | PayOutFailed)
            | (PayOutUnknown, Completed | PayOutFailed)
            | (PayOutFailed, Refunding)
            | (Expired | PayInFailed, Refunding)
            | (Refunding, Refunded)
    )
}

/// A state change, for the audit trail and the timing table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferEvent {
    /// The state entered.
    pub state: TransferState,
    /// When.
    pub at_ms: u64,
    /// What caused it.
    pub detail: String,
    /// The connector version the transfer was pinned to when the step ran:
    /// the version that ran it. Empty in entries from before versions.
    #[serde(default)]
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_way_out_but_a_late_payments_refund() {
        for from in TransferState::ALL {
            for to in TransferState::ALL {
                let late_payment_refund =
                    matches!(from, TransferState::Expired | TransferState::PayInFailed)
                        && to == TransferState::Refunding;
                let contradiction =
                    matches!(from, TransferState::Completed | TransferState::Refunded)
                        && to == TransferState::Held;
                if from.is_terminal() && !late_payment_refund && !contradiction {
                    assert!(!allowed(from, to), "{from} → {to}");
                }
            }
        }
        assert!(!allowed(
            TransferState::PayingOut,
            TransferState::LedgerConfirmed
        ));
        assert!(!allowed(TransferState::Completed, TransferState::Refunding));
        assert!(
            allowed(TransferState::Expired, TransferState::Refunding),
            "a late payment is returned"
        );
        for state in TransferState::ALL {
            assert_eq!(TransferState::parse(state.name()), Some(state));
        }
    }

    #[test]
    fn a_states_name_is_its_serde_name_and_its_display() {
        for state in TransferState::ALL {
            assert_eq!(
                serde_json::to_value(state).expect("serializes"),
                serde_json::Value::from(state.name()),
                "the name is the one the API and the stored JSON carry"
            );
            assert_eq!(state.to_string(), state.name());
        }
        assert_eq!(TransferState::AwaitingPayIn.name(), "awaiting-pay-in");
        assert_eq!(TransferState::parse("AwaitingPayIn"), None);
        assert_eq!(TransferState::parse(""), None);
    }
}
