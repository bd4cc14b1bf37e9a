//! The `storage` import: the connector's own namespace in the host's store.

use super::InvocationState;
use crate::runtime::bindings::corridor::connector::storage::{Host, StorageError};
use crate::store::StoreError;

/// The longest key, in bytes.
const MAX_KEY_BYTES: usize = 256;

impl InvocationState {
    fn check_key(&self, key: &str) -> Result<(), StorageError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(StorageError::InvalidKey(format!(
                "keys are 1 to {MAX_KEY_BYTES} bytes, this one is {}",
                key.len()
            )));
        }
        Ok(())
    }

    fn check_value(&self, value: Option<&[u8]>) -> Result<(), StorageError> {
        let length = value.map_or(0, <[u8]>::len) as u64;
        if length > self.grants.policy.storage.max_value_bytes {
            return Err(StorageError::ValueTooLarge(
                self.grants.policy.storage.max_value_bytes,
            ));
        }
        Ok(())
    }

    /// Runs a store operation on the blocking pool, in this connector's namespace.
    fn with_store<R: Send + 'static>(
        &self,
        operation: impl FnOnce(&dyn crate::store::KvStore, &str, u64) -> Result<R, StoreError>
        + Send
        + 'static,
    ) -> impl Future<Output = Result<R, StorageError>> + Send + 'static {
        let grants = self.grants.clone();
        let call = self.call;
        async move {
            let worker = grants.clone();
            let joined = tokio::task::spawn_blocking(move || {
                operation(
                    worker.store.as_ref(),
                    worker.connector_id(),
                    worker.policy.storage.max_keys,
                )
            })
            .await;
            match joined {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(StoreError::QuotaExceeded { .. })) => Err(StorageError::QuotaExceeded),
                Ok(Err(error)) => {
                    // The message quotes the guest's key, which may be anything
                    // the guest chose, a secret included.
                    let error = grants.scrubber.scrub(&error.to_string());
                    tracing::error!(connector = grants.connector_id(), call, %error, "storage failed");
                    Err(StorageError::Unavailable(error))
                }
                Err(join_error) => Err(StorageError::Unavailable(join_error.to_string())),
            }
        }
    }
}

impl Host for InvocationState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StorageError> {
        self.check_key(&key)?;
        self.with_store(move |store, namespace, _| store.get(namespace, &key))
            .await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StorageError> {
        self.check_key(&key)?;
        self.check_value(Some(&value))?;
        self.with_store(move |store, namespace, max_keys| {
            store.set(namespace, &key, &value, max_keys)
        })
        .await
    }

    async fn delete(&mut self, key: String) -> Result<(), StorageError> {
        self.check_key(&key)?;
        self.with_store(move |store, namespace, _| store.delete(namespace, &key))
            .await
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<bool, StorageError> {
        self.check_key(&key)?;
        self.check_value(new.as_deref())?;
        self.with_store(move |store, namespace, max_keys| {
            store.compare_and_swap(
                namespace,
                &key,
                expected.as_deref(),
                new.as_deref(),
                max_keys,
            )
        })
        .await
    }
}
