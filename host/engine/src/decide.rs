//! Every decision about a transfer, in one pure function: [`decide`] takes
//! the stored transfer, one [`Input`] (a provider's event, or the result of
//! a step's I/O) and the time, and answers with a [`Decision`]: the transfer
//! after it, what that was ([`Effect`]) and a summary. No I/O, no clock, no
//! randomness. The effect modules do the I/O, feed its result here, and
//! persist the decision with the one store verb ([`TransferStore::update_async`]).
//!
//! Rules:
//! - States only move forward, so a duplicate, late or out-of-order input
//!   finds the transfer past it and changes nothing.
//! - An event that names another transfer's reference is ignored for this
//!   one: it is no fact about this transfer, so it neither moves nor holds it.
//! - An unsigned claim ([`Trust::Evidence`]) never makes the host give money
//!   back: a reported pay-out failure is confirmed with the provider (the
//!   transfer goes to `pay-out-unknown`, due now, and a status query follows)
//!   before any refund.
//! - Facts that contradict each other hold the transfer with both recorded:
//!   a success after the refund began, a failure after the success, two
//!   different receipts for one pay-out. Nothing more is paid until an
//!   operator looks.
//! - The pay-out request is decided once: `requested_at_ms` is set before it
//!   is sent and cleared only by the provider's retryable refusal of that very
//!   request (it certainly did not act), so the same request may go again.
//!
//! [`TransferStore::update_async`]: super::store::TransferStore::update_async

mod events;
mod operator;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod refund_tests;
mod refunds;
/// The table tests' transfers, for other modules' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::tests::transfer_in;
}
mod steps;
#[cfg(test)]
mod tests;

use super::model::{Refund, Transfer, TransferState};
use crate::wit::{Event, Failure, PayOutReceipt, RefundReceipt};

pub use self::operator::{PayOutFinding, retry_target};
pub use self::steps::{Budget, Retry, backoff};

/// How far the host believes an event, decided by where it came from, never
/// by what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The provider's own word: a reply to the host's own request or query
    /// (synchronously, or on a query's own callback route), or a notification
    /// the connector verified (signature and a call back to the provider).
    Answer,
    /// An unsigned callback on a route the provider was given. A success that
    /// matches every stored value is taken; a failure, or anything in doubt,
    /// is confirmed by a query first.
    Evidence,
}

/// What came of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing changed: a duplicate, a late or foreign event.
    Unchanged,
    /// The transfer changed (state, schedule or facts).
    Changed,
    /// The transfer is now held for an operator.
    Held,
}

/// An event's effect and a one-line summary for the callback log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What it did.
    pub effect: Effect,
    /// What happened, for people.
    pub summary: String,
}

impl Outcome {
    fn unchanged(summary: impl Into<String>) -> Outcome {
        Outcome {
            effect: Effect::Unchanged,
            summary: summary.into(),
        }
    }

    fn changed(summary: impl Into<String>) -> Outcome {
        Outcome {
            effect: Effect::Changed,
            summary: summary.into(),
        }
    }
}

/// The one refund of a transfer's pay-in: its reference is the one the
/// connector planned, so every retry sends the same one.
pub fn refund_of(transfer: &Transfer, reason: String) -> Refund {
    Refund {
        reference: if transfer.refund_reference.is_empty() {
            // Stored before connectors planned references: as the host derived it then.
            format!("{}-R1", transfer.pay_in.reference)
        } else {
            transfer.refund_reference.clone()
        },
        reason,
        ..Refund::default()
    }
}

