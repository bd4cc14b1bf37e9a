//! What connectors' own callback routes read in the store: the transfer a
//! pay-in reference names, and each connector's route root.

use rusqlite::{OptionalExtension, params};

use super::{TransferStore, read_transfer};
use crate::model::Transfer;
use corridor_runtime::StoreError;

impl TransferStore {
    /// The transfer of `connector` whose pay-in reference is `reference`.
    pub fn by_pay_in_reference(
        &self,
        connector: &str,
        reference: &str,
    ) -> Result<Option<Transfer>, StoreError> {
        let connection = self.lock();
        let id: Option<String> = connection
            .query_row(
                "SELECT id FROM transfers WHERE pay_in_reference = ?1 AND connector = ?2",
                params![reference, connector],
                |row| row.get(0),
            )
            .optional()?;
        match id {
            Some(id) => read_transfer(&connection, &id),
            None => Ok(None),
        }
    }

    /// `connector`'s route root: the one stored, or `candidate`, stored now.
    /// Read first, so the pay-ins that hand the URLs out take no write lock.
    pub fn connector_route_root(
        &self,
        connector: &str,
        candidate: &str,
    ) -> Result<String, StoreError> {
        let connection = self.lock();
        let stored = |connection: &rusqlite::Connection| {
            connection
                .query_row(
                    "SELECT root FROM connector_route_roots WHERE connector = ?1",
                    params![connector],
                    |row| row.get::<_, String>(0),
                )
                .optional()
        };
        if let Some(root) = stored(&connection)? {
            return Ok(root);
        }
        connection.execute(
            "INSERT OR IGNORE INTO connector_route_roots (connector, root) VALUES (?1, ?2)",
            params![connector, candidate],
        )?;
        Ok(stored(&connection)?.unwrap_or_else(|| candidate.to_string()))
    }
}
