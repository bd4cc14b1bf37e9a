//! The host's one SQLite file, `corridor.db`, and its schema's history.
//!
//! Both stores live in it: the transfer engine's records
//! (the engine's `TransferStore`) and the
//! connectors' key-value namespaces ([`SqliteStore`](crate::SqliteStore)).
//! A [`Database`] opens the file once and both are built on it, so a host
//! holds one connection per file, not one per store.
//!
//! The schema is [`migrations`], an ordered list applied by
//! `rusqlite_migration`, which counts the versions applied in SQLite's
//! `PRAGMA user_version`. A migration once shipped never changes; a change to
//! the schema is a new one at the end.
//!
//! Files made before the list existed are at `user_version` 0 yet hold some
//! or all of the tables, so the early migrations tolerate what is already
//! there (`IF NOT EXISTS`, columns added only when missing).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use rusqlite_migration::{HookResult, M, Migrations};

use crate::group_commit::GroupCommit;
use crate::store_error::StoreError;

/// How long a statement waits for another process's write lock before it
/// fails with `SQLITE_BUSY`: long enough to outlast any one transaction here.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Version 1: the schema as first shipped, both stores' tables.
const V1_FIRST_SHIPPED: &str = "
CREATE TABLE IF NOT EXISTS quotes (
    id            TEXT    NOT NULL PRIMARY KEY,
    body          TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_by       TEXT
);
CREATE TABLE IF NOT EXISTS transfers (
    id                TEXT    NOT NULL PRIMARY KEY,
    connector         TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    due_at_ms         INTEGER,
    idempotency_key   TEXT    UNIQUE,
    request_sha256    TEXT,
    pay_in_reference  TEXT    NOT NULL UNIQUE,
    pay_out_reference TEXT    NOT NULL UNIQUE,
    body              TEXT    NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transfers_due ON transfers (due_at_ms) WHERE due_at_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS transfer_events (
    transfer_id TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    state       TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    detail      TEXT    NOT NULL,
    PRIMARY KEY (transfer_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS callbacks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    connector   TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    transfer_id TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    outcome     TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS connector_kv (
    namespace     TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    value         BLOB    NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS connector_kv_count (
    namespace TEXT    NOT NULL PRIMARY KEY,
    keys      INTEGER NOT NULL CHECK (keys >= 0)
) WITHOUT ROWID;
";

/// Version 2, the part SQL alone can say: the sweep of unused quotes finds
/// the lapsed ones by expiry without reading the used ones.
const V2_UNUSED_QUOTES_INDEX: &str = "CREATE INDEX IF NOT EXISTS quotes_unused_expiry ON quotes (expires_at_ms) WHERE used_by IS NULL;";

/// Version 2, the rest: quotes take an `Idempotency-Key` and the hash of the
/// request that priced them. SQLite has no `ADD COLUMN IF NOT EXISTS`, and a
/// file from before the migrations may have the columns already, so each is
/// added only when missing. SQLite cannot add a UNIQUE column, hence the
/// separate index (NULLs, quotes without a key, never clash).
fn v2_quote_idempotency_keys(transaction: &Transaction) -> HookResult {
    let columns = {
        let mut statement = transaction.prepare("SELECT name FROM pragma_table_info('quotes')")?;
        statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
    };
    for column in ["idempotency_key", "request_sha256"] {
        if !columns.iter().any(|name| name == column) {
            transaction.execute_batch(&format!("ALTER TABLE quotes ADD COLUMN {column} TEXT"))?;
        }
    }
    transaction.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS quotes_idempotency_key ON quotes (idempotency_key)",
    )?;
    Ok(())
}

/// Version 3: connectors name the references, so the host no longer makes
/// them unique by construction. No reference, of any leg, belongs to two
/// transfers: `transfer_references` holds every transfer's pay-in, pay-out
/// and refund references under one primary key, filled here from the rows
/// already stored (a refund reference from before it was planned is the one
/// the host derived then, the pay-in's with `-R1`). The unique indexes on
/// the two columns cover files made before the migrations, whose tables may
/// lack the columns' UNIQUE.
const V3_UNIQUE_REFERENCES: &str = "
CREATE UNIQUE INDEX IF NOT EXISTS transfers_pay_in_reference ON transfers (pay_in_reference);
CREATE UNIQUE INDEX IF NOT EXISTS transfers_pay_out_reference ON transfers (pay_out_reference);
CREATE TABLE transfer_references (
    reference   TEXT NOT NULL PRIMARY KEY,
    transfer_id TEXT NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO transfer_references (reference, transfer_id)
    SELECT pay_in_reference, id FROM transfers;
INSERT OR IGNORE INTO transfer_references (reference, transfer_id)
    SELECT pay_out_reference, id FROM transfers;
INSERT OR IGNORE INTO transfer_references (reference, transfer_id)
    SELECT COALESCE(NULLIF(json_extract(body, '$.refund_reference'), ''), pay_in_reference || '-R1'), id
    FROM transfers;
";

/// Version 4, the operators' audit log: every change an operator asks for
/// through the admin API, who (the token's name), what (the operation and
/// its target), when, why (the reason they gave) and what came of it.
/// Append-only; listed newest first by `id`. The index serves the listing
/// of transfers by state, newest first.
const V4_ADMIN_AUDIT_LOG: &str = "
CREATE TABLE admin_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    operation TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL
);
CREATE INDEX transfers_state_created ON transfers (state, created_at_ms);
CREATE INDEX transfers_created ON transfers (created_at_ms);
";

/// Version 5: connector versions. `connector_versions` holds every version
/// installed (content-addressed: see the engine's `versions` module), its
/// policy text and its sealed secrets; `connector_routes` which version of a
/// connector takes new work, the one before it (for rollback) and a canary;
/// `version_activations` the history of those choices with their reasons.
/// Transfers name the version they are pinned to (`transfers.version`,
/// searched when a version drains or migrates), and every trail entry the
/// version that ran the step (`transfer_events.version`). Rows from before
/// have none: their transfers run on the connector's active version.
const V5_CONNECTOR_VERSIONS: &str = "
CREATE TABLE connector_versions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    connector          TEXT    NOT NULL,
    component_sha256   TEXT    NOT NULL,
    component_path     TEXT    NOT NULL,
    wit_version        TEXT    NOT NULL,
    described_version  TEXT    NOT NULL,
    policy_text        TEXT    NOT NULL,
    policy_secrets     BLOB    NOT NULL,
    installed_at_ms    INTEGER NOT NULL,
    retired_at_ms      INTEGER
);
CREATE INDEX connector_versions_by_connector ON connector_versions (connector);
CREATE TABLE connector_routes (
    connector      TEXT    NOT NULL PRIMARY KEY,
    active         TEXT    NOT NULL,
    previous       TEXT,
    canary         TEXT,
    canary_percent INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE version_activations (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    connector      TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    canary_percent INTEGER,
    reason         TEXT    NOT NULL,
    at_ms          INTEGER NOT NULL
);
ALTER TABLE transfers ADD COLUMN version TEXT;
CREATE INDEX transfers_by_version ON transfers (version, state);
ALTER TABLE transfer_events ADD COLUMN version TEXT;
";

/// Version 6, connectors' own callback routes: one random root per
/// connector, from which each of its routes' path secrets is derived (as a
/// transfer's routes are from its `callback_token`). Made on first use and
/// kept, so the URLs a connector registered with its provider stay valid
/// across restarts and versions.
const V6_CONNECTOR_ROUTE_ROOTS: &str = "
CREATE TABLE connector_route_roots (
    connector TEXT NOT NULL PRIMARY KEY,
    root      TEXT NOT NULL
) WITHOUT ROWID;
";

/// Every version of the schema, oldest first: the n-th entry brings a file
/// from version n-1 to version n.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1_FIRST_SHIPPED),
        M::up_with_hook(V2_UNUSED_QUOTES_INDEX, v2_quote_idempotency_keys),
        M::up(V3_UNIQUE_REFERENCES),
        M::up(V4_ADMIN_AUDIT_LOG),
        M::up(V5_CONNECTOR_VERSIONS),
        M::up(V6_CONNECTOR_ROUTE_ROOTS),
    ])
}

