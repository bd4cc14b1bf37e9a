//! The wasmtime runtime: one engine, one `InstancePre` per loaded connector, a
//! fresh store and instance for every invocation.
//!
//! Limits per invocation come from the connector's policy: a wall-clock deadline
//! (epoch interruption for time spent in wasm, a timer for time spent waiting on
//! the host), a linear-memory cap (a resource limiter), and a bounded number of
//! instances at once. A failed invocation discards its store; the next one starts
//! clean.

pub mod bindings;
pub(crate) mod cache;
mod call;
mod error;
mod guest_text;
pub(crate) mod limiter;
mod load;
pub(crate) mod measure;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

pub use self::call::{Call, CallOutput, Export, Planned, exports};

use self::bindings::ConnectorPre;
use self::bindings::corridor::connector::types::Descriptor;
use self::cache::ComponentCache;
use self::limiter::{MemoryBudget, MemoryRefusal};
use crate::capabilities::{Grants, InvocationState};
use crate::clock::Clock;
use crate::policy::Policy;
use crate::store::KvStore;

pub use self::error::{
    InvokeError, InvokeErrorKind, LoadError, MemoryLimitScope, RuntimeConfigError,
};

/// Host-wide runtime settings: the size of the instance pool and the timer.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Connector instances alive at once, across all connectors: the pool's
    /// slots. Default 128.
    pub max_instances: u32,
    /// The largest linear memory one instance may have, and the address space
    /// reserved for each pooled memory; a policy may not grant more. Default 256 MiB.
    pub max_memory_bytes: u64,
    /// The linear memory all instances together may hold: a growth past it is
    /// refused and the call ends with `MemoryLimit`, whichever connector it
    /// is. Default 2 GiB.
    ///
    /// The trade-off: per-instance caps alone let the host's memory grow to
    /// `max_instances × max_memory_bytes` (128 × 256 MiB = 32 GiB), which a
    /// few hostile or leaky connectors can reach together. A budget below that
    /// keeps the host alive at the cost of failing the calls that ask past it,
    /// even well-behaved ones. Set it to what the machine can give the guests,
    /// leaving room for the host itself (SQLite, HTTP buffers, compiled code).
    /// It must be at least `max_memory_bytes`, and each loaded policy's
    /// `memory_bytes × max_concurrent` must fit in it.
    pub memory_budget_bytes: u64,
    /// How often the epoch advances: the precision of deadlines. Default 10 ms.
    pub epoch_tick: Duration,
    /// How long an invocation waits for a free slot before failing with
    /// `PoolExhausted`. Default 5 s.
    pub pool_wait: Duration,
    /// Where compiled components are cached. `None`: no disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Write `/tmp/perf-<pid>.map` so `perf report` names the connectors'
    /// compiled functions. Default: on when `CORRIDOR_PERF_MAP` is set.
    pub perf_map: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 128,
            max_memory_bytes: 256 << 20,
            memory_budget_bytes: 2 << 30,
            epoch_tick: Duration::from_millis(10),
            pool_wait: Duration::from_secs(5),
            cache_dir: None,
            perf_map: std::env::var_os("CORRIDOR_PERF_MAP").is_some(),
        }
    }
}

/// Core instances, memories and tables one component may hold in the pool. A
/// Rust `wasm32-wasip2` component has a main module and a few adapter shims.
const CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 8;

/// Bytes at the start of each pooled memory, table and fiber stack that stay
/// mapped between instances (see `engine_config`).
const MEMORY_KEEP_RESIDENT_BYTES: usize = 128 << 10;
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 << 10;
const ASYNC_STACK_KEEP_RESIDENT_BYTES: usize = 256 << 10;

/// The engine and everything shared by the connectors it runs.
pub struct Runtime {
    shared: Arc<Shared>,
    linker: Linker<InvocationState>,
    cache: Option<ComponentCache>,
    store: Arc<dyn KvStore>,
    clock: Arc<dyn Clock>,
}

struct Shared {
    engine: Engine,
    config: RuntimeConfig,
    slots: Arc<Semaphore>,
    memory: Arc<MemoryBudget>,
}

/// The linear memory held by a runtime's instances, against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// `RuntimeConfig::memory_budget_bytes`.
    pub budget_bytes: u64,
    /// Held now by live instances.
    pub in_use_bytes: u64,
    /// The most ever held at once since the runtime started.
    pub peak_bytes: u64,
}

