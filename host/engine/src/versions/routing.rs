//! The engine's side of versions: which version runs a call, what each call
//! came to, and the canary's automatic rollback.

use std::sync::Arc;

use super::store::VersionStore;
use super::{Activation, Loaded, Route};
use crate::model::Transfer;
use crate::runtime::{Export, InvokeError};
use crate::{Engine, EngineError, NoAnswer};
use corridor_runtime::{InvokeErrorKind, StoreError};

impl Engine {
    /// Runs a versions-store operation on the blocking pool.
    pub(crate) async fn versions_db<R: Send + 'static>(
        &self,
        operation: impl FnOnce(&VersionStore) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = self.version_store.clone();
        match tokio::task::spawn_blocking(move || operation(&store)).await {
            Ok(result) => result,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }

    /// The version a new transfer `transfer_id` of `connector` is pinned to.
    pub(crate) fn version_for_new(
        &self,
        connector: &str,
        transfer_id: &str,
    ) -> Result<Arc<Loaded>, EngineError> {
        self.registry
            .for_new(connector, transfer_id)
            .ok_or_else(|| EngineError::UnknownConnector(connector.to_string()))
    }

    /// The version that runs `transfer`'s steps: the one it is pinned to. A
    /// transfer from before versions, or pinned to a version since retired
    /// (retiring needs it finished; a late callback may still come), runs
    /// on the connector's active version.
    pub(crate) fn pinned_version(&self, transfer: &Transfer) -> Option<Arc<Loaded>> {
        self.registry
            .loaded(&transfer.version)
            .or_else(|| self.registry.active(&transfer.connector))
    }

    /// Calls export `E` for `transfer`, on the version it is pinned to.
    pub(crate) async fn ask<E: Export>(
        &self,
        transfer: &Transfer,
        input: E::Input,
    ) -> Result<E::Answer, NoAnswer> {
        let Some(version) = self.pinned_version(transfer) else {
            return Err(NoAnswer::Broken(InvokeError {
                connector: transfer.connector.clone(),
                call: E::NAME,
                kind: InvokeErrorKind::Host(format!(
                    "no version of connector {:?} is loaded",
                    transfer.connector
                )),
            }));
        };
        self.ask_on::<E>(&version, input).await
    }

    /// Calls export `E` of `version`: its answer, or why there is none. The
    /// outcome is counted for the version, and a canary whose calls fail too
    /// often is rolled back here, by the call that tipped it.
    pub(crate) async fn ask_on<E: Export>(
        &self,
        version: &Arc<Loaded>,
        input: E::Input,
    ) -> Result<E::Answer, NoAnswer> {
        let answer = match version.connector.call::<E>(input).await {
            Ok(answer) => answer.map_err(NoAnswer::Refused),
            Err(broken) => Err(NoAnswer::Broken(broken)),
        };
        let now_ms = self.now_ms();
        version.calls.record(now_ms, answer.is_err());
        if answer.is_err()
            && self.is_canary(&version.row.connector, &version.row.id)
            && let Some(reason) = version.calls.verdict(now_ms, &self.config.canary)
        {
            self.roll_back_canary(&version.row.connector, &version.row.id, reason)
                .await;
        }
        answer
    }

    fn is_canary(&self, connector: &str, version: &str) -> bool {
        self.registry
            .route(connector)
            .and_then(|route| route.canary)
            .is_some_and(|(canary, _)| canary == version)
    }

    /// Ends `canary`'s canary, if it is still one, and records why.
    async fn roll_back_canary(&self, connector: &str, canary: &str, reason: String) {
        let _changing = self.route_changes.lock().await;
        let Some(route) = self.registry.route(connector) else {
            return;
        };
        if route.canary.as_ref().is_none_or(|(id, _)| id != canary) {
            return;
        }
        let next = Route {
            canary: None,
            ..route
        };
        let activation = Activation {
            connector: connector.to_string(),
            version: canary.to_string(),
            action: "automatic-rollback".into(),
            canary_percent: None,
            reason: reason.clone(),
            at_ms: self.now_ms(),
        };
        let record = (next.clone(), activation);
        let stored = self
            .versions_db(move |store| store.set_route(&record.0, &record.1))
            .await;
        if let Err(error) = stored {
            // The route changes in memory anyway: stopping the failures now
            // matters more; a restart brings the canary back, to fail again.
            tracing::error!(%error, connector, canary, "cannot record an automatic rollback");
        }
        if self.registry.set_route_if_canary(next, canary) {
            tracing::error!(connector, version = canary, %reason, "canary rolled back automatically");
        }
    }
}