/// Everything that can move a transfer.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A provider's event, believed as far as where it came from allows.
    Event {
        /// What the provider says.
        event: Event,
        /// How far it is believed.
        trust: Trust,
    },
    /// The provider issued the payment instruction.
    PayInStarted {
        /// The URL the payer opens.
        payment_url: Option<String>,
        /// The provider's reference, if it gave one now.
        provider_reference: Option<String>,
        /// What the payer does, checked against the transfer.
        action: Option<crate::model::PayerAction>,
        /// Provider fields for people.
        details: Vec<(String, String)>,
    },
    /// The provider refused to start the pay-in, for good.
    PayInRefused(Failure),
    /// Asked after the pay-in: not paid (awaiting payment, or no record).
    PayInUnpaid,
    /// A step failed in a way that may pass; `step` is the state it ran in.
    StepFailed {
        /// The state the step ran in: a transfer that moved on meanwhile is left alone.
        step: TransferState,
        /// Why.
        reason: String,
        /// How often and how soon to try again.
        retry: Retry,
    },
    /// The ledger registered the paid-in transfer.
    LedgerRegistered {
        /// The ledger's id for it.
        ledger_id: String,
    },
    /// The ledger confirmed the registration.
    LedgerConfirmed,
    /// The pay-out request is about to be sent (the intent, persisted first).
    PayOutRequesting {
        /// How long to wait for its result before querying.
        result_wait_ms: u64,
    },
    /// The provider accepted the pay-out request.
    PayOutAccepted {
        /// The provider's id for it.
        provider_reference: String,
        /// Provider fields for people.
        details: Vec<(String, String)>,
    },
    /// The provider refused the pay-out request and certainly did not act.
    PayOutNotSent {
        /// The refusal.
        failure: Failure,
        /// How often and how soon to send it again.
        retry: Retry,
    },
    /// The pay-out request may or may not have reached the provider.
    PayOutInDoubt {
        /// Why.
        reason: String,
        /// When to query first.
        query_at_ms: u64,
    },
    /// A status query is due: count it, or hold once the budget is spent.
    PayOutQueryDue(Budget),
    /// The provider has no record of the pay-out; believed only after `grace_ms`.
    PayOutNotFound {
        /// How long after the request "no record" is believed.
        grace_ms: u64,
    },
    /// The refund begins (the pay-out failed).
    RefundBegun {
        /// Why.
        reason: String,
    },
    /// The refund request is about to be sent (the intent, persisted first).
    RefundRequesting {
        /// How long to wait for an asynchronous result before querying.
        result_wait_ms: u64,
    },
    /// The provider accepted the refund for processing; the result comes later.
    RefundAccepted {
        /// The provider's id for it.
        provider_reference: String,
        /// Provider fields for people.
        details: Vec<(String, String)>,
    },
    /// The provider refused the refund request and certainly did not act.
    RefundNotSent {
        /// The refusal.
        failure: Failure,
        /// How often and how soon to send it again.
        retry: Retry,
    },
    /// A refund status query is due: count it, or hold once the budget is spent.
    RefundQueryDue(Budget),
    /// The provider has no record of the refund; believed only after `grace_ms`.
    RefundNotFound {
        /// How long after the request "no record" is believed.
        grace_ms: u64,
    },
    /// The provider returned the pay-in.
    Refunded(RefundReceipt),
    /// The provider refused the refund, for good.
    RefundRefused(Failure),
    /// The ledger recorded the reversal.
    LedgerReversed {
        /// The ledger's id for the reversal.
        ledger_id: String,
    },
    /// The refund is done: at the provider and in the ledger.
    RefundFinished,
    /// The scheduler found nothing to do in this state.
    NothingDue,
    /// An operator sends a held transfer back to the step it was held in
    /// ([`retry_target`]), due now.
    OperatorRetry,
    /// An operator marks a held transfer paid out, with the receipt the
    /// host's own `query-pay-out` returned for it.
    OperatorPaidOut(PayOutReceipt),
    /// An operator starts the refund of a held transfer, with what the
    /// host's own `query-pay-out` found about the pay-out.
    OperatorRefund {
        /// Why, for the refund and the trail.
        reason: String,
        /// Where the pay-out stands, by the provider's answer.
        pay_out: PayOutFinding,
    },
}

/// What an input did to a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The transfer after the input (the same as before when unchanged).
    pub transfer: Transfer,
    /// What it did.
    pub effect: Effect,
    /// What happened, for people.
    pub summary: String,
    /// Where the input came from (`callback pay-out`, `query-pay-out`), for the trail.
    pub source: Option<String>,
}

impl Decision {
    /// The same decision, noting where its input came from.
    pub fn from_source(self, source: Option<String>) -> Decision {
        Decision { source, ..self }
    }

    /// The note for the trail of state changes.
    pub fn note(&self) -> String {
        match &self.source {
            Some(source) => format!("{} ({source})", self.summary),
            None => self.summary.clone(),
        }
    }
}

/// What `input` does to `transfer` at `now_ms`.
pub fn decide(transfer: &Transfer, input: Input, now_ms: u64) -> Decision {
    let mut next = transfer.clone();
    let outcome = match input {
        Input::Event { event, trust } => events::event(&mut next, &event, trust, now_ms),
        Input::OperatorRetry => operator::retry(&mut next, now_ms),
        Input::OperatorPaidOut(receipt) => operator::paid_out(&mut next, &receipt),
        Input::OperatorRefund { reason, pay_out } => {
            operator::refund(&mut next, reason, &pay_out, now_ms)
        }
        step => steps::step(&mut next, step, now_ms),
    };
    if outcome.effect == Effect::Unchanged {
        next = transfer.clone();
    }
    Decision {
        transfer: next,
        effect: outcome.effect,
        summary: outcome.summary,
        source: None,
    }
}
