//! Waiting for a transfer to end, for clients that would otherwise poll.
//!
//! A waiter parks on its transfer's [`Notify`]; every recorded change wakes
//! that transfer's waiters, and only theirs. The map holds an entry only while
//! someone waits, so it is as large as the waits in progress.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::{Engine, EngineError, Transfer};

/// The transfers someone is waiting on.
#[derive(Default)]
pub(crate) struct Watchers {
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

/// One waiter's registration, removed from the map with the last waiter.
struct Watch<'a> {
    watchers: &'a Watchers,
    id: String,
    notify: Arc<Notify>,
}

impl Watchers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn watch(&self, id: &str) -> Watch<'_> {
        let notify = self.lock().entry(id.to_string()).or_default().clone();
        Watch {
            watchers: self,
            id: id.to_string(),
            notify,
        }
    }

    /// Wakes whoever waits on `id`: it changed.
    pub(crate) fn changed(&self, id: &str) {
        if let Some(notify) = self.lock().get(id) {
            notify.notify_waiters();
        }
    }
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut waiting = self.watchers.lock();
        // The map's own reference and this one: nobody else waits.
        if Arc::strong_count(&self.notify) == 2 {
            waiting.remove(&self.id);
        }
    }
}

impl Engine {
    /// The transfer once it is in a terminal state, or as it stands when
    /// `within` has passed.
    pub async fn wait_until_final(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<Transfer, EngineError> {
        let deadline = tokio::time::Instant::now() + within;
        let watch = self.watchers.watch(id);
        loop {
            // Registered before the read, so a change between the read and
            // the wait still wakes it.
            let notified = watch.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let transfer = self.get(id).await?;
            if transfer.state().is_terminal() || tokio::time::Instant::now() >= deadline {
                return Ok(transfer);
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_wakes_only_its_own_waiters_and_the_last_waiter_leaves_no_entry() {
        let watchers = Watchers::default();
        {
            let watch = watchers.watch("a");
            let other = watchers.watch("b");
            let woken = watch.notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let not_woken = other.notify.notified();
            tokio::pin!(not_woken);
            not_woken.as_mut().enable();
            watchers.changed("a");
            tokio::time::timeout(Duration::from_secs(5), woken)
                .await
                .expect("the waiter on a is woken");
            assert!(
                tokio::time::timeout(Duration::from_millis(20), not_woken)
                    .await
                    .is_err(),
                "the waiter on b sleeps on"
            );
        }
        assert!(watchers.lock().is_empty());
    }
}
