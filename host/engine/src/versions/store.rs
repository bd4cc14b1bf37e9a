//! Versions in the host's database: what is installed, which version takes
//! new work (the route), the history of activations, and the transfers
//! pinned to a version.

use std::sync::{Arc, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Activation, Route};
use crate::database::Database;
use crate::model::{TransferEvent, TransferState};
use crate::store::{append_event, read_transfer, write_transfer};
use corridor_runtime::StoreError;

/// One installed version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionRow {
    pub id: String,
    pub connector: String,
    pub component_sha256: String,
    pub component_path: String,
    pub wit_version: String,
    pub described_version: String,
    pub policy_text: String,
    pub policy_secrets: Vec<u8>,
    pub installed_at_ms: u64,
    pub retired_at_ms: Option<u64>,
}

/// What migrating one transfer came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Moved {
    /// Pinned to the new version now.
    Pinned,
    /// On that version already.
    AlreadyThere,
    /// Finished: nothing of it runs again.
    Finished,
    /// No such transfer.
    NotFound,
}

fn millis(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unmillis(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// The states a transfer can still move from: every state but the final
/// ones. `held` counts: it waits for an operator, who may retry its step.
pub(crate) fn unfinished(state: TransferState) -> bool {
    !state.is_terminal() || state == TransferState::Held
}

/// The SQL list of the finished states' names.
fn finished_states() -> String {
    TransferState::ALL
        .iter()
        .filter(|state| !unfinished(**state))
        .map(|state| format!("'{}'", state.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

const VERSION_COLUMNS: &str = "id, connector, component_sha256, component_path, wit_version, described_version, policy_text, policy_secrets, installed_at_ms, retired_at_ms";

fn version_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        id: row.get(0)?,
        connector: row.get(1)?,
        component_sha256: row.get(2)?,
        component_path: row.get(3)?,
        wit_version: row.get(4)?,
        described_version: row.get(5)?,
        policy_text: row.get(6)?,
        policy_secrets: row.get(7)?,
        installed_at_ms: unmillis(row.get(8)?),
        retired_at_ms: row.get::<_, Option<i64>>(9)?.map(unmillis),
    })
}

/// The versions' tables of the host's [`Database`].
pub(crate) struct VersionStore {
    database: Arc<Database>,
}

impl VersionStore {
    pub fn new(database: Arc<Database>) -> VersionStore {
        VersionStore { database }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.database.lock()
    }

    /// Stores a version, or brings a retired one back (its row is the same:
    /// the id is its content).
    pub fn install(&self, row: &VersionRow) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO connector_versions (id, connector, component_sha256, component_path, wit_version,
                                             described_version, policy_text, policy_secrets, installed_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET retired_at_ms = NULL, policy_secrets = excluded.policy_secrets",
            params![
                row.id,
                row.connector,
                row.component_sha256,
                row.component_path,
                row.wit_version,
                row.described_version,
                row.policy_text,
                row.policy_secrets,
                millis(row.installed_at_ms)
            ],
        )?;
        Ok(())
    }

    /// A version, retired or not.
    pub fn version(&self, id: &str) -> Result<Option<VersionRow>, StoreError> {
        let connection = self.lock();
        let sql = format!("SELECT {VERSION_COLUMNS} FROM connector_versions WHERE id = ?1");
        Ok(connection
            .query_row(&sql, params![id], version_row)
            .optional()?)
    }

    /// Every version, of one connector or all, oldest first.
    pub fn versions(&self, connector: Option<&str>) -> Result<Vec<VersionRow>, StoreError> {
        let connection = self.lock();
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM connector_versions WHERE ?1 IS NULL OR connector = ?1 ORDER BY installed_at_ms, id"
        );
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map(params![connector], version_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks a version retired.
    pub fn retire(&self, id: &str, now_ms: u64, activation: &Activation) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute(
            "UPDATE connector_versions SET retired_at_ms = ?2 WHERE id = ?1",
            params![id, millis(now_ms)],
        )?;
        transaction.execute(
            "UPDATE connector_routes SET previous = NULL WHERE previous = ?1",
            params![id],
        )?;
        record_activation(&transaction, activation)?;
        transaction.commit()?;
        Ok(())
    }

    /// Every connector's route.
    pub fn routes(&self) -> Result<Vec<Route>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT connector, active, previous, canary, canary_percent FROM connector_routes ORDER BY connector",
        )?;
        let rows = statement.query_map([], |row| {
            let percent: i64 = row.get(4)?;
            Ok(Route {
                connector: row.get(0)?,
                active: row.get(1)?,
                previous: row.get(2)?,
                canary: row
                    .get::<_, Option<String>>(3)?
                    .map(|canary| (canary, u8::try_from(percent).unwrap_or(0))),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes a connector's route and the activation that chose it, at once.
    pub fn set_route(&self, route: &Route, activation: &Activation) -> Result<(), StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (canary, percent) = match &route.canary {
            Some((canary, percent)) => (Some(canary.as_str()), *percent),
            None => (None, 0),
        };
        transaction.execute(
            "INSERT INTO connector_routes (connector, active, previous, canary, canary_percent)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (connector) DO UPDATE SET active = ?2, previous = ?3, canary = ?4, canary_percent = ?5",
            params![route.connector, route.active, route.previous, canary, percent],
        )?;
        record_activation(&transaction, activation)?;
        transaction.commit()?;
        Ok(())
    }

    /// A connector's activation history, oldest first.
    pub fn activations(&self, connector: &str) -> Result<Vec<Activation>, StoreError> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT connector, version, action, canary_percent, reason, at_ms FROM version_activations
             WHERE connector = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map(params![connector], |row| {
            Ok(Activation {
                connector: row.get(0)?,
                version: row.get(1)?,
                action: row.get(2)?,
                canary_percent: row
                    .get::<_, Option<i64>>(3)?
                    .and_then(|percent| u8::try_from(percent).ok()),
                reason: row.get(4)?,
                at_ms: unmillis(row.get(5)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The unfinished transfers pinned to `version`.
    pub fn pinned(&self, version: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock();
        let sql = format!(
            "SELECT id FROM transfers WHERE version = ?1 AND state NOT IN ({}) ORDER BY created_at_ms",
            finished_states()
        );
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map(params![version], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pins the unfinished transfer `id` to `to`, with a trail entry that
    /// says from which version.
    pub fn migrate(&self, id: &str, to: &str, now_ms: u64) -> Result<Moved, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(mut transfer) = read_transfer(&transaction, id)? else {
            return Ok(Moved::NotFound);
        };
        if !unfinished(transfer.state()) {
            return Ok(Moved::Finished);
        }
        if transfer.version == to {
            return Ok(Moved::AlreadyThere);
        }
        let from = std::mem::replace(&mut transfer.version, to.to_string());
        transfer.updated_at_ms = now_ms;
        write_transfer(&transaction, &transfer)?;
        let from = if from.is_empty() { "(none)" } else { &from };
        let event = TransferEvent {
            state: transfer.state(),
            at_ms: now_ms,
            detail: format!("migrated from connector version {from}"),
            version: to.to_string(),
        };
        append_event(&transaction, id, &event)?;
        transaction.commit()?;
        Ok(Moved::Pinned)
    }
}

fn record_activation(connection: &Connection, activation: &Activation) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO version_activations (connector, version, action, canary_percent, reason, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            activation.connector,
            activation.version,
            activation.action,
            activation.canary_percent,
            activation.reason,
            millis(activation.at_ms)
        ],
    )?;
    Ok(())
}
