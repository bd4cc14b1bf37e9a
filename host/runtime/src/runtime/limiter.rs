//! Per-invocation resource limits, remembering which one was hit, and the
//! host-wide memory budget every invocation draws from.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Instances, tables and memories one component may create: a Rust component
/// needs a handful of each; far more means something is wrong.
const MAX_INSTANCES: usize = 32;
const MAX_TABLES: usize = 32;
const MAX_MEMORIES: usize = 8;

/// The linear memory all instances of a runtime may hold together.
///
/// Per-instance caps alone do not bound the host: 64 instances at a 64 MiB cap
/// are 4 GiB. One counter, shared by every store, is charged before a memory is
/// created or grows and credited when the store is dropped, so the sum of live
/// linear memories never passes the budget.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit_bytes: u64,
    in_use_bytes: AtomicU64,
    peak_bytes: AtomicU64,
}

impl MemoryBudget {
    pub fn new(limit_bytes: u64) -> MemoryBudget {
        MemoryBudget {
            limit_bytes,
            in_use_bytes: AtomicU64::new(0),
            peak_bytes: AtomicU64::new(0),
        }
    }

    pub fn limit_bytes(&self) -> u64 {
        self.limit_bytes
    }

    pub fn in_use_bytes(&self) -> u64 {
        self.in_use_bytes.load(Ordering::Acquire)
    }

    pub fn peak_bytes(&self) -> u64 {
        self.peak_bytes.load(Ordering::Acquire)
    }

    /// Charges `bytes` if they fit under the limit; otherwise charges nothing.
    fn try_charge(&self, bytes: u64) -> bool {
        let charged =
            self.in_use_bytes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                    in_use
                        .checked_add(bytes)
                        .filter(|total| *total <= self.limit_bytes)
                });
        match charged {
            Ok(before) => {
                let after = before + bytes;
                self.peak_bytes.fetch_max(after, Ordering::AcqRel);
                debug_assert!(after <= self.limit_bytes);
                true
            }
            Err(_) => false,
        }
    }

    fn credit(&self, bytes: u64) {
        let before = self.in_use_bytes.fetch_sub(bytes, Ordering::AcqRel);
        assert!(
            before >= bytes,
            "memory budget credited {bytes} bytes with only {before} in use"
        );
    }
}

/// Which limit refused a memory growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemoryRefusal {
    /// The policy's cap on one instance.
    Policy,
    /// The runtime's budget for all instances together.
    HostBudget,
}

/// [`StoreLimits`] plus the host's [`MemoryBudget`] and a record of a refused
/// memory growth, so that the trap that follows (a Rust guest aborts when
/// allocation fails) is reported as the memory limit it is.
pub(crate) struct Limiter {
    limits: StoreLimits,
    memory_bytes: u64,
    budget: Arc<MemoryBudget>,
    /// What this store holds of the budget; credited back on drop.
    charged_bytes: u64,
    /// The last growth charged, credited back if the growth itself fails.
    pending_bytes: u64,
    /// Set when a memory growth was refused, with the limit that refused it.
    pub memory_refused: Option<MemoryRefusal>,
}

impl Limiter {
    pub fn new(memory_bytes: u64, budget: Arc<MemoryBudget>) -> Limiter {
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(memory_bytes).unwrap_or(usize::MAX))
            .instances(MAX_INSTANCES)
            .tables(MAX_TABLES)
            .memories(MAX_MEMORIES)
            .build();
        Limiter {
            limits,
            memory_bytes,
            budget,
            charged_bytes: 0,
            pending_bytes: 0,
            memory_refused: None,
        }
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    pub fn budget_bytes(&self) -> u64 {
        self.budget.limit_bytes()
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.budget.credit(self.charged_bytes);
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.limits.memory_growing(current, desired, maximum)? {
            self.memory_refused = Some(MemoryRefusal::Policy);
            return Ok(false);
        }
        let growth = u64::try_from(desired.saturating_sub(current)).unwrap_or(u64::MAX);
        if !self.budget.try_charge(growth) {
            self.memory_refused = Some(MemoryRefusal::HostBudget);
            return Ok(false);
        }
        self.charged_bytes += growth;
        self.pending_bytes = growth;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // Called after a growth this limiter allowed failed in the allocator,
        // or for one the memory's type forbids (then nothing is pending).
        let pending = std::mem::take(&mut self.pending_bytes);
        self.budget.credit(pending);
        self.charged_bytes -= pending;
        self.memory_refused.get_or_insert(MemoryRefusal::Policy);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_what_does_not_fit_and_credits_on_drop() {
        let budget = Arc::new(MemoryBudget::new(10 << 20));
        let mut first = Limiter::new(8 << 20, budget.clone());
        let mut second = Limiter::new(8 << 20, budget.clone());
        assert!(first.memory_growing(0, 6 << 20, None).expect("no error"));
        assert!(!second.memory_growing(0, 6 << 20, None).expect("no error"));
        assert_eq!(second.memory_refused, Some(MemoryRefusal::HostBudget));
        assert!(second.memory_growing(0, 4 << 20, None).expect("no error"));
        assert_eq!(budget.in_use_bytes(), 10 << 20);
        assert!(
            !first
                .memory_growing(6 << 20, 9 << 20, None)
                .expect("no error")
        );
        assert_eq!(first.memory_refused, Some(MemoryRefusal::Policy));
        drop(first);
        assert_eq!(budget.in_use_bytes(), 4 << 20);
        second
            .memory_grow_failed(wasmtime::format_err!("the allocator failed"))
            .expect("not a trap");
        assert_eq!(budget.in_use_bytes(), 0);
        drop(second);
        assert_eq!(budget.in_use_bytes(), 0);
        assert_eq!(budget.peak_bytes(), 10 << 20);
    }
}
