//! New work from clients: quotes and transfers, with their idempotency keys.

use super::*;
use crate::money::{Currency, Money};

/// What a client asks a price for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteAsk {
    /// The amount to send.
    pub send: Money,
    /// The currency the recipient receives.
    pub receive_currency: Currency,
}
use crate::runtime::Planned;
use crate::wit::{TransferDraft, TransferPlan};

impl Engine {
    /// Prices a transfer, checks the price, and stores the quote. Under an
    /// `Idempotency-Key` (`(key, request_sha256)`) the same request answers
    /// with the quote the key made, even after it lapsed, and the connector is
    /// not asked again; another request under that key is a conflict. Returns
    /// the quote and whether it is new.
    pub async fn quote(
        &self,
        connector_id: &str,
        ask: QuoteAsk,
        idempotency: Option<(String, String)>,
    ) -> Result<(StoredQuote, bool), EngineError> {
        let request = QuoteRequest {
            send: ask.send.to_wit(),
            receive_currency: ask.receive_currency.to_string(),
        };
        let replay = |(earlier, earlier_sha): (StoredQuote, String)| match &idempotency {
            Some((_, sha)) if *sha == earlier_sha => Ok((earlier, false)),
            _ => Err(EngineError::IdempotencyConflict(
                idempotency.clone().map(|(key, _)| key).unwrap_or_default(),
            )),
        };
        if let Some((key, _)) = &idempotency {
            let lookup = key.clone();
            let found = self.store.quote_by_idempotency_key(&lookup)?;
            if let Some(earlier) = found {
                return replay(earlier);
            }
        }
        let version = self
            .registry
            .active(connector_id)
            .ok_or_else(|| EngineError::UnknownConnector(connector_id.to_string()))?;
        let descriptor = version.connector.descriptor();
        admissible(connector_id, descriptor, &request)?;
        let quote = match self
            .ask_on::<exports::Quote>(&version, request.clone())
            .await
        {
            Ok(quote) => quote,
            Err(NoAnswer::Refused(failure)) => return Err(EngineError::Provider(failure)),
            Err(NoAnswer::Broken(error)) => return Err(EngineError::Invoke(error)),
        };
        let now_ms = self.now_ms();
        checks::quote(&request, &quote, descriptor, now_ms).map_err(EngineError::Untrusted)?;
        let stored = StoredQuote {
            id: format!("q_{}", random_hex(12)),
            connector: connector_id.to_string(),
            send: held(&quote.send)?,
            pay_in: held(&quote.pay_in)?,
            receive: held(&quote.receive)?,
            fee: held(&quote.fee)?,
            rate: checks::decimal_text(&quote.rate),
            pay_in_rate: checks::decimal_text(&quote.pay_in_rate),
            expires_at_ms: quote.expires_at_ms,
            rate_source: quote.rate_source,
            created_at_ms: now_ms,
        };
        let record = stored.clone();
        let key = idempotency.clone();
        let key = key.as_ref().map(|(key, sha)| (key.as_str(), sha.as_str()));
        let insertion = self.store.insert_quote_async(&record, key).await?;
        match insertion {
            self::store::QuoteInsertion::Inserted => Ok((stored, true)),
            // Another request with the same key won the race.
            self::store::QuoteInsertion::Existing {
                quote,
                request_sha256,
            } => replay((*quote, request_sha256)),
        }
    }

    /// Creates a transfer from a quote (once per quote, once per idempotency
    /// key) and starts its pay-in. Returns the transfer and whether it is new.
    pub async fn create_transfer(
        &self,
        request: NewTransfer,
    ) -> Result<(Transfer, bool), EngineError> {
        // A replay is answered with the transfer it made, even after its quote lapsed.
        if let Some((key, sha)) = &request.idempotency
            && let Some(earlier) = self.replay(key, sha).await?
        {
            return Ok((earlier, false));
        }
        let now_ms = self.now_ms();
        let quote = self.live_quote(&request.quote_id, now_ms).await?;
        let id = format!("tr_{}", random_hex(12));
        // Pinned here, for every step to come: the canary's share or the active version.
        let version = self.version_for_new(&quote.connector, &id)?;
        let plan = self.plan(&version, &quote, &id, &request).await?;
        let transfer = new_transfer(
            &quote,
            id.clone(),
            plan,
            (&version.row.component_sha256, &version.row.id),
            now_ms,
        );
        let event = TransferEvent {
            state: TransferState::Created,
            at_ms: now_ms,
            detail: format!("from quote {}", quote.id),
            version: version.row.id.clone(),
        };
        let key = request
            .idempotency
            .as_ref()
            .map(|(key, sha)| (key.as_str(), sha.as_str()));
        let creation = self.store.create_async(&transfer, key, &event).await?;
        self.created(creation, &request, &quote.id).await
    }

