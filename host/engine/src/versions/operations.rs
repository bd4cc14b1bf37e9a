//! The operator's verbs on versions: install, list, activate (or canary),
//! roll back, migrate, retire; and what a host does with them at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::canary::CallWindow;
use super::store::{Moved, VersionRow, unfinished};
use super::{
    Activation, Loaded, MigrateTarget, Migrated, Role, Route, VersionError, VersionInfo, version_id,
};
use crate::Engine;
use crate::runtime::Runtime;
use corridor_runtime::{Policy, Sealer, StoreKey, StoredPolicy};

/// The namespace a version's secrets are sealed under.
const SECRETS_NAMESPACE: &str = "connector-versions";

/// How long a migration waits for a transfer's step in flight to end.
const MIGRATE_WAIT: Duration = Duration::from_secs(10);

/// The operator's handle on a host's connector versions. Cheap to clone.
#[derive(Clone)]
pub struct Versions {
    engine: Arc<Engine>,
    runtime: Arc<Runtime>,
    components: PathBuf,
    sealer: Arc<Sealer>,
}

impl Versions {
    /// Versions of `engine`'s connectors, loaded by `runtime`; components are
    /// kept in `data_dir/versions/`, secrets sealed with `key`.
    pub fn new(
        engine: Arc<Engine>,
        runtime: Arc<Runtime>,
        data_dir: &Path,
        key: &StoreKey,
    ) -> Versions {
        Versions {
            engine,
            runtime,
            components: data_dir.join("versions"),
            sealer: Arc::new(Sealer::new(key)),
        }
    }

    /// Loads every version not retired and the routes, as they were before
    /// the restart. A version that no longer loads is logged and skipped.
    pub async fn restore(&self) -> Result<(), VersionError> {
        let rows = self
            .engine
            .versions_db(|store| store.versions(None))
            .await?;
        for row in rows.into_iter().filter(|row| row.retired_at_ms.is_none()) {
            let id = row.id.clone();
            if let Err(error) = self.load_stored(row).await {
                tracing::error!(version = %id, %error, "a stored connector version does not load");
            }
        }
        for route in self.engine.versions_db(|store| store.routes()).await? {
            self.restore_route(route);
        }
        Ok(())
    }

    fn restore_route(&self, mut route: Route) {
        let registry = &self.engine.registry;
        if registry.loaded(&route.active).is_none() {
            tracing::error!(connector = %route.connector, version = %route.active, "the active version is not loaded; the connector takes no new work");
            return;
        }
        route.previous = route.previous.filter(|id| registry.loaded(id).is_some());
        route.canary = route.canary.filter(|(id, _)| registry.loaded(id).is_some());
        registry.set_route(route);
    }

    async fn load_stored(&self, row: VersionRow) -> Result<(), VersionError> {
        let bytes =
            std::fs::read(&row.component_path).map_err(|source| VersionError::Component {
                path: row.component_path.clone(),
                source,
            })?;
        let secrets = self
            .sealer
            .open(SECRETS_NAMESPACE, &row.id, &row.policy_secrets)?;
        let secrets: BTreeMap<String, String> =
            serde_json::from_slice(&secrets).unwrap_or_default();
        let stored = StoredPolicy {
            text: row.policy_text.clone(),
            secrets,
        };
        let policy = Policy::from_stored(&policy_source(&row.id, &row.connector), &stored)?;
        let connector = self.runtime.load_bytes(bytes, policy).await?;
        self.engine.registry.insert(Arc::new(Loaded {
            row,
            connector: Arc::new(connector),
            calls: CallWindow::default(),
        }));
        Ok(())
    }

