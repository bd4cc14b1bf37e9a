//! The versions this process has loaded, and which takes new work: the
//! in-memory side of the routes, swapped under one lock so a new transfer
//! sees either the old route or the new one, never a mix.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Route;
use super::canary::{CallWindow, takes_canary};
use super::store::VersionRow;
use crate::runtime::Connector;

/// A version loaded and compiled, ready to run.
pub(crate) struct Loaded {
    /// What is stored of it.
    pub row: VersionRow,
    /// The compiled connector under the version's policy.
    pub connector: Arc<Connector>,
    /// Its recent calls, judged while it is a canary.
    pub calls: CallWindow,
}

#[derive(Default)]
struct Inner {
    loaded: HashMap<String, Arc<Loaded>>,
    routes: HashMap<String, Route>,
}

/// Loaded versions by id and routes by connector.
#[derive(Default)]
pub(crate) struct Registry {
    inner: RwLock<Inner>,
}

impl Registry {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The loaded version `id`.
    pub fn loaded(&self, id: &str) -> Option<Arc<Loaded>> {
        self.read().loaded.get(id).cloned()
    }

    /// Adds (or replaces) a loaded version.
    pub fn insert(&self, loaded: Arc<Loaded>) {
        self.write().loaded.insert(loaded.row.id.clone(), loaded);
    }

    /// Unloads a version; a route naming it as previous forgets it.
    pub fn remove(&self, id: &str) {
        let mut inner = self.write();
        inner.loaded.remove(id);
        for route in inner.routes.values_mut() {
            if route.previous.as_deref() == Some(id) {
                route.previous = None;
            }
        }
    }

    /// A connector's route.
    pub fn route(&self, connector: &str) -> Option<Route> {
        self.read().routes.get(connector).cloned()
    }

    /// Every route, by connector id.
    pub fn routes(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = self.read().routes.values().cloned().collect();
        routes.sort_by(|one, other| one.connector.cmp(&other.connector));
        routes
    }

    /// Switches a connector's new work to `route`, at once.
    pub fn set_route(&self, route: Route) {
        self.write().routes.insert(route.connector.clone(), route);
    }

    /// Switches `route` only if the connector's canary is still `canary`:
    /// how an automatic rollback loses to an operator who acted first.
    pub fn set_route_if_canary(&self, route: Route, canary: &str) -> bool {
        let mut inner = self.write();
        let current = inner.routes.get(&route.connector);
        let still = current
            .and_then(|current| current.canary.as_ref())
            .is_some_and(|(id, _)| id == canary);
        if still {
            inner.routes.insert(route.connector.clone(), route);
        }
        still
    }

    /// The version that takes a connector's new work.
    pub fn active(&self, connector: &str) -> Option<Arc<Loaded>> {
        let inner = self.read();
        let route = inner.routes.get(connector)?;
        inner.loaded.get(&route.active).cloned()
    }

    /// The version the new transfer `transfer_id` is pinned to: the canary's
    /// share by the transfer id's hash, the active version otherwise.
    pub fn for_new(&self, connector: &str, transfer_id: &str) -> Option<Arc<Loaded>> {
        let inner = self.read();
        let route = inner.routes.get(connector)?;
        if let Some((canary, percent)) = &route.canary
            && takes_canary(transfer_id, *percent)
            && let Some(loaded) = inner.loaded.get(canary)
        {
            return Some(loaded.clone());
        }
        inner.loaded.get(&route.active).cloned()
    }

    /// The connectors that have an active version.
    pub fn connectors(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.read().routes.keys().cloned().collect();
        ids.sort();
        ids
    }
}
