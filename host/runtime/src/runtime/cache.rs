//! Compiled components cached on disk by content hash, so that a restart or a
//! swap does not recompile.
//!
//! An entry is `<sha256 of the .wasm>-<engine compatibility hash>.cwasm`, with a
//! `.sha256` beside it holding the digest of the compiled artifact. The digest is
//! checked before the artifact is deserialised: deserialising trusts its input,
//! so a truncated or tampered file must never reach it.

#![allow(unsafe_code)]

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A directory of compiled components.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    pub fn new(dir: PathBuf) -> ComponentCache {
        ComponentCache { dir }
    }

    fn entry(&self, engine: &Engine, wasm_sha256: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.dir
            .join(format!("{wasm_sha256}-{:016x}.cwasm", hasher.finish()))
    }

    /// The cached component for `wasm`, compiling and storing it on a miss.
    /// Returns the component and whether it came from the cache.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wasm_sha256: &str,
    ) -> wasmtime::Result<(Component, bool)> {
        let entry = self.entry(engine, wasm_sha256);
        if let Some(component) = self.load(engine, &entry) {
            return Ok((component, true));
        }
        let compiled = engine.precompile_component(wasm)?;
        if let Err(error) = self.store(&entry, &compiled) {
            tracing::warn!(path = %entry.display(), %error, "cannot write the compiled-component cache");
        }
        // SAFETY: `compiled` was produced by `precompile_component` on this very
        // engine a moment ago; it has not left this process.
        let component = unsafe { Component::deserialize(engine, &compiled)? };
        Ok((component, false))
    }

    fn load(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        let artifact = std::fs::read(entry).ok()?;
        let recorded = std::fs::read_to_string(digest_path(entry)).ok()?;
        if recorded.trim() != sha256_hex(&artifact) {
            tracing::warn!(path = %entry.display(), "compiled-component cache entry does not match its digest; recompiling");
            return None;
        }
        // SAFETY: the artifact is byte-for-byte what `store` wrote after
        // `precompile_component` on an engine with the same compatibility hash
        // (the file name carries it), as its SHA-256 digest shows.
        match unsafe { Component::deserialize(engine, &artifact) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %entry.display(), %error, "cannot load a cached component; recompiling");
                None
            }
        }
    }

    fn store(&self, entry: &Path, artifact: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        // Write to temporary names and rename: a reader never sees half a file,
        // and concurrent writers of the same entry write identical bytes. Each
        // write has its own temporary names (process id and a counter), so two
        // writers never share one. The digest lands last, so an artifact without
        // one is never trusted.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "{}.{}",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        );
        let artifact_tmp = entry.with_extension(format!("tmp-{unique}"));
        std::fs::write(&artifact_tmp, artifact)?;
        std::fs::rename(&artifact_tmp, entry)?;
        let digest_tmp = entry.with_extension(format!("sha-tmp-{unique}"));
        std::fs::write(&digest_tmp, sha256_hex(artifact))?;
        std::fs::rename(&digest_tmp, digest_path(entry))
    }
}

fn digest_path(entry: &Path) -> PathBuf {
    entry.with_extension("cwasm.sha256")
}
