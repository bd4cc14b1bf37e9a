//! The durable transfer engine: one state machine per transfer, driven by the
//! host on events (callbacks) and timers, never by client round trips.
//!
//! Rules it keeps:
//! - Persist the intent before calling out, the outcome after. The pay-out's
//!   reference is fixed when the transfer is created and `requested_at_ms` is
//!   written before the one pay-out request is sent; from then on the
//!   pay-out's fate is learned by query, never by sending it again.
//! - Every value a connector returns is checked against the stored transfer
//!   ([`checks`]); a mismatch holds the transfer for an operator.
//! - Callbacks arrive on a per-transfer secret path; duplicates, late and
//!   out-of-order ones change nothing, because a state only moves forward.
//! - A restart resumes every transfer that is due: the schedule is in the
//!   database (`due_at_ms`), not in memory.
//!
//! | module | what |
//! |---|---|
//! | [`decide`] | what an input (an event, a step's result) does to a transfer: pure, no I/O |
//! | [`callbacks`] | providers' callbacks: the gates, trust by route, events |
//! | `intake` | quotes and new transfers, idempotency |
//! | `scheduler` | due transfers, one step each |
//! | `operator` | operators' listing, retry and resolution of held transfers, the audit log |
//! | `pay_in`, `ledger_steps`, `pay_out`, `refund` | the steps, one module per family |
//! | [`versions`] | connector versions: install, activate, canary, roll back, migrate, retire; the pin of each transfer |
//! | [`model`], [`store`], [`checks`], [`secrets`], [`ledger`] | the record, its store, the checks on connector values, callback secrets, the ledger client |

pub mod callbacks;
pub mod checks;
mod connector_routes;
pub mod decide;
pub mod details;
mod intake;
pub mod ledger;
mod ledger_steps;
pub mod model;
pub mod money;
pub mod offers;
mod operator;
mod pay_in;
mod pay_out;
mod refund;
mod scheduler;
pub mod secrets;
pub mod store;
pub mod versions;
mod watch;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use self::decide::{Budget, Decision, Effect, Input, Retry, decide};
use self::ledger::LedgerClient;
use self::model::{
    PayIn, PayOut, Refund, Stage, StoredQuote, Transfer, TransferEvent, TransferState,
};
use self::store::{Creation, TransferStore};

pub use self::callbacks::CallbackPath;
pub use self::connector_routes::ConnectorCallbackPath;
pub use self::intake::QuoteAsk;
pub use self::operator::Resolution;
use crate::clock::Clock;
use crate::runtime::{Connector, InvokeError, exports};
use crate::wit::{
    Event, Failure, FailureKind, PayInQuery, PayInRequest, PayOutQuery, PayOutRequest,
    PayOutStarted, PayOutStatus, QuoteRequest, RefundRequest,
};
use corridor_runtime::StoreError;
pub(crate) use corridor_runtime::{clock, database, redact, runtime, wit};

/// The callback routes the host gives connectors, after `/callbacks/<connector>/`.
pub use corridor_runtime::routes;

/// Timers and budgets. Every wait has a deadline and every retry a limit.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// After a pay-out is accepted, how long to wait for its result before
    /// asking the provider. Default 60 s.
    pub result_wait: Duration,
    /// The first wait between status queries; doubles up to `query_backoff_max`. Default 5 s.
    pub query_backoff: Duration,
    /// The longest wait between status queries. Default 5 min.
    pub query_backoff_max: Duration,
    /// Status queries before an unresolved pay-out is held for an operator. Default 20.
    pub max_status_queries: u32,
    /// How long after the pay-out request "the provider has no record of it"
    /// is believed (it may still be on its way). Default 60 s.
    pub not_found_grace: Duration,
    /// The first wait before retrying a failed step; doubles up to `retry_backoff_max`. Default 500 ms.
    pub retry_backoff: Duration,
    /// The longest wait between retries. Default 60 s.
    pub retry_backoff_max: Duration,
    /// Tries of one step before the transfer is held. Default 20.
    pub max_attempts: u32,
    /// How often the scheduler looks for due work when nothing wakes it. Default 50 ms.
    pub tick: Duration,
    /// Steps running at once. Default 4096. A step waiting on a slow
    /// provider or the ledger is a parked task (a timer and a few kilobytes),
    /// so this bounds memory, not throughput: the scarce things have bounds
    /// of their own (the instance pool, each policy's `max_concurrent`, the
    /// database's one writer). At 256, a thousand transfers each waiting five
    /// seconds on the ledger went through in waves.
    pub max_parallel_steps: usize,
    /// When a canary version is rolled back without an operator.
    pub canary: versions::CanaryConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            result_wait: Duration::from_secs(60),
            query_backoff: Duration::from_secs(5),
            query_backoff_max: Duration::from_secs(300),
            max_status_queries: 20,
            not_found_grace: Duration::from_secs(60),
            retry_backoff: Duration::from_millis(500),
            retry_backoff_max: Duration::from_secs(60),
            max_attempts: 20,
            tick: Duration::from_millis(50),
            max_parallel_steps: 4096,
            canary: versions::CanaryConfig::default(),
        }
    }
}

