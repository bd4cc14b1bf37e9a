use super::*;
use rusqlite::OptionalExtension;

/// The file as the host made it before the migrations: the first shipped
/// schema at `user_version` 0, one row in every table.
fn a_first_shipped_file(path: &Path) -> rusqlite::Result<()> {
    let connection = Connection::open(path)?;
    connection.execute_batch(V1_FIRST_SHIPPED)?;
    connection.execute_batch(
        "INSERT INTO quotes (id, body, expires_at_ms, used_by) VALUES ('q_1', '{}', 1000, 'tr_1');
         INSERT INTO transfers (id, connector, state, due_at_ms, idempotency_key, request_sha256,
                                pay_in_reference, pay_out_reference, body, created_at_ms, updated_at_ms)
             VALUES ('tr_1', 'testbed', 'completed', NULL, 'key-1', 'sha-1', 'in_1', 'out_1', '{}', 1, 2);
         INSERT INTO transfer_events (transfer_id, seq, state, at_ms, detail)
             VALUES ('tr_1', 1, 'completed', 2, 'paid');
         INSERT INTO callbacks (connector, route, transfer_id, at_ms, outcome)
             VALUES ('testbed', 'pay-in', 'tr_1', 2, 'accepted');
         INSERT INTO connector_kv (namespace, key, value, updated_at_ms)
             VALUES ('testbed', 'token', x'01', 2);
         INSERT INTO connector_kv_count (namespace, keys) VALUES ('testbed', 1);",
    )
}

fn count(database: &Database, table: &str) -> rusqlite::Result<i64> {
    database
        .lock()
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
}

fn index_exists(database: &Database, name: &str) -> rusqlite::Result<bool> {
    database.lock().query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = ?1",
        [name],
        |row| row.get(0),
    )
}

#[test]
fn the_migrations_are_valid() {
    migrations()
        .validate()
        .expect("every migration applies to an empty database");
}

#[test]
fn a_new_database_is_created_at_the_newest_version() -> Result<(), StoreError> {
    let database = Database::in_memory()?;
    assert_eq!(database.schema_version()?, 6);
    assert!(index_exists(&database, "quotes_idempotency_key")?);
    assert!(index_exists(&database, "quotes_unused_expiry")?);
    Ok(())
}

#[test]
fn a_first_shipped_database_keeps_its_rows_and_takes_the_new_columns() -> Result<(), StoreError> {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("corridor.db");
    a_first_shipped_file(&path)?;
    let database = Database::open(&path)?;
    assert_eq!(database.schema_version()?, 6);
    for table in [
        "quotes",
        "transfers",
        "transfer_events",
        "callbacks",
        "connector_kv",
        "connector_kv_count",
    ] {
        assert_eq!(count(&database, table)?, 1, "{table} keeps its row");
    }
    let (used_by, key, request_sha256): (String, Option<String>, Option<String>) =
        database.lock().query_row(
            "SELECT used_by, idempotency_key, request_sha256 FROM quotes WHERE id = 'q_1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
    assert_eq!(used_by, "tr_1");
    assert_eq!(
        (key, request_sha256),
        (None, None),
        "an old quote has no key"
    );
    assert!(index_exists(&database, "quotes_idempotency_key")?);
    assert!(index_exists(&database, "quotes_unused_expiry")?);
    drop(database);
    let again = Database::open(&path)?;
    assert_eq!(again.schema_version()?, 6, "reopening migrates nothing");
    assert_eq!(count(&again, "transfers")?, 1);
    Ok(())
}

#[test]
fn a_database_from_a_newer_host_is_refused() -> Result<(), StoreError> {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("corridor.db");
    Connection::open(&path)?.pragma_update(None, "user_version", 1_000)?;
    assert!(matches!(
        Database::open(&path),
        Err(StoreError::Migration(_))
    ));
    Ok(())
}

/// A file as the host left it at version 2: two transfers, one with a
/// planned refund reference in its body and one from before.
fn a_version_2_file(path: &Path) -> Result<(), StoreError> {
    let mut connection = Connection::open(path)?;
    migrations().to_version(&mut connection, 2)?;
    connection.execute_batch(
        r#"INSERT INTO transfers (id, connector, state, due_at_ms, idempotency_key, request_sha256,
                                pay_in_reference, pay_out_reference, body, created_at_ms, updated_at_ms)
             VALUES ('tr_1', 'testbed', 'completed', NULL, NULL, NULL, 'in_1', 'out_1', '{}', 1, 2),
                    ('tr_2', 'testbed', 'created', NULL, NULL, NULL, 'in_2', 'out_2',
                     '{"refund_reference": "back_2"}', 1, 2);"#,
    )?;
    Ok(())
}

fn owner(database: &Database, reference: &str) -> rusqlite::Result<Option<String>> {
    database
        .lock()
        .query_row(
            "SELECT transfer_id FROM transfer_references WHERE reference = ?1",
            [reference],
            |row| row.get(0),
        )
        .optional()
}

#[test]
fn a_version_2_database_records_every_reference_and_refuses_a_shared_one() -> Result<(), StoreError>
{
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("corridor.db");
    a_version_2_file(&path)?;
    let database = Database::open(&path)?;
    assert_eq!(database.schema_version()?, 6);
    assert_eq!(count(&database, "transfers")?, 2, "the rows are kept");
    for (reference, transfer) in [
        ("in_1", "tr_1"),
        ("out_1", "tr_1"),
        ("in_1-R1", "tr_1"),
        ("in_2", "tr_2"),
        ("out_2", "tr_2"),
        ("back_2", "tr_2"),
    ] {
        assert_eq!(
            owner(&database, reference)?.as_deref(),
            Some(transfer),
            "{reference}"
        );
    }
    assert!(index_exists(&database, "transfers_pay_in_reference")?);
    assert!(index_exists(&database, "transfers_pay_out_reference")?);
    let shared = database.lock().execute(
        "INSERT INTO transfers (id, connector, state, pay_in_reference, pay_out_reference, body,
                                created_at_ms, updated_at_ms)
             VALUES ('tr_3', 'testbed', 'created', 'in_3', 'out_1', '{}', 3, 3)",
        [],
    );
    assert!(
        shared.is_err(),
        "a pay-out reference belongs to one transfer"
    );
    Ok(())
}

#[test]
fn a_version_3_database_takes_connector_versions_and_keeps_its_transfers() -> Result<(), StoreError>
{
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("corridor.db");
    a_version_2_file(&path)?;
    let database = Database::open(&path)?;
    assert_eq!(count(&database, "connector_versions")?, 0);
    let unversioned: i64 = database.lock().query_row(
        "SELECT COUNT(*) FROM transfers WHERE version IS NULL",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(unversioned, 2, "transfers from before versions name none");
    Ok(())
}