    /// The quote `id`, if it has not lapsed by `now_ms`.
    async fn live_quote(&self, id: &str, now_ms: u64) -> Result<StoredQuote, EngineError> {
        let lookup = id.to_string();
        let quote = self
            .store
            .quote(&lookup)?
            .ok_or_else(|| EngineError::QuoteNotFound(id.to_string()))?;
        if quote.expires_at_ms <= now_ms {
            return Err(EngineError::QuoteExpired {
                id: quote.id,
                expires_at_ms: quote.expires_at_ms,
                now_ms,
            });
        }
        Ok(quote)
    }

    /// What the store made of a new transfer, for the client; a new one's
    /// pay-in starts here.
    async fn created(
        &self,
        creation: Creation,
        request: &NewTransfer,
        quote_id: &str,
    ) -> Result<(Transfer, bool), EngineError> {
        let quote_id = quote_id.to_string();
        match creation {
            // Another request with the same key won the race.
            Creation::Existing {
                transfer,
                request_sha256,
            } => {
                let same = request
                    .idempotency
                    .as_ref()
                    .is_some_and(|(_, sha)| *sha == request_sha256);
                if same {
                    Ok((*transfer, false))
                } else {
                    Err(EngineError::IdempotencyConflict(
                        request
                            .idempotency
                            .clone()
                            .map(|(key, _)| key)
                            .unwrap_or_default(),
                    ))
                }
            }
            Creation::QuoteNotFound => Err(EngineError::QuoteNotFound(quote_id)),
            Creation::QuoteUsed(other) => Err(EngineError::QuoteUsed {
                quote: quote_id,
                transfer: other,
            }),
            Creation::ReferenceUsed {
                reference,
                transfer,
            } => Err(EngineError::Untrusted(format!(
                "plan-transfer named reference {reference:?}, which transfer {transfer} uses"
            ))),
            Creation::Created(created) => {
                let id = created.id.clone();
                tracing::info!(transfer = %id, quote = %quote_id, recipient = %crate::redact::account(&created.recipient), "transfer created");
                if let Some(claim) = self.claim(&id) {
                    self.start_pay_in(&created).await;
                    drop(claim);
                }
                Ok((self.get(&id).await?, true))
            }
        }
    }

    /// Asks the connector to take the transfer `id` as the client asked: its
    /// recipient, payer and references, checked. Nothing is stored yet.
    async fn plan(
        &self,
        version: &Arc<crate::versions::Loaded>,
        quote: &StoredQuote,
        id: &str,
        request: &NewTransfer,
    ) -> Result<TransferPlan, EngineError> {
        let draft = TransferDraft {
            transfer_id: id.to_string(),
            recipient: request.recipient.clone(),
            payer: request.payer.clone(),
            send: quote.send.to_wit(),
            pay_in: pay_in_amount(quote).to_wit(),
            receive: quote.receive.to_wit(),
        };
        let plan = match self.ask_on::<exports::PlanTransfer>(version, draft).await {
            Ok(Planned::Plan(plan)) => plan,
            Ok(Planned::InvalidRecipient(message)) => {
                return Err(EngineError::InvalidRecipient(message));
            }
            Ok(Planned::InvalidPayer(message)) => return Err(EngineError::InvalidPayer(message)),
            Err(NoAnswer::Refused(failure)) => return Err(EngineError::Provider(failure)),
            Err(NoAnswer::Broken(error)) => return Err(EngineError::Invoke(error)),
        };
        checks::plan(&plan).map_err(EngineError::Untrusted)?;
        Ok(plan)
    }