/// What the engine refuses, and why. The API maps each to a status and a code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No connector with that id is loaded.
    #[error("no connector {0:?} is loaded")]
    UnknownConnector(String),
    /// The connector does not handle that currency.
    #[error("{0}")]
    UnsupportedCurrency(String),
    /// The amount is outside the connector's limits.
    #[error("{0}")]
    AmountOutOfRange(String),
    /// No such quote.
    #[error("no quote {0:?}")]
    QuoteNotFound(String),
    /// The quote lapsed.
    #[error("quote {id} expired at {expires_at_ms} (now {now_ms}); ask for a new one")]
    QuoteExpired {
        /// The quote.
        id: String,
        /// When it lapsed.
        expires_at_ms: u64,
        /// Now.
        now_ms: u64,
    },
    /// The quote made another transfer already.
    #[error("quote {quote} was used by transfer {transfer}")]
    QuoteUsed {
        /// The quote.
        quote: String,
        /// The transfer it made.
        transfer: String,
    },
    /// The idempotency key was used with another request.
    #[error("Idempotency-Key {0:?} was used with a different request")]
    IdempotencyConflict(String),
    /// No such transfer.
    #[error("no transfer {0:?}")]
    TransferNotFound(String),
    /// The connector will not pay this recipient; its message is for the client.
    #[error("{0}")]
    InvalidRecipient(String),
    /// The connector will not collect from this payer (or needs one); its
    /// message is for the client.
    #[error("{0}")]
    InvalidPayer(String),
    /// The provider said no (via the connector).
    #[error("{}: {}", .0.code, .0.message)]
    Provider(Failure),
    /// The connector's answer did not pass the host's checks.
    #[error("the connector's answer was refused: {0}")]
    Untrusted(String),
    /// The connector call itself failed.
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An operator's action was refused; nothing changed.
    #[error("{0}")]
    Refused(String),
}

/// A new transfer, as the client asks for it.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    /// The quote to transfer at.
    pub quote_id: String,
    /// The recipient as the client gave it; the connector normalises it.
    pub recipient: String,
    /// The payer's account on the pay-in rail, if the client gave one.
    pub payer: Option<String>,
    /// The client's `Idempotency-Key` and the SHA-256 of its request.
    pub idempotency: Option<(String, String)>,
}

