//! What operators read and write in the store: transfers by filter, newest
//! first with a cursor, and the audit log of their changes.

use rusqlite::params_from_iter;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::{TransferStore, json_error, millis_column};
use crate::model::{Transfer, TransferState};
use corridor_runtime::StoreError;

/// Which transfers to list; every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferFilter {
    /// In this state.
    pub state: Option<TransferState>,
    /// Run by this connector.
    pub connector: Option<String>,
    /// Created at or after (ms since the epoch).
    pub created_from_ms: Option<u64>,
    /// Created before (ms since the epoch).
    pub created_to_ms: Option<u64>,
    /// Strictly after this one in the listing's order (newest first).
    pub after: Option<TransferCursor>,
    /// At most this many.
    pub limit: usize,
}

/// Where a page of transfers ended: the last one's creation time and id,
/// which order the listing. Shown to clients as `created_at_ms.id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCursor {
    /// The last transfer's creation time.
    pub created_at_ms: u64,
    /// The last transfer's id.
    pub id: String,
}

impl TransferCursor {
    /// The cursor after `transfer`.
    pub fn after(transfer: &Transfer) -> TransferCursor {
        TransferCursor {
            created_at_ms: transfer.created_at_ms,
            id: transfer.id.clone(),
        }
    }

    /// From its text; `None` when it is not one.
    pub fn parse(text: &str) -> Option<TransferCursor> {
        let (at, id) = text.split_once('.')?;
        let created_at_ms = at.parse().ok()?;
        (!id.is_empty()).then(|| TransferCursor {
            created_at_ms,
            id: id.to_string(),
        })
    }
}

impl std::fmt::Display for TransferCursor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}.{}", self.created_at_ms, self.id)
    }
}

/// One change an operator asked for, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its place in the log: later entries have larger ids.
    pub id: i64,
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// Who: the name of the token that asked.
    pub actor: String,
    /// What: `transfer.retry`, `transfer.resolve.paid-out`, …
    pub operation: String,
    /// On what: a transfer id, a connector version.
    pub target: String,
    /// Why, as the operator wrote it.
    pub reason: String,
    /// What came of it: `done: …` or `refused: …`.
    pub outcome: String,
}

impl TransferStore {
    /// Transfers matching `filter`, newest first (then by id, descending).
    pub fn list_filtered(&self, filter: &TransferFilter) -> Result<Vec<Transfer>, StoreError> {
        let mut clauses = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(state) = filter.state {
            clauses.push("state = ?");
            values.push(Value::Text(state.name().to_string()));
        }
        if let Some(connector) = &filter.connector {
            clauses.push("connector = ?");
            values.push(Value::Text(connector.clone()));
        }
        if let Some(from) = filter.created_from_ms {
            clauses.push("created_at_ms >= ?");
            values.push(Value::Integer(millis_column(from)));
        }
        if let Some(to) = filter.created_to_ms {
            clauses.push("created_at_ms < ?");
            values.push(Value::Integer(millis_column(to)));
        }
        if let Some(after) = &filter.after {
            clauses.push("(created_at_ms < ? OR (created_at_ms = ? AND id < ?))");
            values.push(Value::Integer(millis_column(after.created_at_ms)));
            values.push(Value::Integer(millis_column(after.created_at_ms)));
            values.push(Value::Text(after.id.clone()));
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        values.push(Value::Integer(
            i64::try_from(filter.limit).unwrap_or(i64::MAX),
        ));
        let sql = format!(
            "SELECT body FROM transfers {condition} ORDER BY created_at_ms DESC, id DESC LIMIT ?"
        );
        let connection = self.lock();
        let mut statement = connection.prepare(&sql)?;
        let bodies = statement
            .query_map(params_from_iter(values), |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        bodies
            .iter()
            .map(|body| serde_json::from_str(body).map_err(json_error))
            .collect()
    }

    /// Appends `entry` (its `id` is ignored) to the audit log; returns its id.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let connection = self.lock();
        connection.execute(
            "INSERT INTO admin_audit (at_ms, actor, operation, target, reason, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                millis_column(entry.at_ms),
                entry.actor,
                entry.operation,
                entry.target,
                entry.reason,
                entry.outcome
            ],
        )?;
        Ok(connection.last_insert_rowid())
    }

    /// The audit log, newest first: entries with an id below `before` (all
    /// when `None`), at most `limit`.
    pub fn audit(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT id, at_ms, actor, operation, target, reason, outcome FROM admin_audit
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let entries = statement
            .query_map(
                rusqlite::params![
                    before.unwrap_or(i64::MAX),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |row| {
                    Ok(AuditEntry {
                        id: row.get(0)?,
                        at_ms: u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
                        actor: row.get(2)?,
                        operation: row.get(3)?,
                        target: row.get(4)?,
                        reason: row.get(5)?,
                        outcome: row.get(6)?,
                    })
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(entries)
    }
}
