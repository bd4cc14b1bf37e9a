//! The engine's durable records in SQLite: quotes, transfers (a JSON body plus
//! the columns that are searched or must be unique), the state-change trail,
//! and every callback received.
//!
//! Every change is one job of the database's group commit
//! ([`Database::write`]): read, decide, write inside a savepoint of its own,
//! answered once the batch it rode in is on disk. One writer thread runs the
//! jobs one after the other; across processes sharing the file, the write
//! lock taken at `BEGIN IMMEDIATE` serialises the batches.

use std::sync::{Arc, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use super::decide::Decision;
use super::model::{StoredQuote, Transfer, TransferEvent, TransferState};
use crate::database::Database;
use corridor_runtime::StoreError;

/// The most quotes one [`TransferStore::purge_expired_quotes`] deletes.
pub const PURGE_BATCH: i64 = 10_000;

/// What creating a transfer came to.
#[derive(Debug)]
pub enum Creation {
    /// A new transfer.
    Created(Box<Transfer>),
    /// The idempotency key was used before: that transfer, and the hash of the
    /// request that created it.
    Existing {
        /// The earlier transfer.
        transfer: Box<Transfer>,
        /// The SHA-256 of its request.
        request_sha256: String,
    },
    /// The quote is unknown.
    QuoteNotFound,
    /// The quote already made another transfer.
    QuoteUsed(String),
    /// Another transfer uses one of this one's references: nothing was stored.
    ReferenceUsed {
        /// The reference.
        reference: String,
        /// The transfer that uses it.
        transfer: String,
    },
}

/// Records `references` as `transfer_id`'s, unless another transfer has one
/// of them: then that one, and nothing is written. Empty references (none
/// planned) are not recorded. Runs inside the creating transaction, which
/// holds the write lock, so the look and the write cannot be raced.
fn claim_references(
    connection: &Connection,
    transfer_id: &str,
    references: &[&str],
) -> Result<Option<Creation>, StoreError> {
    for reference in references.iter().filter(|reference| !reference.is_empty()) {
        let owner: Option<String> = connection
            .query_row(
                "SELECT transfer_id FROM transfer_references WHERE reference = ?1",
                params![reference],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(owner) = owner {
            return Ok(Some(Creation::ReferenceUsed {
                reference: reference.to_string(),
                transfer: owner,
            }));
        }
    }
    for reference in references.iter().filter(|reference| !reference.is_empty()) {
        connection.execute(
            "INSERT INTO transfer_references (reference, transfer_id) VALUES (?1, ?2)",
            params![reference, transfer_id],
        )?;
    }
    Ok(None)
}

/// What storing a quote came to.
#[derive(Debug)]
pub enum QuoteInsertion {
    /// The quote is stored.
    Inserted,
    /// The idempotency key priced a quote before: that quote, and the hash of
    /// the request that made it.
    Existing {
        /// The earlier quote.
        quote: Box<StoredQuote>,
        /// The SHA-256 of its request.
        request_sha256: String,
    },
}

/// What [`TransferStore::update_async`] did: the state the transfer was in, and
/// the decision (written unless its effect is [`Effect::Unchanged`]).
#[derive(Debug, Clone)]
pub struct Updated {
    /// Its state before the decision.
    pub from: TransferState,
    /// The decision; its transfer is the transfer as it now stands.
    pub decision: Decision,
}

/// The engine's store: tables of the host's [`Database`], whose migrations
/// create them.
pub struct TransferStore {
    database: Arc<Database>,
}

fn json_error(error: serde_json::Error) -> StoreError {
    StoreError::Database(rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
}

fn millis_column(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(crate) fn read_transfer(
    connection: &Connection,
    id: &str,
) -> Result<Option<Transfer>, StoreError> {
    let body: Option<String> = connection
        .prepare_cached("SELECT body FROM transfers WHERE id = ?1")?
        .query_row(params![id], |row| row.get(0))
        .optional()?;
    body.map(|body| serde_json::from_str(&body).map_err(json_error))
        .transpose()
}

pub(crate) fn write_transfer(
    connection: &Connection,
    transfer: &Transfer,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(transfer).map_err(json_error)?;
    connection.prepare_cached(
        "UPDATE transfers SET state = ?2, due_at_ms = ?3, body = ?4, updated_at_ms = ?5, version = ?6 WHERE id = ?1",
    )?.execute(
        params![
            transfer.id,
            transfer.state().name(),
            transfer.due_at_ms.map(millis_column),
            body,
            millis_column(transfer.updated_at_ms),
            non_empty(&transfer.version),
        ],
    )?;
    Ok(())
}

pub(crate) fn append_event(
    connection: &Connection,
    id: &str,
    event: &TransferEvent,
) -> Result<(), StoreError> {
    connection.prepare_cached(
        "INSERT INTO transfer_events (transfer_id, seq, state, at_ms, detail, version)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM transfer_events WHERE transfer_id = ?1), ?2, ?3, ?4, ?5)",
    )?.execute(
        params![
            id,
            event.state.name(),
            millis_column(event.at_ms),
            event.detail,
            non_empty(&event.version)
        ],
    )?;
    Ok(())
}

/// `NULL` for an empty text: a transfer or trail entry from before versions.
fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn quote_by_key(
    connection: &Connection,
    key: &str,
) -> Result<Option<(StoredQuote, String)>, StoreError> {
    let found: Option<(String, String)> = connection
        .query_row(
            "SELECT body, request_sha256 FROM quotes WHERE idempotency_key = ?1",
            params![key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    found
        .map(|(body, sha)| Ok((serde_json::from_str(&body).map_err(json_error)?, sha)))
        .transpose()
}

/// How many transfers a connector version has in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCount {
    /// The connector.
    pub connector: String,
    /// The version they are pinned to (`""` before versions).
    pub version: String,
    /// The state's name.
    pub state: String,
    /// How many.
    pub count: u64,
}

impl TransferStore {
    /// The database it is built on, for the other stores that share it.
    pub fn database(&self) -> Arc<Database> {
        self.database.clone()
    }

    /// The store in `database`.
    pub fn new(database: Arc<Database>) -> TransferStore {
        TransferStore { database }
    }

    /// An in-memory database, for tests that need no durability.
    pub fn in_memory() -> Result<TransferStore, StoreError> {
        Ok(TransferStore::new(Arc::new(Database::in_memory()?)))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.database.lock()
    }

    /// Stores a quote, once per idempotency key `(key, request_sha256)`: a
    /// key that priced a quote before answers with that quote instead.
    pub fn insert_quote(
        &self,
        quote: &StoredQuote,
        idempotency: Option<(&str, &str)>,
    ) -> Result<QuoteInsertion, StoreError> {
        self.database.write(insert_quote_job(quote, idempotency)?)
    }

    /// [`TransferStore::insert_quote`] for async callers.
    pub async fn insert_quote_async(
        &self,
        quote: &StoredQuote,
        idempotency: Option<(&str, &str)>,
    ) -> Result<QuoteInsertion, StoreError> {
        let job = insert_quote_job(quote, idempotency)?;
        self.database.write_async(job).await
    }

    /// The quote priced under an idempotency key, and its request's SHA-256.
    pub fn quote_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<(StoredQuote, String)>, StoreError> {
        quote_by_key(&self.database.read(), key)
    }

    /// A quote by id.
    pub fn quote(&self, id: &str) -> Result<Option<StoredQuote>, StoreError> {
        let body: Option<String> = self
            .database
            .read()
            .query_row(
                "SELECT body FROM quotes WHERE id = ?1",
                params![id],
                |row| row.get(0),
            )
            .optional()?;
        body.map(|body| serde_json::from_str(&body).map_err(json_error))
            .transpose()
    }

    /// Deletes quotes that made no transfer and lapsed at least
    /// `older_than_ms` before `now_ms`, at most [`PURGE_BATCH`] per call so one
    /// sweep never holds the database for long; returns how many went. A
    /// used quote is kept: its transfer refers to it.
    pub fn purge_expired_quotes(
        &self,
        now_ms: u64,
        older_than_ms: u64,
    ) -> Result<usize, StoreError> {
        let cutoff_ms = millis_column(now_ms.saturating_sub(older_than_ms));
        let purged = self.lock().execute(
            "DELETE FROM quotes WHERE rowid IN (SELECT rowid FROM quotes
                 WHERE used_by IS NULL AND expires_at_ms <= ?1 LIMIT ?2)",
            params![cutoff_ms, PURGE_BATCH],
        )?;
        Ok(purged)
    }

    /// Creates `transfer` from its quote, once per idempotency key and once per
    /// quote, in one transaction.
    pub fn create(
        &self,
        transfer: &Transfer,
        idempotency: Option<(&str, &str)>,
        event: &TransferEvent,
    ) -> Result<Creation, StoreError> {
        self.database
            .write(create_job(transfer, idempotency, event))
    }

    /// [`TransferStore::create`] for async callers: no thread waits for the commit.
    pub async fn create_async(
        &self,
        transfer: &Transfer,
        idempotency: Option<(&str, &str)>,
        event: &TransferEvent,
    ) -> Result<Creation, StoreError> {
        let job = create_job(transfer, idempotency, event);
        self.database.write_async(job).await
    }

    /// A transfer by id.
    pub fn get(&self, id: &str) -> Result<Option<Transfer>, StoreError> {
        read_transfer(&self.database.read(), id)
    }

    /// The transfer made under an idempotency key, and its request's SHA-256.
    pub fn by_idempotency_key(&self, key: &str) -> Result<Option<(Transfer, String)>, StoreError> {
        let connection = self.database.read();
        let found: Option<(String, String)> = connection
            .query_row(
                "SELECT id, request_sha256 FROM transfers WHERE idempotency_key = ?1",
                params![key],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        match found {
            Some((id, sha)) => Ok(read_transfer(&connection, &id)?.map(|transfer| (transfer, sha))),
            None => Ok(None),
        }
    }

    /// The one verb that changes a transfer, in one transaction: `decide`
    /// sees the transfer as stored and answers with a [`Decision`], which is
    /// written (with a trail entry when the state moved) unless it left the
    /// transfer unchanged. `None` if there is no such transfer.
    /// The one verb that changes a transfer, in one job of the group commit:
    /// `decide` sees the transfer as stored and answers with a [`Decision`],
    /// which is written (with a trail entry when the state moved) unless it
    /// left the transfer unchanged. `None` if there is no such transfer. The
    /// task awaits the commit without holding a thread.
    pub async fn update_async(
        &self,
        id: &str,
        now_ms: u64,
        decide: impl FnOnce(&Transfer) -> Decision + Send + 'static,
    ) -> Result<Option<Updated>, StoreError> {
        let id = id.to_string();
        self.database
            .write_async(move |connection| update_in(connection, &id, now_ms, decide))
            .await
    }

    /// The state changes of a transfer, oldest first.
    pub fn events(&self, id: &str) -> Result<Vec<TransferEvent>, StoreError> {
        let connection = self.database.read();
        let mut statement = connection.prepare_cached(
            "SELECT state, at_ms, detail, version FROM transfer_events WHERE transfer_id = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map(params![id], |row| {
            let state: String = row.get(0)?;
            let at_ms: i64 = row.get(1)?;
            let version: Option<String> = row.get(3)?;
            Ok((state, at_ms, row.get::<_, String>(2)?, version))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (state, at_ms, detail, version) = row?;
            let state = TransferState::parse(&state)
                .unwrap_or_else(|| panic!("stored state {state:?} is not a state"));
            events.push(TransferEvent {
                state,
                at_ms: u64::try_from(at_ms).unwrap_or_default(),
                detail,
                version: version.unwrap_or_default(),
            });
        }
        Ok(events)
    }

    /// How many transfers each connector version has in each state:
    /// `(connector, version, state, count)`; a transfer from before versions
    /// has the version `""`.
    pub fn count_by_state(&self) -> Result<Vec<TransferCount>, StoreError> {
        let connection = self.database.read();
        let mut statement = connection.prepare(
            "SELECT connector, COALESCE(version, ''), state, COUNT(*) FROM transfers
             GROUP BY connector, version, state",
        )?;
        let rows = statement.query_map([], |row| {
            let count: i64 = row.get(3)?;
            Ok(TransferCount {
                connector: row.get(0)?,
                version: row.get(1)?,
                state: row.get(2)?,
                count: count.unsigned_abs(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ids of transfers due at `now_ms`, soonest first.
    pub fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<String>, StoreError> {
        let connection = self.database.read();
        let mut statement = connection.prepare_cached(
            "SELECT id FROM transfers WHERE due_at_ms IS NOT NULL AND due_at_ms <= ?1 ORDER BY due_at_ms LIMIT ?2",
        )?;
        let ids = statement
            .query_map(
                params![
                    millis_column(now_ms),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |row| row.get(0),
            )?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// The newest transfers, up to `limit`.
    pub fn list(&self, limit: usize) -> Result<Vec<Transfer>, StoreError> {
        let connection = self.database.read();
        let mut statement = connection.prepare_cached(
            "SELECT body FROM transfers ORDER BY created_at_ms DESC, id LIMIT ?1",
        )?;
        let bodies = statement
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                row.get::<_, String>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        bodies
            .iter()
            .map(|body| serde_json::from_str(body).map_err(json_error))
            .collect()
    }

    /// Records a callback and what came of it, as a job of the group commit.
    pub async fn record_callback_async(
        &self,
        connector: &str,
        route: &str,
        transfer_id: &str,
        now_ms: u64,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let job = callback_job([connector, route, transfer_id, outcome], now_ms);
        self.database.write_async(job).await
    }

    /// The callbacks received for a transfer: `(route, at_ms, outcome)`.
    pub fn callbacks(&self, transfer_id: &str) -> Result<Vec<(String, u64, String)>, StoreError> {
        let connection = self.database.read();
        let mut statement = connection.prepare_cached(
            "SELECT route, at_ms, outcome FROM callbacks WHERE transfer_id = ?1 ORDER BY id",
        )?;
        let rows = statement
            .query_map(params![transfer_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
                    row.get(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

/// The transfer made earlier under the idempotency key `key`, if any.
fn made_under_key(connection: &Connection, key: &str) -> Result<Option<Creation>, StoreError> {
    let existing: Option<(String, String)> = connection
        .query_row(
            "SELECT id, request_sha256 FROM transfers WHERE idempotency_key = ?1",
            params![key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((id, request_sha256)) = existing else {
        return Ok(None);
    };
    let earlier = read_transfer(connection, &id)?
        .unwrap_or_else(|| unreachable!("transfer {id} has an idempotency key but no row"));
    Ok(Some(Creation::Existing {
        transfer: Box::new(earlier),
        request_sha256,
    }))
}

#[path = "store_jobs.rs"]
mod jobs;
use self::jobs::{callback_job, create_job, insert_quote_job, update_in};

#[path = "store_admin.rs"]
mod admin;
pub use self::admin::{AuditEntry, TransferCursor, TransferFilter};

#[path = "store_routes.rs"]
mod routes;

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
