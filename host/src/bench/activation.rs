//! The activation figure: from an operator's `activate` to the first call
//! that runs on the new version, with two builds of one component swapped
//! back and forth on an engine with its store on disk.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::{Percentiles, percentiles};
use crate::engine::store::TransferStore;
use crate::engine::versions::Versions;
use crate::engine::{Engine, EngineConfig};
use crate::runtime::{Runtime, RuntimeConfig};
use crate::{Database, Policy, SqliteStore, StoreKey, SystemClock};

/// Swaps between two builds `swaps` times; the time from each activation
/// request to the end of the first `describe` on the version it activated.
pub async fn measure(
    component: &[u8],
    policy: Policy,
    folder: &Path,
    swaps: u32,
) -> anyhow::Result<Percentiles> {
    let database = Arc::new(Database::open(&folder.join("versions.db"))?);
    let key = StoreKey::generate();
    let kv = SqliteStore::new(database.clone(), &key);
    let config = RuntimeConfig {
        cache_dir: Some(folder.join("cache")),
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(config, Arc::new(kv), Arc::new(SystemClock))
        .map_err(|error| anyhow::anyhow!("{error:#}"))?;
    let engine = Engine::new(
        Arc::new(TransferStore::new(database)),
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        EngineConfig::default(),
        Arc::new(SystemClock),
    );
    let versions = Versions::new(engine.clone(), Arc::new(runtime), folder, &key);
    let first = versions
        .install_at_start(component.to_vec(), policy.clone())
        .await?;
    let second = versions
        .install(with_build_tag(component, "bench"), policy.clone())
        .await?;
    let builds = [first, second];
    let mut samples = Vec::with_capacity(swaps as usize);
    for swap in 0..swaps {
        let target = &builds[(swap as usize + 1) % 2];
        let started = Instant::now();
        versions.activate(&target.id, None, "bench").await?;
        let connector = engine.connector(&policy.id)?;
        anyhow::ensure!(
            connector.sha256() == target.component_sha256,
            "the first call after activation did not run on the new version"
        );
        connector.describe().await?;
        samples.push(started.elapsed());
    }
    Ok(percentiles(&mut samples))
}

/// The component with a custom section appended: the same code as another
/// build, so another version.
fn with_build_tag(component: &[u8], tag: &str) -> Vec<u8> {
    let name = b"corridor-build";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag.as_bytes());
    let mut bytes = component.to_vec();
    bytes.push(0);
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            bytes.push(byte);
            break;
        }
        bytes.push(byte | 0x80);
    }
    bytes.extend_from_slice(&payload);
    bytes
}
