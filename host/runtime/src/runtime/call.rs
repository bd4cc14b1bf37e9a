//! The calls a host makes into a connector, and what they return, as values:
//! the CLI's `invoke` reads and prints them as JSON.

use serde::{Deserialize, Serialize};

use super::bindings::corridor::connector::types::{
    CallbackOutcome, Descriptor, Failure, FailureKind, FxQuote, InboundRequest, OfferAnswer,
    OfferReading, PayInInstruction, PayInQuery, PayInRequest, PayInStatus, PayOutQuery,
    PayOutRequest, PayOutStarted, PayOutStatus, PlanRefusal, QuoteRequest, RefundQuery,
    RefundRequest, RefundStarted, RefundStatus, Reply, TransferDraft, TransferPlan,
};

/// One call of a connector export, with its input. Serialises as
/// `{"quote": {...}}`, or `"describe"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    /// `describe`.
    Describe,
    /// `quote`.
    Quote(QuoteRequest),
    /// `plan-transfer`.
    PlanTransfer(TransferDraft),
    /// `begin-pay-in`.
    BeginPayIn(PayInRequest),
    /// `handle-callback`.
    HandleCallback(InboundRequest),
    /// `begin-pay-out`.
    BeginPayOut(PayOutRequest),
    /// `query-pay-out`.
    QueryPayOut(PayOutQuery),
    /// `query-pay-in`.
    QueryPayIn(PayInQuery),
    /// `refund-pay-in`.
    RefundPayIn(RefundRequest),
    /// `query-refund`.
    QueryRefund(RefundQuery),
    /// `read-offer`.
    ReadOffer(InboundRequest),
    /// `answer-offer`.
    AnswerOffer(OfferAnswer),
}

impl Call {
    /// The export's WIT name.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Describe => "describe",
            Call::Quote(_) => "quote",
            Call::PlanTransfer(_) => "plan-transfer",
            Call::BeginPayIn(_) => "begin-pay-in",
            Call::HandleCallback(_) => "handle-callback",
            Call::BeginPayOut(_) => "begin-pay-out",
            Call::QueryPayOut(_) => "query-pay-out",
            Call::QueryPayIn(_) => "query-pay-in",
            Call::RefundPayIn(_) => "refund-pay-in",
            Call::QueryRefund(_) => "query-refund",
            Call::ReadOffer(_) => "read-offer",
            Call::AnswerOffer(_) => "answer-offer",
        }
    }
}

/// What an export returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallOutput {
    /// From `describe`.
    Describe(Descriptor),
    /// From `quote`.
    Quote(Result<FxQuote, Failure>),
    /// From `plan-transfer`.
    PlanTransfer(Result<TransferPlan, PlanRefusal>),
    /// From `begin-pay-in`.
    BeginPayIn(Result<PayInInstruction, Failure>),
    /// From `handle-callback`.
    HandleCallback(Result<CallbackOutcome, Failure>),
    /// From `begin-pay-out`.
    BeginPayOut(Result<PayOutStarted, Failure>),
    /// From `query-pay-out`.
    QueryPayOut(Result<PayOutStatus, Failure>),
    /// From `query-pay-in`.
    QueryPayIn(Result<PayInStatus, Failure>),
    /// From `refund-pay-in`.
    RefundPayIn(Result<RefundStarted, Failure>),
    /// From `query-refund`.
    QueryRefund(Result<RefundStatus, Failure>),
    /// From `read-offer`.
    ReadOffer(Result<OfferReading, Failure>),
    /// From `answer-offer`.
    AnswerOffer(Result<Reply, Failure>),
}

impl CallOutput {
    /// The failure the connector answered with, if it did (a plan's refusal
    /// of the recipient or payer is an answer, not a failure).
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            CallOutput::Describe(_) => None,
            CallOutput::Quote(result) => result.as_ref().err(),
            CallOutput::PlanTransfer(Err(PlanRefusal::Failed(failure))) => Some(failure),
            CallOutput::PlanTransfer(_) => None,
            CallOutput::BeginPayIn(result) => result.as_ref().err(),
            CallOutput::HandleCallback(result) => result.as_ref().err(),
            CallOutput::BeginPayOut(result) => result.as_ref().err(),
            CallOutput::QueryPayOut(result) => result.as_ref().err(),
            CallOutput::QueryPayIn(result) => result.as_ref().err(),
            CallOutput::RefundPayIn(result) => result.as_ref().err(),
            CallOutput::QueryRefund(result) => result.as_ref().err(),
            CallOutput::ReadOffer(result) => result.as_ref().err(),
            CallOutput::AnswerOffer(result) => result.as_ref().err(),
        }
    }

    /// The kind of the failure the connector answered with, if it did.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        self.failure().map(|failure| failure.kind)
    }
}

