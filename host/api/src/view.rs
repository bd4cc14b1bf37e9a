//! How a transfer looks to a client: the thesis's Pay In and Pay Out objects,
//! with their statuses, and the trail of state changes. The callback secret
//! is never shown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::engine::Engine;
use crate::engine::model::{
    FailureNote, LegStatus, PayerAction, Refund, Transfer, TransferEvent, TransferState,
};
use crate::engine::money::Money;

/// The Pay In object. Its fields are the same for every corridor; what a
/// provider calls them is in `details`, under the provider's own names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayInView {
    /// Pay In id: the pay-in's reference, as the connector planned it.
    pub reference: String,
    /// The provider's reference from the payment instruction, if it gave one.
    pub provider_reference: Option<String>,
    /// The provider's transaction id, once paid.
    pub provider_transaction_id: Option<String>,
    /// What the payer pays (send + fee), in the send currency.
    pub amount: Money,
    /// What the payer is charged at the quoted pay-in rate.
    pub charged_estimate: Money,
    /// What the provider says the payer was charged, when it says.
    pub charged: Option<Money>,
    /// The URL the payer opens.
    pub payment_url: Option<String>,
    /// What the payer does instead, on a rail without a page: approve a
    /// prompt on the phone, or pay an account by hand quoting a reference.
    #[serde(default)]
    pub action: Option<PayerAction>,
    /// The payer's account on the pay-in rail, when the client named one.
    #[serde(default)]
    pub payer: Option<String>,
    /// When the payer's window closes.
    pub expires_at_ms: u64,
    /// The ledger's id.
    pub ledger_id: Option<String>,
    /// Incomplete, Pending, Complete, Failed or Refunded.
    pub status: LegStatus,
    /// Provider fields for people, by the provider's own names.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
}

/// The Pay Out object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PayOutView {
    /// Pay Out id: the one pay-out request's reference, as the connector planned it.
    pub reference: String,
    /// The provider's id for the request, once it accepted it.
    pub provider_reference: Option<String>,
    /// The provider's transaction id (its receipt), once paid.
    pub receipt: Option<String>,
    /// The recipient's account, as the connector normalised it.
    pub recipient: String,
    /// When the provider acknowledged the request.
    pub accepted_at_ms: Option<u64>,
    /// What the recipient receives.
    pub amount: Money,
    /// The provider's charge, when reported.
    pub fee: Option<Money>,
    /// The ledger's id.
    pub ledger_id: Option<String>,
    /// Status queries sent.
    pub status_queries: u32,
    /// Incomplete, Pending, Complete or Failed.
    pub status: LegStatus,
    /// Provider fields for people, by the provider's names (`transaction_id`).
    #[serde(default)]
    pub details: BTreeMap<String, String>,
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
    /// The connector version it is pinned to (empty: from before versions).
    #[serde(default)]
    pub version: String,
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
            reference: transfer.pay_in.reference.clone(),
            provider_reference: transfer.pay_in.provider_reference.clone(),
            provider_transaction_id: transfer.pay_in.provider_transaction_id.clone(),
            amount: transfer.pay_in.amount.clone(),
            charged_estimate: transfer.quote.pay_in.clone(),
            charged: transfer.pay_in.charged.clone(),
            payment_url: transfer.pay_in.payment_url.clone(),
            action: transfer.pay_in.action.clone(),
            payer: transfer.pay_in.payer.clone(),
            expires_at_ms: transfer.pay_in.expires_at_ms,
            ledger_id: transfer.ledger_id().map(str::to_string),
            status: transfer.state().pay_in_status(),
            details: transfer.pay_in.details.clone(),
        },
        pay_out: PayOutView {
            reference: transfer.pay_out.reference.clone(),
            provider_reference: transfer.pay_out.provider_reference.clone(),
            receipt: transfer.pay_out.provider_transaction_id.clone(),
            recipient: transfer.recipient.clone(),
            accepted_at_ms: transfer.pay_out.accepted_at_ms,
            amount: transfer.quote.receive.clone(),
            fee: transfer.pay_out.fee.clone(),
            ledger_id: transfer.ledger_id().map(str::to_string),
            status_queries: transfer.pay_out.queries,
            status: transfer.state().pay_out_status(),
            details: transfer.pay_out.details.clone(),
        },
        id: transfer.id,
        state,
        connector: transfer.connector,
        connector_sha256: transfer.connector_sha256,
        version: transfer.version,
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
