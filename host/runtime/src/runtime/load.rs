//! Loading a connector: its policy's limits against the host's, compiling
//! (or the cache), linking against the connector world, and the `describe`
//! call that validates it.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::component::Component;

use super::bindings::ConnectorPre;
use super::cache::sha256_hex;
use super::{Connector, LoadError, Runtime};
use crate::capabilities::{Grants, InvocationState};
use crate::policy::Policy;

impl Runtime {
    /// Loads a component under its policy: compiles it (or takes it from the
    /// cache), checks it against the connector world, and validates it by calling
    /// `describe`, whose id must be the policy's.
    pub async fn load(
        &self,
        component_path: &Path,
        policy: Policy,
    ) -> Result<Connector, LoadError> {
        let wasm = std::fs::read(component_path).map_err(|source| LoadError::Read {
            path: component_path.display().to_string(),
            source,
        })?;
        self.load_bytes(wasm, policy).await
    }

    /// [`Runtime::load`] from the component's bytes.
    pub async fn load_bytes(&self, wasm: Vec<u8>, policy: Policy) -> Result<Connector, LoadError> {
        self.check_limits(&policy)?;
        let sha256 = sha256_hex(&wasm);
        let (component, from_cache) = self.compile(wasm, &sha256, &policy.id).await?;
        let wit_version = spoken_wit_version(&component, &self.shared.engine);
        // A component that exports no connector at all is refused by linking, which names what is missing.
        if !wit_version.is_empty() && wit_version != super::WIT_VERSION {
            return Err(LoadError::WitVersion {
                connector: policy.id.clone(),
                spoken: wit_version,
                supported: super::WIT_VERSION,
            });
        }
        let pre = self.link(&component, &policy.id)?;
        let concurrency = Arc::new(Semaphore::new(policy.limits.max_concurrent as usize));
        let grants = Arc::new(Grants::new(policy, self.store.clone(), self.clock.clone()));
        let loaded = Connector {
            shared: self.shared.clone(),
            pre,
            grants,
            concurrency,
            sha256,
            from_cache,
            wit_version,
            descriptor: None,
        };
        validate(loaded).await
    }

    /// Refuses a policy whose limits this host cannot give: more memory per
    /// instance than a pool slot, or more at full concurrency than the budget.
    fn check_limits(&self, policy: &Policy) -> Result<(), LoadError> {
        let connector = policy.id.clone();
        let limits = &policy.limits;
        let config = &self.shared.config;
        if limits.memory_bytes > config.max_memory_bytes {
            return Err(LoadError::Limits {
                connector,
                message: format!(
                    "limits.memory_bytes = {} is more than this host's pool slot of {} bytes",
                    limits.memory_bytes, config.max_memory_bytes
                ),
            });
        }
        let budget_bytes = config.memory_budget_bytes;
        if u128::from(limits.memory_bytes) * u128::from(limits.max_concurrent)
            > u128::from(budget_bytes)
        {
            return Err(LoadError::MemoryBudget {
                connector,
                memory_bytes: limits.memory_bytes,
                max_concurrent: limits.max_concurrent,
                budget_bytes,
            });
        }
        Ok(())
    }

    /// The compiled component, and whether it came from the cache.
    async fn compile(
        &self,
        wasm: Vec<u8>,
        sha256: &str,
        connector: &str,
    ) -> Result<(Component, bool), LoadError> {
        let engine = self.shared.engine.clone();
        let cache = self.cache.clone();
        let digest = sha256.to_string();
        // Compiling is CPU-bound and can take a while; keep it off the async workers.
        let compiled = tokio::task::spawn_blocking(move || match cache {
            Some(cache) => cache.load_or_compile(&engine, &wasm, &digest),
            None => Component::new(&engine, &wasm).map(|component| (component, false)),
        })
        .await
        .map_err(|error| LoadError::Compile {
            connector: connector.to_string(),
            message: error.to_string(),
        })?;
        compiled.map_err(|error| LoadError::Compile {
            connector: connector.to_string(),
            message: format!("{error:#}"),
        })
    }

