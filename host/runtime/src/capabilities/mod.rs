//! The capabilities a connector imports, one module each, and the per-invocation
//! state they share. Each checks the connector's policy at exactly one point.

mod clock;
mod config;
pub(crate) mod http;
mod log;
pub(crate) mod output;
mod storage;

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::clock::{Clock, WasiWallClock};
use crate::policy::Policy;
use crate::redact::Scrubber;
use crate::runtime::limiter::{Limiter, MemoryBudget};
use crate::store::KvStore;

pub(crate) use http::Egress;
pub(crate) use log::LogBudget;
pub(crate) use output::CappedOutput;

/// What one loaded connector was granted: built once at load, shared by every
/// invocation of it.
pub(crate) struct Grants {
    /// The policy.
    pub policy: Policy,
    /// Outbound HTTP under the policy's allow-list.
    pub egress: Egress,
    /// The host's store; the connector's namespace is its id.
    pub store: Arc<dyn KvStore>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Cleans the policy's secret values out of everything the connector
    /// says, before a log or an error shows it.
    pub scrubber: Scrubber,
}

impl Grants {
    pub fn new(policy: Policy, store: Arc<dyn KvStore>, clock: Arc<dyn Clock>) -> Grants {
        let scrubber = Scrubber::new(policy.config.values().filter_map(|value| match value {
            crate::policy::ConfigValue::Secret(secret) => Some(secret.expose()),
            crate::policy::ConfigValue::Plain(_) => None,
        }));
        let egress = Egress::new(&policy);
        Grants {
            policy,
            egress,
            store,
            clock,
            scrubber,
        }
    }

    pub fn connector_id(&self) -> &str {
        &self.policy.id
    }
}

/// The data of one invocation's store. Created fresh for every call and
/// dropped with it.
pub(crate) struct InvocationState {
    pub grants: Arc<Grants>,
    /// The export being called, for logs and errors.
    pub call: &'static str,
    pub limiter: Limiter,
    pub log_budget: LogBudget,
    /// Destinations the connector tried and the policy refused.
    pub denials: Vec<String>,
    pub stdout: CappedOutput,
    pub stderr: CappedOutput,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl InvocationState {
    pub fn new(
        grants: Arc<Grants>,
        call: &'static str,
        budget: Arc<MemoryBudget>,
    ) -> InvocationState {
        let limits = &grants.policy.limits;
        // Keep a secret's length past the cap, so that scrubbing happens before
        // the cut and a cut cannot leave the first half of a secret behind.
        let slack = grants.scrubber.longest_secret_bytes();
        let stdout = CappedOutput::new(limits.output_bytes, slack);
        let stderr = CappedOutput::new(limits.output_bytes, slack);
        // Nothing granted: no files, no environment, no arguments, no sockets, no
        // name lookups. The guest's stdout and stderr go to capped buffers that
        // the host logs after the call.
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(WasiWallClock(grants.clock.clone()))
            .build();
        InvocationState {
            limiter: Limiter::new(limits.memory_bytes, budget),
            log_budget: LogBudget::new(limits.log_messages, limits.log_message_bytes),
            denials: Vec::new(),
            call,
            grants,
            stdout,
            stderr,
            wasi,
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl crate::runtime::bindings::corridor::connector::types::Host for InvocationState {}
