//! The store's writes as jobs for the database's group commit: each owns
//! what it needs (a job may run on the writer thread after its caller's
//! borrows end) and runs inside the writer's transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Creation, QuoteInsertion, Updated, append_event, claim_references, json_error, made_under_key,
    millis_column, non_empty, quote_by_key, read_transfer, write_transfer,
};
use crate::decide::{Decision, Effect};
use crate::model::{StoredQuote, Transfer, TransferEvent};
use corridor_runtime::StoreError;

/// [`TransferStore::insert_quote`] as a job for the writer.
pub(super) fn insert_quote_job(
    quote: &StoredQuote,
    idempotency: Option<(&str, &str)>,
) -> Result<
    impl FnOnce(&Connection) -> Result<QuoteInsertion, StoreError> + Send + 'static,
    StoreError,
> {
    let body = serde_json::to_string(quote).map_err(json_error)?;
    let (id, expires_at_ms) = (quote.id.clone(), millis_column(quote.expires_at_ms));
    let idempotency = idempotency.map(|(key, sha)| (key.to_string(), sha.to_string()));
    Ok(move |connection: &Connection| {
        if let Some((key, _)) = &idempotency
            && let Some((earlier, request_sha256)) = quote_by_key(connection, key)?
        {
            return Ok(QuoteInsertion::Existing {
                quote: Box::new(earlier),
                request_sha256,
            });
        }
        connection.execute(
            "INSERT INTO quotes (id, body, expires_at_ms, idempotency_key, request_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                body,
                expires_at_ms,
                idempotency.as_ref().map(|(key, _)| key),
                idempotency.as_ref().map(|(_, sha)| sha),
            ],
        )?;
        Ok(QuoteInsertion::Inserted)
    })
}

/// [`TransferStore::record_callback`] as a job for the writer: the
/// connector, route, transfer and outcome, and when.
pub(super) fn callback_job(
    row: [&str; 4],
    now_ms: u64,
) -> impl FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static {
    let [connector, route, transfer_id, outcome] = row.map(str::to_string);
    move |connection| {
        connection
            .prepare_cached(
                "INSERT INTO callbacks (connector, route, transfer_id, at_ms, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![connector, route, transfer_id, millis_column(now_ms), outcome])?;
        Ok(())
    }
}

/// [`TransferStore::create`] as a job for the writer, owning what it needs.
pub(super) fn create_job(
    transfer: &Transfer,
    idempotency: Option<(&str, &str)>,
    event: &TransferEvent,
) -> impl FnOnce(&Connection) -> Result<Creation, StoreError> + Send + 'static {
    let (transfer, event) = (transfer.clone(), event.clone());
    let idempotency = idempotency.map(|(key, sha)| (key.to_string(), sha.to_string()));
    move |connection| {
        let idempotency = idempotency
            .as_ref()
            .map(|(key, sha)| (key.as_str(), sha.as_str()));
        create_in(connection, &transfer, idempotency, &event)
    }
}

/// [`TransferStore::create`]'s statements, inside the writer's transaction.
fn create_in(
    connection: &Connection,
    transfer: &Transfer,
    idempotency: Option<(&str, &str)>,
    event: &TransferEvent,
) -> Result<Creation, StoreError> {
    if let Some((key, _)) = idempotency
        && let Some(existing) = made_under_key(connection, key)?
    {
        return Ok(existing);
    }
    let used_by: Option<Option<String>> = connection
        .query_row(
            "SELECT used_by FROM quotes WHERE id = ?1",
            params![transfer.quote.id],
            |row| row.get(0),
        )
        .optional()?;
    match used_by {
        None => return Ok(Creation::QuoteNotFound),
        Some(Some(other)) => return Ok(Creation::QuoteUsed(other)),
        Some(None) => {}
    }
    let references = [
        transfer.pay_in.reference.as_str(),
        transfer.pay_out.reference.as_str(),
        transfer.refund_reference.as_str(),
    ];
    if let Some(used) = claim_references(connection, &transfer.id, &references)? {
        return Ok(used);
    }
    connection.execute(
        "UPDATE quotes SET used_by = ?2 WHERE id = ?1",
        params![transfer.quote.id, transfer.id],
    )?;
    let body = serde_json::to_string(transfer).map_err(json_error)?;
    connection.execute(
            "INSERT INTO transfers (id, connector, state, due_at_ms, idempotency_key, request_sha256,
                                    pay_in_reference, pay_out_reference, body, created_at_ms, updated_at_ms, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
            params![
                transfer.id,
                transfer.connector,
                transfer.state().name(),
                transfer.due_at_ms.map(millis_column),
                idempotency.map(|(key, _)| key),
                idempotency.map(|(_, sha)| sha),
                transfer.pay_in.reference,
                transfer.pay_out.reference,
                body,
                millis_column(transfer.created_at_ms),
                non_empty(&transfer.version),
            ],
        )?;
    append_event(connection, &transfer.id, event)?;
    Ok(Creation::Created(Box::new(transfer.clone())))
}

/// [`TransferStore::update_async`]'s statements, inside the writer's transaction.
pub(super) fn update_in(
    connection: &Connection,
    id: &str,
    now_ms: u64,
    decide: impl FnOnce(&Transfer) -> Decision,
) -> Result<Option<Updated>, StoreError> {
    let Some(before) = read_transfer(connection, id)? else {
        return Ok(None);
    };
    let mut decision = decide(&before);
    if decision.effect == Effect::Unchanged {
        decision.transfer = before.clone();
        return Ok(Some(Updated {
            from: before.state(),
            decision,
        }));
    }
    let note = decision.note();
    let transfer = &mut decision.transfer;
    assert_eq!(transfer.id, before.id, "a transfer's id never changes");
    assert_eq!(
        transfer.quote, before.quote,
        "a transfer's quote never changes"
    );
    transfer.updated_at_ms = now_ms;
    write_transfer(connection, transfer)?;
    if transfer.state() != before.state() {
        let event = TransferEvent {
            state: transfer.state(),
            at_ms: now_ms,
            detail: note,
            version: transfer.version.clone(),
        };
        append_event(connection, id, &event)?;
    }
    Ok(Some(Updated {
        from: before.state(),
        decision,
    }))
}