impl Runtime {
    /// Builds the engine, its pooling allocator and the linker, and starts the
    /// epoch timer (it stops when the runtime is dropped). Refuses a memory
    /// budget smaller than one pool slot ([`RuntimeConfigError`]).
    pub fn new(
        config: RuntimeConfig,
        store: Arc<dyn KvStore>,
        clock: Arc<dyn Clock>,
    ) -> wasmtime::Result<Runtime> {
        assert!(config.max_instances > 0, "the pool needs at least one slot");
        assert!(
            !config.epoch_tick.is_zero(),
            "the epoch tick must be positive"
        );
        if config.memory_budget_bytes < config.max_memory_bytes {
            return Err(wasmtime::Error::new(
                RuntimeConfigError::MemoryBudgetBelowSlot {
                    budget_bytes: config.memory_budget_bytes,
                    max_memory_bytes: config.max_memory_bytes,
                },
            ));
        }
        let engine = Engine::new(&engine_config(&config))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::Connector::add_to_linker::<InvocationState, HasSelf<InvocationState>>(
            &mut linker,
            |state| state,
        )?;
        start_epoch_timer(&engine, config.epoch_tick);
        let slots = Arc::new(Semaphore::new(config.max_instances as usize));
        let cache = config.cache_dir.clone().map(ComponentCache::new);
        let memory = Arc::new(MemoryBudget::new(config.memory_budget_bytes));
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                config,
                slots,
                memory,
            }),
            linker,
            cache,
            store,
            clock,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    /// The linear memory its instances hold now and at most, against the
    /// budget: for operators' metrics, and for tests that check the budget holds.
    pub fn memory(&self) -> MemoryUsage {
        let budget = &self.shared.memory;
        MemoryUsage {
            budget_bytes: budget.limit_bytes(),
            in_use_bytes: budget.in_use_bytes(),
            peak_bytes: budget.peak_bytes(),
        }
    }
}

fn engine_config(config: &RuntimeConfig) -> Config {
    let instances = config.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(instances * MEMORIES_PER_COMPONENT)
        .total_tables(instances * TABLES_PER_COMPONENT)
        .total_stacks(instances)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX))
        // Keep a few slots' pages mapped so back-to-back invocations of the same
        // connector reuse warm memory.
        .max_unused_warm_slots(16)
        // Reset the low part of a freed memory with memset instead of
        // returning it to the kernel: connectors link with a 64 KiB stack
        // (.cargo/config.toml), so their stack, data and first heap pages live
        // there, and the next instance starts without page faults. Measured:
        // instantiate-and-call p50 33 µs → 16 µs.
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT_BYTES)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES)
        // Fiber stacks are not zeroed between uses (wasm cannot read them), so
        // keeping them resident costs nothing and saves the faults.
        .async_stack_keep_resident(ASYNC_STACK_KEEP_RESIDENT_BYTES);
    let mut engine = Config::new();
    engine
        // Reserve exactly the slot size, plus the default guard region, for each
        // linear memory: the pool's address space is then max_instances ×
        // MEMORIES_PER_COMPONENT × (max_memory_bytes + guard), not 4 GiB a slot.
        .memory_reservation(config.max_memory_bytes)
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    if config.perf_map {
        engine.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    engine
}