/// One SQLite file, opened once, at the newest schema, shared by the stores
/// built on it.
pub struct Database {
    // One connection: SQLite serialises writers anyway, and every transaction
    // here is short. Reads share it; they take microseconds. The busy writes
    // go through `writer`, which commits them in groups on this connection.
    connection: Arc<Mutex<Connection>>,
    writer: GroupCommit,
    /// Connections that only read, so reads never queue behind a batch's
    /// fsync (WAL lets them read the last commit meanwhile). Empty for an
    /// in-memory database, whose one connection is the only way in.
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
}

/// Read-only connections a file database opens beside its writer.
const READERS: usize = 4;

impl Database {
    /// Opens (creating if needed) the file at `path` and brings its schema to
    /// the newest version.
    pub fn open(path: &Path) -> Result<Database, StoreError> {
        let open = |flags| {
            Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })
        };
        let mut database = Database::configure(open(OpenFlags::default())?)?;
        for _ in 0..READERS {
            let reader = open(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            reader.busy_timeout(BUSY_TIMEOUT)?;
            database.readers.push(Mutex::new(reader));
        }
        Ok(database)
    }

    /// An in-memory database, for tests and benchmarks that need no durability.
    pub fn in_memory() -> Result<Database, StoreError> {
        Database::configure(Connection::open_in_memory()?)
    }

    fn configure(mut connection: Connection) -> Result<Database, StoreError> {
        // WAL lets readers run beside the one writer; FULL syncs the WAL on
        // every commit, so a write is on disk when the call returns.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        // Savepoints (a group commit's jobs) keep their statement journals in
        // memory, not in a temporary file opened and deleted per job.
        connection.pragma_update(None, "temp_store", "MEMORY")?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // The migrations' transactions take the write lock at BEGIN, so two
        // processes opening one old file apply each version one after the other.
        connection.set_transaction_behavior(TransactionBehavior::Immediate);
        migrations().to_latest(&mut connection)?;
        let connection = Arc::new(Mutex::new(connection));
        Ok(Database {
            writer: GroupCommit::start(connection.clone()),
            connection,
            readers: Vec::new(),
            next_reader: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Runs `op` as part of the next group commit ([`crate::group_commit`]),
    /// in a savepoint of its own, and returns its result once it is on disk.
    /// A failed `op` leaves nothing written. Blocks: call it from the blocking
    /// pool. `op` must not call back into this database.
    pub fn write<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.writer.write(op)
    }

    /// [`Database::write`] for async callers: the task awaits the batch's
    /// commit without holding a thread.
    pub async fn write_async<R, F>(&self, op: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.writer.write_async(op).await
    }

    /// The connection, for one store call at a time.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions
        // roll back on drop), so a poisoned lock is safe to take over.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection for reads that need no transaction with a write: one of
    /// the read-only connections (the last commit as of the first statement),
    /// or the one connection of an in-memory database.
    pub fn read(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return self.lock();
        }
        let turn = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let count = self.readers.len();
        // A free one if there is; otherwise wait for this turn's.
        for offset in 0..count {
            if let Ok(reader) = self.readers[(turn + offset) % count].try_lock() {
                return reader;
            }
        }
        self.readers[turn % count]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The schema version the file is at: [`migrations`]' length once open.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .lock()
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }
}

#[cfg(test)]
#[path = "database_tests.rs"]
mod tests;