/// One export, typed: what it takes and what it answers. The host's own code
/// calls connectors through these (`connector.call::<exports::Quote>(request)`);
/// [`Call`] and [`CallOutput`] stay for the CLI's `invoke`, which takes any
/// export by name.
pub trait Export {
    /// The export's WIT name.
    const NAME: &'static str;
    /// The export's input record.
    type Input;
    /// What it answers when it does not fail.
    type Answer;
    /// The input as a dynamic call.
    fn call(input: Self::Input) -> Call;
    /// This export's answer out of an output; `None` if it is another's.
    fn answer(output: CallOutput) -> Option<Result<Self::Answer, Failure>>;
}

/// What `plan-transfer` answers when it does not fail: a plan, or the
/// connector's refusal of the recipient, which is the client's to fix rather
/// than a failure of the connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// The connector takes the transfer on these terms.
    Plan(TransferPlan),
    /// The recipient is not one the corridor can pay; the message is for the client.
    InvalidRecipient(String),
    /// The payer is missing or not one the corridor can collect from; the
    /// message is for the client.
    InvalidPayer(String),
}

/// `plan-transfer`, whose refusal is a variant: its `failed` case is the
/// export's failure, its `invalid-recipient` case an answer.
#[derive(Debug, Clone, Copy)]
pub struct PlanTransfer;

impl Export for PlanTransfer {
    const NAME: &'static str = "plan-transfer";
    type Input = TransferDraft;
    type Answer = Planned;
    fn call(input: TransferDraft) -> Call {
        Call::PlanTransfer(input)
    }
    fn answer(output: CallOutput) -> Option<Result<Planned, Failure>> {
        match output {
            CallOutput::PlanTransfer(Ok(plan)) => Some(Ok(Planned::Plan(plan))),
            CallOutput::PlanTransfer(Err(PlanRefusal::InvalidRecipient(message))) => {
                Some(Ok(Planned::InvalidRecipient(message)))
            }
            CallOutput::PlanTransfer(Err(PlanRefusal::InvalidPayer(message))) => {
                Some(Ok(Planned::InvalidPayer(message)))
            }
            CallOutput::PlanTransfer(Err(PlanRefusal::Failed(failure))) => Some(Err(failure)),
            _ => None,
        }
    }
}

/// The exports that answer `result<_, failure>`, one marker type each.
pub mod exports {
    use super::*;

    pub use super::PlanTransfer;

    macro_rules! export {
        ($(#[$doc:meta])* $name:ident = $wit:literal: $input:ty => $answer:ty) => {
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;

            impl Export for $name {
                const NAME: &'static str = $wit;
                type Input = $input;
                type Answer = $answer;
                fn call(input: $input) -> Call {
                    Call::$name(input)
                }
                fn answer(output: CallOutput) -> Option<Result<$answer, Failure>> {
                    match output {
                        CallOutput::$name(answer) => Some(answer),
                        _ => None,
                    }
                }
            }
        };
    }

    export!(
        /// `quote`.
        Quote = "quote": QuoteRequest => FxQuote
    );
    export!(
        /// `begin-pay-in`.
        BeginPayIn = "begin-pay-in": PayInRequest => PayInInstruction
    );
    export!(
        /// `handle-callback`.
        HandleCallback = "handle-callback": InboundRequest => CallbackOutcome
    );
    export!(
        /// `begin-pay-out`.
        BeginPayOut = "begin-pay-out": PayOutRequest => PayOutStarted
    );
    export!(
        /// `query-pay-out`.
        QueryPayOut = "query-pay-out": PayOutQuery => PayOutStatus
    );
    export!(
        /// `query-pay-in`.
        QueryPayIn = "query-pay-in": PayInQuery => PayInStatus
    );
    export!(
        /// `refund-pay-in`.
        RefundPayIn = "refund-pay-in": RefundRequest => RefundStarted
    );
    export!(
        /// `query-refund`.
        QueryRefund = "query-refund": RefundQuery => RefundStatus
    );
    export!(
        /// `read-offer`.
        ReadOffer = "read-offer": InboundRequest => OfferReading
    );
    export!(
        /// `answer-offer`.
        AnswerOffer = "answer-offer": OfferAnswer => Reply
    );
}
