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
    /// The guest needed more linear memory than the policy allows.
    #[error("memory limit of {limit_bytes} bytes reached")]
    MemoryLimit {
        /// The policy's cap.
        limit_bytes: u64,
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
    /// The component does not implement the `corridor:connector` world this host speaks.
    #[error("connector {connector}: the component does not fit the connector world: {message}")]
    Link {
        /// The connector id.
        connector: String,
        /// Which import or export does not match.
        message: String,
    },
    /// The policy asks for more than this host's pool can give.
    #[error("connector {connector}: {message}")]
    Limits {
        /// The connector id.
        connector: String,
        /// What is too large.
        message: String,
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