    /// Installs a component under a policy, after checking everything that
    /// can be checked before it runs a transfer (see [`VersionError::Refused`]).
    /// Installing a version already installed changes nothing (unless its
    /// secrets changed: then it is reloaded with them). It takes no work
    /// until activated.
    pub async fn install(
        &self,
        component: Vec<u8>,
        policy: Policy,
    ) -> Result<VersionInfo, VersionError> {
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&component));
        let stored = policy.to_stored();
        let id = version_id(&sha256, &stored.text);
        if let Some(loaded) = self.engine.registry.loaded(&id)
            && loaded.connector.policy().to_stored().secrets == stored.secrets
        {
            return self.info(&id).await;
        }
        // What is stored must load again after a restart: check it now.
        let reloaded = Policy::from_stored(&policy_source(&id, &policy.id), &stored)?;
        let connector = self.runtime.load_bytes(component.clone(), reloaded).await?;
        let component_path = self.keep_component(&sha256, &component)?;
        let secrets = serde_json::to_vec(&stored.secrets).unwrap_or_default();
        let row = VersionRow {
            id: id.clone(),
            connector: policy.id.clone(),
            component_sha256: sha256,
            component_path: component_path.display().to_string(),
            wit_version: connector.wit_version().to_string(),
            described_version: connector.descriptor().version.clone(),
            policy_text: stored.text,
            policy_secrets: self.sealer.seal(SECRETS_NAMESPACE, &id, &secrets)?,
            installed_at_ms: self.engine.now_ms(),
            retired_at_ms: None,
        };
        let record = row.clone();
        self.engine
            .versions_db(move |store| store.install(&record))
            .await?;
        self.engine.registry.insert(Arc::new(Loaded {
            row,
            connector: Arc::new(connector),
            calls: CallWindow::default(),
        }));
        tracing::info!(version = %id, connector = %policy.id, "connector version installed");
        self.info(&id).await
    }

    /// What a host does with a connector it is started with: installs it,
    /// and activates it if it is new or the connector has no active
    /// version. A restart with the same component and policy is the same
    /// version and changes nothing, so an operator's activation since stands.
    pub async fn install_at_start(
        &self,
        component: Vec<u8>,
        policy: Policy,
    ) -> Result<VersionInfo, VersionError> {
        let connector = policy.id.clone();
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&component));
        let id = version_id(&sha256, &policy.to_stored().text);
        let known = self.engine.registry.loaded(&id).is_some();
        let info = self.install(component, policy).await?;
        if !known || self.engine.registry.route(&connector).is_none() {
            return self
                .activate(&id, None, "the host was started with it")
                .await;
        }
        Ok(info)
    }

    /// The component's bytes in `versions/<sha256>.wasm`, written once.
    fn keep_component(&self, sha256: &str, component: &[u8]) -> Result<PathBuf, VersionError> {
        let path = self.components.join(format!("{sha256}.wasm"));
        let failed = |source| VersionError::Component {
            path: path.display().to_string(),
            source,
        };
        if path.exists() {
            return Ok(path);
        }
        std::fs::create_dir_all(&self.components).map_err(failed)?;
        let partial = path.with_extension("wasm.partial");
        std::fs::write(&partial, component).map_err(failed)?;
        std::fs::rename(&partial, &path).map_err(failed)?;
        Ok(path)
    }

    /// Every version of `connector` (or of all connectors), oldest first.
    pub async fn list(&self, connector: Option<&str>) -> Result<Vec<VersionInfo>, VersionError> {
        let connector = connector.map(str::to_string);
        let rows = self
            .engine
            .versions_db(move |store| store.versions(connector.as_deref()))
            .await?;
        Ok(rows.iter().map(|row| self.describe(row)).collect())
    }

    /// One version.
    pub async fn info(&self, id: &str) -> Result<VersionInfo, VersionError> {
        Ok(self.describe(&self.row(id).await?))
    }

    /// A connector's activation history, oldest first, with the reasons.
    pub async fn activations(&self, connector: &str) -> Result<Vec<Activation>, VersionError> {
        let connector = connector.to_string();
        Ok(self
            .engine
            .versions_db(move |store| store.activations(&connector))
            .await?)
    }

    async fn row(&self, id: &str) -> Result<VersionRow, VersionError> {
        let key = id.to_string();
        self.engine
            .versions_db(move |store| store.version(&key))
            .await?
            .ok_or_else(|| VersionError::UnknownVersion(id.to_string()))
    }

    fn describe(&self, row: &VersionRow) -> VersionInfo {
        let route = self.engine.registry.route(&row.connector);
        let role = match route {
            _ if row.retired_at_ms.is_some() => Role::Retired,
            Some(route) if route.active == row.id => Role::Active,
            Some(Route {
                canary: Some((canary, percent)),
                ..
            }) if canary == row.id => Role::Canary { percent },
            Some(route) if route.previous.as_deref() == Some(row.id.as_str()) => Role::Previous,
            _ => Role::Standby,
        };
        VersionInfo {
            id: row.id.clone(),
            connector: row.connector.clone(),
            component_sha256: row.component_sha256.clone(),
            wit_version: row.wit_version.clone(),
            described_version: row.described_version.clone(),
            installed_at_ms: row.installed_at_ms,
            retired_at_ms: row.retired_at_ms,
            role,
            policy_text: row.policy_text.clone(),
        }
    }

    /// A loaded version, or why it is not.
    async fn loaded(&self, id: &str) -> Result<Arc<Loaded>, VersionError> {
        if let Some(loaded) = self.engine.registry.loaded(id) {
            return Ok(loaded);
        }
        match self.row(id).await?.retired_at_ms {
            Some(_) => Err(VersionError::Retired(id.to_string())),
            None => Err(VersionError::UnknownVersion(id.to_string())),
        }
    }

    /// Makes `version` take its connector's new transfers: all of them, or
    /// with `canary_percent` that share (1 to 99) beside the active version.
    /// Activating fully makes the active version the previous one and ends
    /// any canary; activating a canary fully promotes it. Calls already
    /// running, and transfers already pinned, stay where they are.
    pub async fn activate(
        &self,
        version: &str,
        canary_percent: Option<u8>,
        reason: &str,
    ) -> Result<VersionInfo, VersionError> {
        let _changing = self.engine.route_changes.lock().await;
        let loaded = self.loaded(version).await?;
        let connector = loaded.row.connector.clone();
        let current = self.engine.registry.route(&connector);
        let (next, action) = match (canary_percent, current) {
            (Some(percent), _) if !(1..=99).contains(&percent) => {
                return Err(VersionError::CanaryPercent(percent));
            }
            (Some(_), None) => return Err(VersionError::NoActiveVersion(connector)),
            (_, Some(current)) if current.active == version => {
                return Err(VersionError::AlreadyActive(version.to_string()));
            }
            (Some(percent), Some(current)) => {
                loaded.calls.clear();
                let next = Route {
                    canary: Some((version.to_string(), percent)),
                    ..current
                };
                (next, "canary")
            }
            (None, current) => {
                let next = Route {
                    connector: connector.clone(),
                    active: version.to_string(),
                    previous: current.map(|current| current.active),
                    canary: None,
                };
                (next, "activate")
            }
        };
        let activation = Activation {
            connector,
            version: version.to_string(),
            action: action.into(),
            canary_percent,
            reason: reason.to_string(),
            at_ms: self.engine.now_ms(),
        };
        self.switch(next, activation).await?;
        self.info(version).await
    }

    /// Writes a route and its activation, then switches new work to it.
    async fn switch(&self, next: Route, activation: Activation) -> Result<(), VersionError> {
        let record = (next.clone(), activation);
        self.engine
            .versions_db(move |store| store.set_route(&record.0, &record.1))
            .await?;
        tracing::info!(connector = %next.connector, active = %next.active, canary = ?next.canary, "connector route changed");
        self.engine.registry.set_route(next);
        Ok(())
    }

    /// Ends a connector's canary, or if it has none makes the previous
    /// version active again; it stays loaded and compiled, so this takes
    /// one database write. Returns the version now active.
    pub async fn rollback(
        &self,
        connector: &str,
        reason: &str,
    ) -> Result<VersionInfo, VersionError> {
        let _changing = self.engine.route_changes.lock().await;
        let current = self
            .engine
            .registry
            .route(connector)
            .ok_or_else(|| VersionError::NoActiveVersion(connector.to_string()))?;
        let (next, abandoned) = match (&current.canary, &current.previous) {
            (Some((canary, _)), _) => (
                Route {
                    canary: None,
                    ..current.clone()
                },
                canary.clone(),
            ),
            (None, Some(previous)) => (
                Route {
                    connector: connector.to_string(),
                    active: previous.clone(),
                    previous: None,
                    canary: None,
                },
                current.active.clone(),
            ),
            (None, None) => return Err(VersionError::NothingToRollBack(connector.to_string())),
        };
        let activation = Activation {
            connector: connector.to_string(),
            version: abandoned,
            action: "rollback".into(),
            canary_percent: None,
            reason: reason.to_string(),
            at_ms: self.engine.now_ms(),
        };
        let active = next.active.clone();
        self.switch(next, activation).await?;
        self.info(&active).await
    }

    /// Pins a transfer, or every unfinished transfer of a version, to
    /// version `to` of the same connector. Each waits for its step in
    /// flight, if any, to end; its next step runs on `to`.
    pub async fn migrate(&self, target: MigrateTarget, to: &str) -> Result<Migrated, VersionError> {
        let destination = self.loaded(to).await?;
        let connector = destination.row.connector.clone();
        let ids = match &target {
            MigrateTarget::Transfer(id) => {
                let transfer = self
                    .engine
                    .get(id)
                    .await
                    .map_err(|_| VersionError::TransferNotFound(id.clone()))?;
                same_connector(to, &connector, &transfer.connector)?;
                if !unfinished(transfer.state()) {
                    return Err(VersionError::TransferFinished(id.clone()));
                }
                vec![id.clone()]
            }
            MigrateTarget::Version(from) => {
                let source = self.row(from).await?;
                same_connector(to, &connector, &source.connector)?;
                let from = from.clone();
                self.engine
                    .versions_db(move |store| store.pinned(&from))
                    .await?
            }
        };
        let mut migrated = Migrated::default();
        for id in ids {
            match self.migrate_one(&id, to).await? {
                Moved::Pinned => migrated.moved.push(id),
                Moved::Finished => migrated.finished.push(id),
                Moved::AlreadyThere | Moved::NotFound => {}
            }
        }
        tracing::info!(to, moved = migrated.moved.len(), "transfers migrated");
        Ok(migrated)
    }

    /// Moves one transfer once no step of it is running.
    async fn migrate_one(&self, id: &str, to: &str) -> Result<Moved, VersionError> {
        let deadline = tokio::time::Instant::now() + MIGRATE_WAIT;
        let claim = loop {
            if let Some(claim) = self.engine.claim(id) {
                break claim;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(VersionError::Busy(id.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        let (key, destination, now_ms) = (id.to_string(), to.to_string(), self.engine.now_ms());
        let moved = self
            .engine
            .versions_db(move |store| store.migrate(&key, &destination, now_ms))
            .await?;
        drop(claim);
        Ok(moved)
    }

    /// Removes a version that takes no new work and runs no transfer; it is
    /// unloaded, and its record kept (marked retired).
    pub async fn retire(&self, version: &str, reason: &str) -> Result<(), VersionError> {
        let _changing = self.engine.route_changes.lock().await;
        let row = self.row(version).await?;
        let info = self.describe(&row);
        match info.role {
            Role::Retired => return Ok(()),
            Role::Active | Role::Canary { .. } => {
                return Err(VersionError::InUse {
                    version: version.to_string(),
                    role: info.role,
                });
            }
            Role::Previous | Role::Standby => {}
        }
        let key = version.to_string();
        let pinned = self
            .engine
            .versions_db(move |store| store.pinned(&key))
            .await?;
        if !pinned.is_empty() {
            return Err(VersionError::Pinned {
                version: version.to_string(),
                count: pinned.len(),
            });
        }
        let activation = Activation {
            connector: row.connector,
            version: version.to_string(),
            action: "retire".into(),
            canary_percent: None,
            reason: reason.to_string(),
            at_ms: self.engine.now_ms(),
        };
        let (key, now_ms) = (version.to_string(), self.engine.now_ms());
        self.engine
            .versions_db(move |store| store.retire(&key, now_ms, &activation))
            .await?;
        self.engine.registry.remove(version);
        Ok(())
    }
}

fn same_connector(version: &str, expected: &str, actual: &str) -> Result<(), VersionError> {
    if expected == actual {
        return Ok(());
    }
    Err(VersionError::OtherConnector {
        version: version.to_string(),
        expected: actual.to_string(),
        actual: expected.to_string(),
    })
}

/// The name a stored policy goes by in errors: its file stem is the id, as
/// policy files' are.
fn policy_source(version: &str, connector: &str) -> PathBuf {
    PathBuf::from(format!("versions/{version}/{connector}.toml"))
}
