use super::*;

#[test]
fn a_database_from_before_quote_keys_opens_and_takes_them() -> Result<(), StoreError> {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("corridor.db");
    Connection::open(&path)?.execute_batch(
        "CREATE TABLE quotes (id TEXT NOT NULL PRIMARY KEY, body TEXT NOT NULL,
                              expires_at_ms INTEGER NOT NULL, used_by TEXT);",
    )?;
    let database = Arc::new(Database::open(&path)?);
    assert_eq!(
        database.schema_version()?,
        6,
        "brought to the newest version"
    );
    let store = TransferStore::new(database);
    assert!(store.quote_by_idempotency_key("k")?.is_none());
    let keyed = quote("q_keyed", 1_000);
    store.insert_quote(&keyed, Some(("k", "sha")))?;
    let (found, request_sha256) = store
        .quote_by_idempotency_key("k")?
        .expect("the key finds its quote");
    assert_eq!(
        (found.id.as_str(), request_sha256.as_str()),
        ("q_keyed", "sha")
    );
    drop(store);
    let again = TransferStore::new(Arc::new(Database::open(&path)?));
    assert!(again.quote("q_keyed")?.is_some(), "and opens again");
    Ok(())
}

fn quote(id: &str, expires_at_ms: u64) -> StoredQuote {
    let usd = crate::money::Money::new(1000, crate::money::Currency::parse("USD").expect("a code"));
    StoredQuote {
        id: id.into(),
        connector: "testbed".into(),
        send: usd.clone(),
        pay_in: usd.clone(),
        receive: usd.clone(),
        fee: usd,
        rate: "1".into(),
        pay_in_rate: "1".into(),
        expires_at_ms,
        rate_source: "test".into(),
        created_at_ms: 0,
    }
}

#[test]
fn only_unused_quotes_past_their_grace_are_purged() -> Result<(), StoreError> {
    let store = TransferStore::in_memory()?;
    store.insert_quote(&quote("q_lapsed_long_ago", 1_000), None)?;
    store.insert_quote(&quote("q_lapsed_recently", 9_500), None)?;
    store.insert_quote(&quote("q_live", 20_000), None)?;
    store.insert_quote(&quote("q_used", 1_000), None)?;
    store
        .lock()
        .execute("UPDATE quotes SET used_by = 'tr_1' WHERE id = 'q_used'", [])?;
    assert_eq!(store.purge_expired_quotes(10_000, 1_000)?, 1);
    assert!(store.quote("q_lapsed_long_ago")?.is_none());
    for kept in ["q_lapsed_recently", "q_live", "q_used"] {
        assert!(store.quote(kept)?.is_some(), "{kept}");
    }
    assert_eq!(
        store.purge_expired_quotes(10_000, 1_000)?,
        0,
        "nothing left to purge"
    );
    Ok(())
}

fn created(store: &TransferStore, transfer: &Transfer) -> Result<Creation, StoreError> {
    let event = TransferEvent {
        state: TransferState::Created,
        at_ms: 0,
        detail: "test".into(),
        version: String::new(),
    };
    store.create(transfer, None, &event)
}

#[test]
fn a_transfer_naming_a_reference_another_uses_is_not_stored() -> Result<(), StoreError> {
    use crate::intake::{new_transfer, sample_plan};
    let store = TransferStore::in_memory()?;
    store.insert_quote(&quote("q_1", 10_000), None)?;
    store.insert_quote(&quote("q_2", 10_000), None)?;
    let first = new_transfer(
        &quote("q_1", 10_000),
        "tr_1".into(),
        sample_plan("tr_1", "r"),
        ("sha", "v"),
        0,
    );
    assert!(matches!(created(&store, &first)?, Creation::Created(_)));
    for (leg, reference) in [
        ("pay-in", first.pay_in.reference.clone()),
        ("pay-out", first.pay_out.reference.clone()),
        ("refund", first.refund_reference.clone()),
    ] {
        let mut plan = sample_plan("tr_2", "r");
        // Another leg of the second transfer reusing one of the first's.
        plan.refund_reference = reference.clone();
        let second = new_transfer(&quote("q_2", 10_000), "tr_2".into(), plan, ("sha", "v"), 0);
        match created(&store, &second)? {
            Creation::ReferenceUsed {
                reference: used,
                transfer,
            } => assert_eq!((used, transfer.as_str()), (reference, "tr_1"), "{leg}"),
            other => panic!("{leg}: expected a refusal, got {other:?}"),
        }
        assert!(store.get("tr_2")?.is_none(), "{leg}: nothing stored");
        assert_eq!(
            store.quote("q_2")?.map(|_| ()),
            Some(()),
            "{leg}: the quote is still there"
        );
    }
    let fresh = new_transfer(
        &quote("q_2", 10_000),
        "tr_2".into(),
        sample_plan("tr_2", "r"),
        ("sha", "v"),
        0,
    );
    assert!(
        matches!(created(&store, &fresh)?, Creation::Created(_)),
        "the quote was not used by the refused one"
    );
    Ok(())
}

#[test]
fn a_connectors_route_root_is_made_once_and_kept() -> Result<(), StoreError> {
    let store = TransferStore::in_memory()?;
    let first = store.connector_route_root("acme", "root-one")?;
    assert_eq!(first, "root-one");
    assert_eq!(store.connector_route_root("acme", "root-two")?, "root-one");
    assert_eq!(store.connector_route_root("other", "root-two")?, "root-two");
    Ok(())
}