/// Advances the engine's epoch every `tick` on a thread of its own, until the
/// engine is dropped.
fn start_epoch_timer(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("corridor-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        });
    if let Err(error) = spawned {
        panic!("cannot start the epoch timer thread: {error}");
    }
}

/// A loaded connector: its compiled component, pre-linked, and its grants.
pub struct Connector {
    shared: Arc<Shared>,
    pre: ConnectorPre<InvocationState>,
    grants: Arc<Grants>,
    concurrency: Arc<Semaphore>,
    sha256: String,
    from_cache: bool,
    wit_version: String,
    descriptor: Option<Descriptor>,
}

/// The version of the `corridor:connector` WIT package this host speaks
/// (`wit/connector.wit`): a component that exports another does not load.
pub const WIT_VERSION: &str = "0.4.0";

impl Connector {
    /// The connector id.
    pub fn id(&self) -> &str {
        self.grants.connector_id()
    }

    /// The SHA-256 of the component's bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The `corridor:connector` WIT version the component exports.
    pub fn wit_version(&self) -> &str {
        &self.wit_version
    }

    /// Whether the compiled component came from the disk cache.
    pub fn compiled_from_cache(&self) -> bool {
        self.from_cache
    }

    /// The policy it runs under.
    pub fn policy(&self) -> &Policy {
        &self.grants.policy
    }

    /// What `describe` said when the connector was loaded.
    pub fn descriptor(&self) -> &Descriptor {
        match &self.descriptor {
            Some(descriptor) => descriptor,
            None => unreachable!("a Connector is handed out only after describe succeeded"),
        }
    }

    /// Calls of this connector running now (each holds one of its
    /// `max_concurrent` slots).
    pub fn calls_in_flight(&self) -> usize {
        let limit = self.grants.policy.limits.max_concurrent as usize;
        limit.saturating_sub(self.concurrency.available_permits())
    }

    /// Calls `describe` in a fresh instance.
    pub async fn describe(&self) -> Result<Descriptor, InvokeError> {
        match self.invoke(Call::Describe).await? {
            CallOutput::Describe(descriptor) => Ok(descriptor),
            other => unreachable!("describe returned {other:?}"),
        }
    }

    /// Calls export `E` with `input`: its answer or its failure, or why the
    /// call itself failed.
    pub async fn call<E: Export>(
        &self,
        input: E::Input,
    ) -> Result<Result<E::Answer, crate::wit::Failure>, InvokeError> {
        let call = E::call(input);
        let name = call.name();
        let output = self.invoke(call).await?;
        match E::answer(output) {
            Some(answer) => Ok(answer),
            None => unreachable!("{name} answered with another export's output"),
        }
    }

    /// Calls one export in a fresh store and instance, under the policy's limits.
    pub async fn invoke(&self, call: Call) -> Result<CallOutput, InvokeError> {
        let name = call.name();
        let fail = |kind| InvokeError {
            connector: self.id().to_string(),
            call: name,
            kind,
        };
        let queued = Instant::now();
        let _permits = self.acquire_slot().await.map_err(|waited| {
            fail(InvokeErrorKind::PoolExhausted {
                waited_ms: millis(waited),
            })
        })?;
        let deadline = self.grants.policy.limits.deadline;
        let started = Instant::now();
        let mut store = Store::new(
            &self.shared.engine,
            InvocationState::new(self.grants.clone(), name, self.shared.memory.clone()),
        );
        store.limiter(|state| &mut state.limiter);
        // Check the clock on every epoch tick, and yield to the async runtime
        // then too, so a spinning guest neither outlives its deadline by more
        // than one tick nor holds a worker thread for long.
        let stop_at = started + deadline;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= stop_at {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let outcome = tokio::time::timeout(deadline, run(&self.pre, &mut store, call)).await;
        let elapsed = started.elapsed();
        let state = store.data();
        guest_text::log_output(state);
        let timeout = || InvokeErrorKind::Timeout {
            deadline_ms: millis(deadline),
            elapsed_ms: millis(elapsed),
        };
        let result = match outcome {
            Err(_elapsed) => Err(timeout()),
            Ok(Err(error)) => Err(classify(&error, state, timeout)),
            Ok(Ok(_)) if !state.denials.is_empty() => {
                Err(InvokeErrorKind::PolicyDenied(state.denials.join("; ")))
            }
            Ok(Ok(output)) => Ok(guest_text::scrub_failure(output, &state.grants.scrubber)),
        };
        measure::call(
            self.id(),
            &self.sha256,
            name,
            &result,
            started - queued,
            elapsed,
        );
        measure::pool(
            self.shared.slots.available_permits(),
            self.shared.memory.in_use_bytes(),
        );
        tracing::debug!(
            connector = self.id(),
            call = name,
            queued_us = (started - queued).as_micros() as u64,
            run_us = elapsed.as_micros() as u64,
            ok = result.is_ok(),
            "invocation"
        );
        result.map_err(fail)
    }

    /// Waits for a slot of this connector and one of the pool, up to the
    /// runtime's `pool_wait` in all. Returns how long it waited on failure.
    async fn acquire_slot(&self) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), Duration> {
        let waiting = Instant::now();
        let wait = self.shared.config.pool_wait;
        let acquire = async {
            let own = self.concurrency.clone().acquire_owned().await.ok()?;
            let pool = self.shared.slots.clone().acquire_owned().await.ok()?;
            Some((own, pool))
        };
        match tokio::time::timeout(wait, acquire).await {
            Ok(Some(permits)) => Ok(permits),
            _ => Err(waiting.elapsed()),
        }
    }
}

/// Instantiates and calls the export.
async fn run(
    pre: &ConnectorPre<InvocationState>,
    store: &mut Store<InvocationState>,
    call: Call,
) -> wasmtime::Result<CallOutput> {
    let instantiating = Instant::now();
    let instance = pre.instantiate_async(&mut *store).await?;
    measure::instantiated(instantiating.elapsed());
    let exports = instance.connector();
    Ok(match call {
        Call::Describe => CallOutput::Describe(exports.call_describe(&mut *store).await?),
        Call::Quote(request) => CallOutput::Quote(exports.call_quote(&mut *store, &request).await?),
        Call::PlanTransfer(draft) => {
            CallOutput::PlanTransfer(exports.call_plan_transfer(&mut *store, &draft).await?)
        }
        Call::BeginPayIn(request) => {
            CallOutput::BeginPayIn(exports.call_begin_pay_in(&mut *store, &request).await?)
        }
        Call::HandleCallback(request) => {
            CallOutput::HandleCallback(exports.call_handle_callback(&mut *store, &request).await?)
        }
        Call::BeginPayOut(request) => {
            CallOutput::BeginPayOut(exports.call_begin_pay_out(&mut *store, &request).await?)
        }
        Call::QueryPayOut(request) => {
            CallOutput::QueryPayOut(exports.call_query_pay_out(&mut *store, &request).await?)
        }
        Call::QueryPayIn(request) => {
            CallOutput::QueryPayIn(exports.call_query_pay_in(&mut *store, &request).await?)
        }
        Call::RefundPayIn(request) => {
            CallOutput::RefundPayIn(exports.call_refund_pay_in(&mut *store, &request).await?)
        }
        Call::QueryRefund(request) => {
            CallOutput::QueryRefund(exports.call_query_refund(&mut *store, &request).await?)
        }
        Call::ReadOffer(request) => {
            CallOutput::ReadOffer(exports.call_read_offer(&mut *store, &request).await?)
        }
        Call::AnswerOffer(answer) => {
            CallOutput::AnswerOffer(exports.call_answer_offer(&mut *store, &answer).await?)
        }
    })
}

/// Names the failure of an invocation that returned an error.
fn classify(
    error: &wasmtime::Error,
    state: &InvocationState,
    timeout: impl Fn() -> InvokeErrorKind,
) -> InvokeErrorKind {
    match state.limiter.memory_refused {
        Some(MemoryRefusal::Policy) => {
            return InvokeErrorKind::MemoryLimit {
                limit_bytes: state.limiter.memory_bytes(),
                scope: MemoryLimitScope::Instance,
            };
        }
        Some(MemoryRefusal::HostBudget) => {
            return InvokeErrorKind::MemoryLimit {
                limit_bytes: state.limiter.budget_bytes(),
                scope: MemoryLimitScope::HostBudget,
            };
        }
        None => {}
    }
    // A trap's message carries the guest's own names (its backtrace's
    // function names) and text; scrub it like anything else the guest says.
    let scrubber = &state.grants.scrubber;
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => timeout(),
        Some(trap) => InvokeErrorKind::Trap {
            code: trap.to_string(),
            message: scrubber.scrub(&format!("{error:?}")),
        },
        // The slot semaphores keep this from happening; if the pool is full
        // anyway (it is shared with nothing else), say so.
        None if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some() =>
        {
            InvokeErrorKind::PoolExhausted { waited_ms: 0 }
        }
        None => InvokeErrorKind::Trap {
            code: "error".into(),
            message: scrubber.scrub(&format!("{error:#}")),
        },
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod wit_version_tests {
    #[test]
    fn the_hosts_wit_version_is_the_contracts_package_version() {
        let contract = include_str!("../../../../wit/connector.wit");
        let package = format!("package corridor:connector@{};", super::WIT_VERSION);
        assert!(
            contract.contains(&package),
            "wit/connector.wit lacks {package}"
        );
    }
}
