//! A state with the facts it implies.

use super::{Refund, TransferState};

/// Where a transfer stands, with the facts its state implies: a transfer
/// registered with the ledger has the ledger's id, a refunding one has its
/// refund. Stored flat ([`TransferWire`](super::TransferWire)), as a state name beside optional fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// See [`TransferState::Created`].
    Created,
    /// See [`TransferState::AwaitingPayIn`].
    AwaitingPayIn,
    /// See [`TransferState::PaidIn`].
    PaidIn,
    /// See [`TransferState::LedgerRegistered`].
    LedgerRegistered {
        /// The ledger's id for the registration.
        ledger_id: String,
    },
    /// See [`TransferState::LedgerConfirmed`].
    LedgerConfirmed {
        /// The ledger's id for the registration.
        ledger_id: String,
    },
    /// See [`TransferState::PayingOut`].
    PayingOut {
        /// The ledger's id for the registration.
        ledger_id: String,
    },
    /// See [`TransferState::PayOutUnknown`].
    PayOutUnknown {
        /// The ledger's id for the registration.
        ledger_id: String,
    },
    /// See [`TransferState::Completed`].
    Completed {
        /// The ledger's id for the registration.
        ledger_id: String,
    },
    /// See [`TransferState::Expired`].
    Expired,
    /// See [`TransferState::PayInFailed`].
    PayInFailed,
    /// See [`TransferState::PayOutFailed`].
    PayOutFailed {
        /// The ledger's id for the registration.
        ledger_id: String,
    },
    /// See [`TransferState::Refunding`].
    Refunding {
        /// The ledger's id, when the pay-in got that far (not for a late payment).
        ledger_id: Option<String>,
        /// The refund under way.
        refund: Refund,
    },
    /// See [`TransferState::Refunded`].
    Refunded {
        /// The ledger's id, when the pay-in got that far.
        ledger_id: Option<String>,
        /// The refund made.
        refund: Refund,
    },
    /// See [`TransferState::Held`]: whatever facts it had when it stopped.
    Held {
        /// The ledger's id, if it was registered.
        ledger_id: Option<String>,
        /// The refund, if one began.
        refund: Option<Refund>,
        /// The state it was held from, so an operator's retry can send it
        /// back there; `None` in transfers held before this was recorded.
        from: Option<TransferState>,
    },
}

impl Stage {
    /// The state, without its facts.
    pub fn state(&self) -> TransferState {
        use TransferState as S;
        match self {
            Stage::Created => S::Created,
            Stage::AwaitingPayIn => S::AwaitingPayIn,
            Stage::PaidIn => S::PaidIn,
            Stage::LedgerRegistered { .. } => S::LedgerRegistered,
            Stage::LedgerConfirmed { .. } => S::LedgerConfirmed,
            Stage::PayingOut { .. } => S::PayingOut,
            Stage::PayOutUnknown { .. } => S::PayOutUnknown,
            Stage::Completed { .. } => S::Completed,
            Stage::Expired => S::Expired,
            Stage::PayInFailed => S::PayInFailed,
            Stage::PayOutFailed { .. } => S::PayOutFailed,
            Stage::Refunding { .. } => S::Refunding,
            Stage::Refunded { .. } => S::Refunded,
            Stage::Held { .. } => S::Held,
        }
    }

    /// The ledger's id for the registration, once there is one.
    pub fn ledger_id(&self) -> Option<&str> {
        match self {
            Stage::LedgerRegistered { ledger_id }
            | Stage::LedgerConfirmed { ledger_id }
            | Stage::PayingOut { ledger_id }
            | Stage::PayOutUnknown { ledger_id }
            | Stage::Completed { ledger_id }
            | Stage::PayOutFailed { ledger_id } => Some(ledger_id),
            Stage::Refunding { ledger_id, .. }
            | Stage::Refunded { ledger_id, .. }
            | Stage::Held { ledger_id, .. } => ledger_id.as_deref(),
            Stage::Created
            | Stage::AwaitingPayIn
            | Stage::PaidIn
            | Stage::Expired
            | Stage::PayInFailed => None,
        }
    }

    /// The state a held transfer was held from, when it was recorded.
    pub fn held_from(&self) -> Option<TransferState> {
        match self {
            Stage::Held { from, .. } => *from,
            _ => None,
        }
    }

    pub(super) fn set_held_from(&mut self, state: TransferState) {
        if let Stage::Held { from, .. } = self {
            *from = Some(state);
        }
    }

    /// The refund, once one began.
    pub fn refund(&self) -> Option<&Refund> {
        match self {
            Stage::Refunding { refund, .. } | Stage::Refunded { refund, .. } => Some(refund),
            Stage::Held { refund, .. } => refund.as_ref(),
            _ => None,
        }
    }

    pub(super) fn refund_mut(&mut self) -> Option<&mut Refund> {
        match self {
            Stage::Refunding { refund, .. } | Stage::Refunded { refund, .. } => Some(refund),
            Stage::Held { refund, .. } => refund.as_mut(),
            _ => None,
        }
    }

    /// `state` with the facts it needs, from those given; `None` when one is missing.
    pub fn with_facts(
        state: TransferState,
        ledger_id: Option<String>,
        refund: Option<Refund>,
    ) -> Option<Stage> {
        use TransferState as S;
        Some(match state {
            S::Created => Stage::Created,
            S::AwaitingPayIn => Stage::AwaitingPayIn,
            S::PaidIn => Stage::PaidIn,
            S::Expired => Stage::Expired,
            S::PayInFailed => Stage::PayInFailed,
            S::LedgerRegistered => Stage::LedgerRegistered {
                ledger_id: ledger_id?,
            },
            S::LedgerConfirmed => Stage::LedgerConfirmed {
                ledger_id: ledger_id?,
            },
            S::PayingOut => Stage::PayingOut {
                ledger_id: ledger_id?,
            },
            S::PayOutUnknown => Stage::PayOutUnknown {
                ledger_id: ledger_id?,
            },
            S::Completed => Stage::Completed {
                ledger_id: ledger_id?,
            },
            S::PayOutFailed => Stage::PayOutFailed {
                ledger_id: ledger_id?,
            },
            S::Refunding => Stage::Refunding {
                ledger_id,
                refund: refund?,
            },
            S::Refunded => Stage::Refunded {
                ledger_id,
                refund: refund?,
            },
            S::Held => Stage::Held {
                ledger_id,
                refund,
                from: None,
            },
        })
    }
}