    /// Checks the component's imports and exports against the connector world.
    fn link(
        &self,
        component: &Component,
        connector: &str,
    ) -> Result<ConnectorPre<InvocationState>, LoadError> {
        let link_error = |error: wasmtime::Error| LoadError::Link {
            connector: connector.to_string(),
            message: format!("{error:#}"),
        };
        let instance_pre = self.linker.instantiate_pre(component).map_err(link_error)?;
        ConnectorPre::new(instance_pre).map_err(link_error)
    }
}

/// The version of the `corridor:connector` package the component was built
/// against (`0.4.0`), read from its type: the versioned interfaces it
/// imports (its `connector` export is unnamed, inline in the world). Empty
/// when it names none, which linking then refuses.
fn spoken_wit_version(component: &Component, engine: &wasmtime::Engine) -> String {
    let component_type = component.component_type();
    let imports = component_type.imports(engine).map(|(name, _)| name);
    let exports = component_type.exports(engine).map(|(name, _)| name);
    imports
        .chain(exports)
        .find_map(|name| {
            let (package, version) = name.split_once('@')?;
            package
                .starts_with("corridor:connector/")
                .then(|| version.to_string())
        })
        .unwrap_or_default()
}

/// Calls `describe`: the connector must name the policy's id and declare
/// only settings the policy grants.
async fn validate(mut loaded: Connector) -> Result<Connector, LoadError> {
    let descriptor = loaded.describe().await?;
    let scrubber = &loaded.grants.scrubber;
    if descriptor.id != loaded.id() {
        return Err(LoadError::IdMismatch {
            policy: loaded.id().to_string(),
            described: scrubber.scrub(&descriptor.id),
        });
    }
    let problems = loaded.grants.policy.settings_problems(&descriptor.settings);
    if !problems.is_empty() {
        return Err(LoadError::Settings {
            connector: loaded.id().to_string(),
            problems,
        });
    }
    if let Some((route, problem)) = inbound_route_problem(&descriptor.inbound_routes) {
        return Err(LoadError::InboundRoute {
            connector: loaded.id().to_string(),
            route: scrubber.scrub(&route),
            problem,
        });
    }
    let version = scrubber.scrub(&descriptor.version);
    tracing::info!(connector = loaded.id(), %version, sha256 = %loaded.sha256, from_cache = loaded.from_cache, "connector loaded");
    loaded.descriptor = Some(descriptor);
    Ok(loaded)
}

/// The first malformed own route: 1 to 40 characters of `a-z 0-9 -`, not a
/// per-transfer route's name, declared once.
fn inbound_route_problem(
    routes: &[crate::runtime::bindings::corridor::connector::types::InboundRoute],
) -> Option<(String, &'static str)> {
    let mut seen = std::collections::HashSet::new();
    routes.iter().find_map(|route| {
        let name = &route.name;
        let problem = if name.is_empty()
            || name.len() > 40
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            "a route name is 1 to 40 characters of a-z, 0-9 and -"
        } else if crate::routes::ALL.contains(&name.as_str()) {
            "the name is one of the host's per-transfer routes"
        } else if !seen.insert(name.clone()) {
            "declared twice"
        } else {
            return None;
        };
        Some((name.clone(), problem))
    })
}

#[cfg(test)]
mod tests {
    use super::inbound_route_problem;
    use crate::runtime::bindings::corridor::connector::types::{InboundKind, InboundRoute};

    fn routes(names: &[&str]) -> Vec<InboundRoute> {
        names
            .iter()
            .map(|name| InboundRoute {
                name: name.to_string(),
                kind: InboundKind::Notification,
            })
            .collect()
    }

    #[test]
    fn own_routes_are_plain_names_unlike_the_hosts_and_each_declared_once() {
        assert_eq!(
            inbound_route_problem(&routes(&["c2b-validation", "c2b-confirmation"])),
            None
        );
        for bad in [
            &["C2B"][..],
            &[""],
            &["a/b"],
            &["pay-in"],
            &["refund-status"],
            &["x", "x"],
        ] {
            assert!(inbound_route_problem(&routes(bad)).is_some(), "{bad:?}");
        }
    }
}