/// What the host answers a provider's callback with.
#[derive(Debug, Clone)]
pub struct CallbackReply {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl From<crate::wit::Reply> for CallbackReply {
    fn from(reply: crate::wit::Reply) -> CallbackReply {
        CallbackReply {
            status: reply.status,
            headers: reply.headers,
            body: reply.body,
        }
    }
}

impl CallbackReply {
    fn plain(status: u16, body: &str) -> CallbackReply {
        CallbackReply {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

/// Why a connector call gave no usable answer.
#[derive(Debug)]
enum NoAnswer {
    /// The connector answered with a failure.
    Refused(Failure),
    /// The call itself failed (a trap, the deadline, denied egress): the guest
    /// may have acted before it stopped.
    Broken(InvokeError),
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoAnswer::Refused(failure) => {
                write!(formatter, "{}: {}", failure.code, failure.message)
            }
            NoAnswer::Broken(error) => write!(formatter, "{error}"),
        }
    }
}

/// The engine.
pub struct Engine {
    store: Arc<TransferStore>,
    /// The loaded connector versions and which takes new work.
    registry: versions::Registry,
    version_store: Arc<versions::VersionStore>,
    /// Held while a connector's route changes, so the database and memory
    /// see route changes in the same order.
    route_changes: tokio::sync::Mutex<()>,
    ledger: LedgerClient,
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    public_url: String,
    wake: Notify,
    in_flight: Mutex<HashSet<String>>,
    steps: Arc<Semaphore>,
    /// Clients waiting for a transfer to end.
    watchers: watch::Watchers,
    /// Cleared when the host stops: no more requests are served.
    alive: std::sync::atomic::AtomicBool,
}

fn random_hex(bytes: usize) -> String {
    let mut random = rand::thread_rng();
    (0..bytes)
        .map(|_| format!("{:02x}", random.r#gen::<u8>()))
        .collect()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Marks a transfer as being worked on by this process, until dropped.
struct Claim<'a> {
    engine: &'a Engine,
    id: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.engine.lock_in_flight().remove(&self.id);
    }
}

impl Engine {
    /// An engine over `store`, calling the ledger at `ledger_url`. Callback URLs
    /// start with `public_url` (what providers can reach this host at).
    pub fn new(
        store: Arc<TransferStore>,
        ledger_url: &str,
        public_url: &str,
        config: EngineConfig,
        clock: Arc<dyn Clock>,
    ) -> Arc<Engine> {
        assert!(
            config.max_attempts > 0 && config.max_status_queries > 0,
            "budgets must allow one try"
        );
        Arc::new(Engine {
            version_store: Arc::new(versions::VersionStore::new(store.database())),
            store,
            registry: versions::Registry::default(),
            route_changes: tokio::sync::Mutex::new(()),
            ledger: LedgerClient::new(ledger_url),
            steps: Arc::new(Semaphore::new(config.max_parallel_steps.max(1))),
            config,
            clock,
            public_url: public_url.trim_end_matches('/').to_string(),
            wake: Notify::new(),
            in_flight: Mutex::new(HashSet::new()),
            watchers: watch::Watchers::default(),
            alive: std::sync::atomic::AtomicBool::new(true),
        })
    }

    /// Stops serving: from now on every API and callback request is refused
    /// (503), as if the process had died. Steps in flight are stopped by
    /// aborting [`Engine::run`].
    pub fn shut_down(&self) {
        self.alive.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the engine still serves.
    pub fn is_alive(&self) -> bool {
        self.alive.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The active version of connector `id`.
    pub fn connector(&self, id: &str) -> Result<Arc<Connector>, EngineError> {
        self.registry
            .active(id)
            .map(|loaded| loaded.connector.clone())
            .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))
    }

    /// The ids of the connectors with an active version.
    pub fn connector_ids(&self) -> Vec<String> {
        self.registry.connectors()
    }

    /// Every connector's route: its active version, the previous one and a canary.
    pub fn routes(&self) -> Vec<versions::Route> {
        self.registry.routes()
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn claim(&self, id: &str) -> Option<Claim<'_>> {
        self.lock_in_flight().insert(id.to_string()).then(|| Claim {
            engine: self,
            id: id.to_string(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Runs a store operation on the blocking pool (SQLite syncs to disk).
    async fn db<R: Send + 'static>(
        &self,
        operation: impl FnOnce(&TransferStore) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || operation(&store)).await {
            Ok(result) => result,
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }

    /// Feeds `input` to [`decide`] against the stored transfer and persists
    /// the decision with the one store verb ([`TransferStore::update_async`]);
    /// wakes the scheduler if that made the transfer due. `None`: no such
    /// transfer.
    async fn record(
        &self,
        id: &str,
        input: Input,
        source: Option<&str>,
    ) -> Result<Option<Decision>, StoreError> {
        let (key, source, now_ms) = (id.to_string(), source.map(str::to_string), self.now_ms());
        let Some(updated) = self
            .store
            .update_async(&key, now_ms, move |transfer| {
                decide(transfer, input, now_ms).from_source(source)
            })
            .await?
        else {
            return Ok(None);
        };
        let decision = updated.decision;
        let transfer = &decision.transfer;
        match decision.effect {
            Effect::Unchanged => {
                tracing::debug!(transfer = id, summary = %decision.summary, "nothing changed");
                return Ok(Some(decision));
            }
            Effect::Held => {
                tracing::error!(transfer = id, summary = %decision.summary, "held for an operator")
            }
            Effect::Changed => {}
        }
        // Logged once the change is on disk, never before.
        if transfer.state() != updated.from {
            tracing::info!(transfer = %transfer.id, connector = %transfer.connector, from = %updated.from, to = %transfer.state(), recipient = %crate::redact::account(&transfer.recipient), note = %decision.note(), "state changed");
            metrics::counter!(
                "corridor_transitions_total",
                "connector" => transfer.connector.clone(),
                "from" => updated.from.name(),
                "to" => transfer.state().name(),
            )
            .increment(1);
        }
        if transfer.due_at_ms.is_some_and(|due| due <= now_ms) {
            self.wake.notify_one();
        }
        self.watchers.changed(id);
        Ok(Some(decision))
    }

    /// [`Engine::record`] for a step's result; a store failure is logged
    /// (the step runs again when due).
    async fn feed(&self, id: &str, input: Input) -> Option<Decision> {
        match self.record(id, input, None).await {
            Ok(decision) => decision,
            Err(error) => {
                tracing::error!(transfer = id, %error, "cannot record a step's outcome; it runs again when due");
                None
            }
        }
    }

    /// How failed steps are retried.
    fn retry(&self) -> Retry {
        Retry {
            max_attempts: self.config.max_attempts,
            first_wait_ms: millis(self.config.retry_backoff),
            max_wait_ms: millis(self.config.retry_backoff_max),
        }
    }

    /// How often and how soon a provider is asked after a request whose
    /// outcome is pending or unknown (a pay-out's, a refund's).
    fn query_budget(&self) -> Budget {
        Budget {
            max_queries: self.config.max_status_queries,
            first_wait_ms: millis(self.config.query_backoff),
            max_wait_ms: millis(self.config.query_backoff_max),
        }
    }

    /// A failed step in state `step`: try again later, or hold.
    async fn retry_later(&self, id: &str, step: TransferState, reason: String) {
        tracing::warn!(transfer = id, state = %step, %reason, "step failed; retrying");
        let retry = self.retry();
        self.feed(
            id,
            Input::StepFailed {
                step,
                reason,
                retry,
            },
        )
        .await;
    }

    /// A callback URL: its secret is this transfer's for this route only.
    fn callback_url(&self, transfer: &Transfer, route: &str) -> String {
        let secret = secrets::route_secret(&transfer.callback_token, route);
        format!(
            "{}/callbacks/{}/{route}/{}/{secret}",
            self.public_url, transfer.connector, transfer.id
        )
    }

    /// A transfer.
    pub async fn get(&self, id: &str) -> Result<Transfer, EngineError> {
        // Inline, not on the blocking pool: one indexed row from a read-only
        // connection that no write holds takes microseconds, less than the
        // hand-off to another thread would.
        self.store
            .get(id)?
            .ok_or_else(|| EngineError::TransferNotFound(id.to_string()))
    }

    /// A quote as stored, used or not, lapsed or not.
    pub async fn stored_quote(&self, id: &str) -> Result<Option<StoredQuote>, EngineError> {
        let key = id.to_string();
        Ok(self.store.quote(&key)?)
    }

    /// How many transfers each connector version has in each state.
    pub async fn transfer_counts(&self) -> Result<Vec<store::TransferCount>, EngineError> {
        Ok(self.db(|store| store.count_by_state()).await?)
    }

    /// A transfer's state changes, oldest first.
    pub async fn events(&self, id: &str) -> Result<Vec<TransferEvent>, EngineError> {
        let key = id.to_string();
        // Inline, as `get`: a short indexed read on a read-only connection.
        Ok(self.store.events(&key)?)
    }

    /// The newest transfers.
    pub async fn list(&self, limit: usize) -> Result<Vec<Transfer>, EngineError> {
        Ok(self.db(move |store| store.list(limit)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::decide::backoff;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u64> = (1..=6).map(|attempt| backoff(100, 1000, attempt)).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }
}
