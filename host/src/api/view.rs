//! How a transfer looks to a client: the thesis's Pay In and Pay Out objects,
//! with their statuses, and the trail of state changes. The callback secret
//! is never shown.

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::engine::Engine;
use crate::engine::model::{
    FailureNote, LegStatus, Refund, Transfer, TransferEvent, TransferState,
};
use crate::wit::Money;

/// The Pay In object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayInView {
    /// Pay In id: the merchant reference (Alipay `out_trade_no`).
    pub out_trade_no: String,
    /// Alipay's `trade_no`, once paid.
    pub trade_no: Option<String>,
    /// What the payer pays (send + fee), in the send currency.
    pub amount: Money,
    /// What the payer is charged at the quoted pay-in rate.
    pub charged_estimate: Money,
    /// What the provider says the payer was charged, when it says.
    pub charged: Option<Money>,
    /// The URL the payer opens.
    pub payment_url: Option<String>,
    /// When the payer's window closes.
    pub expires_at_ms: u64,
    /// The ledger's id.
    pub ledger_id: Option<String>,
    /// Incomplete, Pending, Complete, Failed or Refunded.
    pub status: LegStatus,
}

/// The Pay Out object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayOutView {
    /// Pay Out id: the one request's reference (M-PESA `OriginatorConversationID`).
    pub originator_conversation_id: String,
    /// M-PESA's `ConversationID`.
    pub conversation_id: Option<String>,
    /// When M-PESA acknowledged the request.
    pub accepted_at_ms: Option<u64>,
    /// M-PESA's receipt (`TransactionID`).
    pub receipt: Option<String>,
    /// The recipient.
    pub msisdn: String,
    /// What the recipient receives.
    pub amount: Money,
    /// M-PESA's charge, when reported.
    pub fee: Option<Money>,
    /// The ledger's id.
    pub ledger_id: Option<String>,
    /// Status queries sent.
    pub status_queries: u32,
    /// Incomplete, Pending, Complete or Failed.
    pub status: LegStatus,
}

/// A transfer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferView {
    /// `tr_…`.
    pub id: String,
    /// Where it stands.
    pub state: TransferState,
    /// The connector running it, and the component's hash.
    pub connector: String,
    /// The SHA-256 of the connector component.
    pub connector_sha256: String,
    /// The quote it was made from.
    pub quote_id: String,
    /// The amount sent.
    pub send: Money,
    /// The fee, in the send currency.
    pub fee: Money,
    /// Receive units per send unit.
    pub rate: String,
    /// Pay-in units per send unit.
    pub pay_in_rate: String,
    /// Where the rates came from.
    pub rate_source: String,
    /// The Pay In.
    pub pay_in: PayInView,
    /// The Pay Out.
    pub pay_out: PayOutView,
    /// The refund, if one was due.
    pub refund: Option<Refund>,
    /// Why it failed or was held.
    pub failure: Option<FailureNote>,
    /// Created.
    pub created_at_ms: u64,
    /// Last changed.
    pub updated_at_ms: u64,
    /// State changes, oldest first.
    pub events: Vec<TransferEvent>,
}

/// The view of `transfer`.
pub async fn transfer(engine: &Engine, transfer: Transfer) -> Result<TransferView, ApiError> {
    let (state, refund) = (transfer.state(), transfer.refund().cloned());
    let events = engine.events(&transfer.id).await?;
    Ok(TransferView {
        pay_in: PayInView {
            out_trade_no: transfer.pay_in.reference.clone(),
            trade_no: transfer.pay_in.provider_transaction_id.clone(),
            amount: transfer.pay_in.amount.clone(),
            charged_estimate: transfer.quote.pay_in.clone(),
            charged: transfer.pay_in.charged.clone(),
            payment_url: transfer.pay_in.payment_url.clone(),
            expires_at_ms: transfer.pay_in.expires_at_ms,
            ledger_id: transfer.ledger_id().map(str::to_string),
            status: transfer.state().pay_in_status(),
        },
        pay_out: PayOutView {
            originator_conversation_id: transfer.pay_out.reference.clone(),
            conversation_id: transfer.pay_out.provider_reference.clone(),
            accepted_at_ms: transfer.pay_out.accepted_at_ms,
            receipt: transfer.pay_out.provider_transaction_id.clone(),
            msisdn: transfer.recipient.clone(),
            amount: transfer.quote.receive.clone(),
            fee: transfer.pay_out.fee.clone(),
            ledger_id: transfer.ledger_id().map(str::to_string),
            status_queries: transfer.pay_out.queries,
            status: transfer.state().pay_out_status(),
        },
        id: transfer.id,
        state,
        connector: transfer.connector,
        connector_sha256: transfer.connector_sha256,
        quote_id: transfer.quote.id,
        send: transfer.quote.send,
        fee: transfer.quote.fee,
        rate: transfer.quote.rate,
        pay_in_rate: transfer.quote.pay_in_rate,
        rate_source: transfer.quote.rate_source,
        refund,
        failure: transfer.failure,
        created_at_ms: transfer.created_at_ms,
        updated_at_ms: transfer.updated_at_ms,
        events,
    })
}
