//! What can go wrong loading or invoking a connector. Every error names the
//! connector and, for invocations, the export that was called.

use crate::policy::PolicyError;

/// An invocation that did not produce the export's result.
#[derive(Debug, thiserror::Error)]
#[error("connector {connector}: {call}: {kind}")]
pub struct InvokeError {
    /// The connector id.
    pub connector: String,
    /// The export that was called ("quote", "begin-pay-out", …).
    pub call: &'static str,
    /// What happened.
    pub kind: InvokeErrorKind,
}

/// The ways an invocation fails. The store is discarded after each.
#[derive(Debug, thiserror::Error)]
pub enum InvokeErrorKind {
    /// The call ran past the policy's deadline (in wasm or waiting on the host).
    #[error("deadline of {deadline_ms} ms exceeded (stopped after {elapsed_ms} ms)")]
    Timeout {
        /// The policy's deadline.
        deadline_ms: u64,
        /// When the call was stopped.
        elapsed_ms: u64,
    },
    /// The guest needed more linear memory than it may have: more than the
    /// policy's cap, or more than the host's budget has left.
    #[error("memory limit of {limit_bytes} bytes reached ({scope})")]
    MemoryLimit {
        /// The cap that was reached: the policy's, or the host's budget.
        limit_bytes: u64,
        /// Which one.
        scope: MemoryLimitScope,
    },
    /// The guest trapped: a panic, a stack overflow, an out-of-bounds access.
    #[error("guest trapped ({code}): {message}")]
    Trap {
        /// The trap code ("unreachable", "stack overflow", …) or "error".
        code: String,
        /// The error with its wasm backtrace.
        message: String,
    },
    /// The guest used a capability its policy does not grant. Its result is
    /// discarded: it was computed without something it asked for.
    #[error("denied by policy: {0}")]
    PolicyDenied(String),
    /// No instance slot came free in time.
    #[error("no instance slot free after waiting {waited_ms} ms")]
    PoolExhausted {
        /// How long the call waited.
        waited_ms: u64,
    },
    /// The host could not run the call (instantiation failed for another reason).
    #[error("host failure: {0}")]
    Host(String),
}

impl InvokeErrorKind {
    /// A short, stable name for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            InvokeErrorKind::Timeout { .. } => "timeout",
            InvokeErrorKind::MemoryLimit { .. } => "memory",
            InvokeErrorKind::Trap { .. } => "trap",
            InvokeErrorKind::PolicyDenied(_) => "denied",
            InvokeErrorKind::PoolExhausted { .. } => "pool",
            InvokeErrorKind::Host(_) => "host",
        }
    }
}

/// Which memory limit refused a guest's growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryLimitScope {
    /// The policy's `limits.memory_bytes`, for one instance.
    #[error("the policy's cap for one instance")]
    Instance,
    /// `RuntimeConfig::memory_budget_bytes`, shared by all instances: other
    /// calls held the rest, and the same call may succeed later.
    #[error("the host's memory budget for all instances")]
    HostBudget,
}

/// A runtime configuration that cannot work, refused by `Runtime::new`.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    /// One instance could use more memory than the whole host may.
    #[error(
        "max_memory_bytes = {max_memory_bytes} (one pool slot) is more than memory_budget_bytes = {budget_bytes} (all instances together); raise memory_budget_bytes to at least {max_memory_bytes} or lower max_memory_bytes"
    )]
    MemoryBudgetBelowSlot {
        /// The host's budget.
        budget_bytes: u64,
        /// The pool's slot size.
        max_memory_bytes: u64,
    },
}

/// A connector that did not load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The policy did not validate.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// No policy file for the connector.
    #[error(
        "connector {connector}: no policy at {path}; a connector without a policy does not load"
    )]
    NoPolicy {
        /// The connector id.
        connector: String,
        /// Where the policy was looked for.
        path: String,
    },
    /// The component file could not be read.
    #[error("cannot read the component {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The component is not valid or does not fit the engine.
    #[error("connector {connector}: cannot compile the component: {message}")]
    Compile {
        /// The connector id.
        connector: String,
        /// The compiler's message.
        message: String,
    },
    /// The component speaks another version of the `corridor:connector` WIT
    /// package than this host.
    #[error(
        "connector {connector}: the component speaks corridor:connector@{spoken}; this host speaks @{supported}"
    )]
    WitVersion {
        /// The connector id.
        connector: String,
        /// The version the component exports (empty: none).
        spoken: String,
        /// The version this host speaks.
        supported: &'static str,
    },
    /// The component does not implement the `corridor:connector` world this host speaks.
    #[error("connector {connector}: the component does not fit the connector world: {message}")]
    Link {
        /// The connector id.
        connector: String,
        /// Which import or export does not match.
        message: String,
    },
    /// The descriptor's own inbound routes are malformed.
    #[error("connector {connector}: inbound route {route:?}: {problem}")]
    InboundRoute {
        /// The connector id.
        connector: String,
        /// The route as declared.
        route: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The policy asks for more than this host's pool can give.
    #[error("connector {connector}: {message}")]
    Limits {
        /// The connector id.
        connector: String,
        /// What is too large.
        message: String,
    },
    /// The policy's instances, each at its memory cap, would not fit in the
    /// host's memory budget together.
    #[error(
        "connector {connector}: limits.memory_bytes = {memory_bytes} × limits.max_concurrent = {max_concurrent} is {} bytes, more than this host's memory budget of {budget_bytes} bytes; lower limits.max_concurrent to {} or limits.memory_bytes to {}, or raise the host's memory_budget_bytes",
        u128::from(*memory_bytes) * u128::from(*max_concurrent),
        budget_bytes / memory_bytes,
        budget_bytes / u64::from(*max_concurrent)
    )]
    MemoryBudget {
        /// The connector id.
        connector: String,
        /// The policy's cap per instance.
        memory_bytes: u64,
        /// The policy's instances at once.
        max_concurrent: u32,
        /// `RuntimeConfig::memory_budget_bytes`.
        budget_bytes: u64,
    },
    /// `describe` failed while validating the connector.
    #[error("connector validation failed: {0}")]
    Describe(#[from] InvokeError),
    /// The policy does not grant what the connector declares it needs.
    #[error("connector {connector}: {}", problems.join("; "))]
    Settings {
        /// The connector id.
        connector: String,
        /// One line per missing or misplaced setting.
        problems: Vec<String>,
    },
    /// The connector says it is another connector than its policy names.
    #[error("the component describes itself as {described:?} but its policy is for {policy:?}")]
    IdMismatch {
        /// The id in the policy.
        policy: String,
        /// The id from `describe`.
        described: String,
    },
}
