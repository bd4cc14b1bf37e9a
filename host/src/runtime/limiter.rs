//! Per-invocation resource limits, remembering which one was hit.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Instances, tables and memories one component may create: a Rust component
/// needs a handful of each; far more means something is wrong.
const MAX_INSTANCES: usize = 32;
const MAX_TABLES: usize = 32;
const MAX_MEMORIES: usize = 8;

/// [`StoreLimits`] plus a record of a refused memory growth, so that the trap
/// that follows (a Rust guest aborts when allocation fails) is reported as the
/// memory limit it is.
pub(crate) struct Limiter {
    limits: StoreLimits,
    memory_bytes: u64,
    /// Set when a memory growth past the cap was refused.
    pub memory_refused: bool,
}

impl Limiter {
    pub fn new(memory_bytes: u64) -> Limiter {
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(memory_bytes).unwrap_or(usize::MAX))
            .instances(MAX_INSTANCES)
            .tables(MAX_TABLES)
            .memories(MAX_MEMORIES)
            .build();
        Limiter {
            limits,
            memory_bytes,
            memory_refused: false,
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.memory_refused = true;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