    /// The transfer made earlier under `key`, if any. The same key with a
    /// request of another SHA-256 is a conflict.
    pub async fn replay(
        &self,
        key: &str,
        request_sha256: &str,
    ) -> Result<Option<Transfer>, EngineError> {
        let lookup = key.to_string();
        match self
            .db(move |store| store.by_idempotency_key(&lookup))
            .await?
        {
            Some((earlier, sha)) if sha == request_sha256 => Ok(Some(earlier)),
            Some(_) => Err(EngineError::IdempotencyConflict(key.to_string())),
            None => Ok(None),
        }
    }
}

/// What the payer pays: the send amount and the fee, in the send currency.
fn pay_in_amount(quote: &StoredQuote) -> Money {
    Money::new(
        quote.send.amount_minor + quote.fee.amount_minor,
        quote.send.currency,
    )
}

/// A connector's money as the host keeps it; a malformed currency is the
/// connector's error.
fn held(money: &crate::wit::Money) -> Result<Money, EngineError> {
    Money::from_wit(money).map_err(|error| EngineError::Untrusted(error.to_string()))
}

/// A new transfer `id` from a quote, on the connector's checked plan: its
/// recipient and references are fixed here, once.
pub(super) fn new_transfer(
    quote: &StoredQuote,
    id: String,
    plan: TransferPlan,
    (component_sha256, version): (&str, &str),
    now_ms: u64,
) -> Transfer {
    let mut pay_in_details = super::details::Details::new();
    super::details::apply(&id, "pay-in", &mut pay_in_details, &plan.pay_in_details);
    let mut pay_out_details = super::details::Details::new();
    super::details::apply(&id, "pay-out", &mut pay_out_details, &plan.pay_out_details);
    Transfer {
        connector: quote.connector.clone(),
        connector_sha256: component_sha256.to_string(),
        version: version.to_string(),
        stage: Stage::Created,
        recipient: plan.recipient,
        pay_in: PayIn {
            reference: plan.pay_in_reference,
            amount: pay_in_amount(quote),
            expires_at_ms: quote.expires_at_ms,
            payment_url: None,
            provider_transaction_id: None,
            charged: None,
            provider_reference: None,
            details: pay_in_details,
            payer: plan.payer,
            action: None,
        },
        pay_out: PayOut {
            reference: plan.pay_out_reference,
            details: pay_out_details,
            ..PayOut::default()
        },
        refund_reference: plan.refund_reference,
        failure: None,
        callback_token: random_hex(16),
        // The pay-in starts inline; this is the fallback if that is cut short.
        due_at_ms: Some(now_ms + 2_000),
        attempts: 0,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
        quote: quote.clone(),
        id,
    }
}

/// A plan as a connector might make it, for the engine's unit tests.
#[cfg(test)]
pub(crate) fn sample_plan(id: &str, recipient: &str) -> TransferPlan {
    TransferPlan {
        payer: None,
        recipient: recipient.to_string(),
        pay_in_reference: format!("{id}-in"),
        pay_out_reference: format!("{id}-out"),
        refund_reference: format!("{id}-refund"),
        pay_in_details: vec![("pay_in_key".into(), format!("{id}-in"))],
        pay_out_details: vec![("account".into(), recipient.to_string())],
    }
}

/// What the connector declares it handles, checked before it is asked.
fn admissible(
    connector_id: &str,
    descriptor: &crate::wit::Descriptor,
    request: &QuoteRequest,
) -> Result<(), EngineError> {
    if !descriptor.send_currencies.contains(&request.send.currency) {
        return Err(EngineError::UnsupportedCurrency(format!(
            "{connector_id} sends {}, not {}",
            descriptor.send_currencies.join(", "),
            request.send.currency
        )));
    }
    if !descriptor
        .pay_out_currencies
        .contains(&request.receive_currency)
    {
        return Err(EngineError::UnsupportedCurrency(format!(
            "{connector_id} pays out {}, not {}",
            descriptor.pay_out_currencies.join(", "),
            request.receive_currency
        )));
    }
    if let Some(limit) = descriptor
        .limits
        .iter()
        .find(|limit| limit.min.currency == request.send.currency)
        && (request.send.amount_minor < limit.min.amount_minor
            || request.send.amount_minor > limit.max.amount_minor)
    {
        return Err(EngineError::AmountOutOfRange(format!(
            "{} minor units of {} is outside {}..={}",
            request.send.amount_minor,
            request.send.currency,
            limit.min.amount_minor,
            limit.max.amount_minor
        )));
    }
    Ok(())
}
