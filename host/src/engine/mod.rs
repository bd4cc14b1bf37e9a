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

pub mod callbacks;
pub mod checks;
pub mod ledger;
pub mod model;
pub mod secrets;
pub mod store;
pub mod transition;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use self::ledger::LedgerClient;
use self::model::{
    FailureNote, PayIn, PayOut, StoredQuote, Transfer, TransferEvent, TransferState,
};
use self::store::{Creation, TransferStore};
use self::transition::refund_of;

pub use self::callbacks::CallbackPath;
use crate::clock::Clock;
use crate::runtime::{Call, CallOutput, Connector, InvokeError};
use crate::store::StoreError;
use crate::wit::{
    Event, Failure, FailureKind, Money, PayInQuery, PayInRequest, PayInStatus, PayOutQuery,
    PayOutRequest, PayOutStarted, PayOutStatus, QuoteRequest, RefundRequest,
};

/// The callback routes the host gives connectors, after `/callbacks/<connector>/`.
pub mod routes {
    /// The pay-in provider's notification (`notify-url`).
    pub const PAY_IN: &str = "pay-in";
    /// The pay-out provider's result, and the answers to pay-out queries (`result-url`).
    pub const PAY_OUT: &str = "pay-out";
    /// The pay-out provider's queue timeout (`timeout-url`).
    pub const PAY_OUT_TIMEOUT: &str = "pay-out-timeout";
    /// The answers to the host's pay-out queries (the query's `result-url`).
    pub const PAY_OUT_STATUS: &str = "pay-out-status";
}

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
    /// Steps running at once. Default 256.
    pub max_parallel_steps: usize,
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
            max_parallel_steps: 256,
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
}

/// A new transfer, as the client asks for it.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    /// The quote to transfer at.
    pub quote_id: String,
    /// The recipient, normalised.
    pub recipient: String,
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
    connectors: RwLock<HashMap<String, Arc<Connector>>>,
    ledger: LedgerClient,
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    public_url: String,
    wake: Notify,
    in_flight: Mutex<HashSet<String>>,
    steps: Arc<Semaphore>,
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

/// `initial × 2^(attempt-1)`, at most `max`.
fn backoff(initial: Duration, max: Duration, attempt: u32) -> u64 {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1).min(20))
        .unwrap_or(u32::MAX);
    millis(initial.saturating_mul(factor).min(max))
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
            store,
            connectors: RwLock::new(HashMap::new()),
            ledger: LedgerClient::new(ledger_url),
            steps: Arc::new(Semaphore::new(config.max_parallel_steps.max(1))),
            config,
            clock,
            public_url: public_url.trim_end_matches('/').to_string(),
            wake: Notify::new(),
            in_flight: Mutex::new(HashSet::new()),
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

    /// Serves transfers with `connector` (replacing a connector with the same id).
    pub fn add_connector(&self, connector: Connector) {
        let id = connector.id().to_string();
        self.connectors
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, Arc::new(connector));
    }

    /// The connector `id`.
    pub fn connector(&self, id: &str) -> Result<Arc<Connector>, EngineError> {
        self.connectors
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::UnknownConnector(id.to_string()))
    }

    /// The ids of the loaded connectors.
    pub fn connector_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .connectors
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
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

    /// Changes a transfer (see [`TransferStore::update`]) and wakes the
    /// scheduler if that made it due.
    async fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Transfer) -> Option<String> + Send + 'static,
    ) -> Result<Option<(Transfer, bool)>, StoreError> {
        let id = id.to_string();
        let now_ms = self.now_ms();
        let moved = Arc::new(Mutex::new(None));
        let record = moved.clone();
        let change = move |transfer: &mut Transfer| {
            let from = transfer.state;
            let note = change(transfer)?;
            if transfer.state != from {
                *record
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Some((from, transfer.state, note.clone()));
            }
            Some(note)
        };
        let updated = self
            .db(move |store| store.update(&id, now_ms, change))
            .await?;
        if let Some((transfer, true)) = &updated {
            // Logged once the change is on disk, never before.
            let moved = moved
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
            if let Some((from, to, note)) = moved {
                tracing::info!(transfer = %transfer.id, connector = %transfer.connector, %from, %to, recipient = %callbacks::masked(&transfer.recipient), %note, "state changed");
            }
            if transfer.due_at_ms.is_some_and(|due| due <= now_ms) {
                self.wake.notify_one();
            }
        }
        Ok(updated)
    }

    /// A callback URL: its secret is this transfer's for this route only.
    fn callback_url(&self, transfer: &Transfer, route: &str) -> String {
        let secret = secrets::route_secret(&transfer.callback_token, route);
        format!(
            "{}/callbacks/{}/{route}/{}/{secret}",
            self.public_url, transfer.connector, transfer.id
        )
    }

    // ---- client operations ----

    /// Prices a transfer, checks the price, and stores the quote.
    pub async fn quote(
        &self,
        connector_id: &str,
        request: QuoteRequest,
    ) -> Result<StoredQuote, EngineError> {
        let connector = self.connector(connector_id)?;
        let descriptor = connector.descriptor();
        if !descriptor.send_currencies.contains(&request.send.currency) {
            return Err(EngineError::UnsupportedCurrency(format!(
                "{connector_id} sends {}, not {}",
                descriptor.send_currencies.join(", "),
                request.send.currency
            )));
        }
        if !descriptor
            .pay_out_currencies
            .contains(&request.receive_currency)
        {
            return Err(EngineError::UnsupportedCurrency(format!(
                "{connector_id} pays out {}, not {}",
                descriptor.pay_out_currencies.join(", "),
                request.receive_currency
            )));
        }
        if let Some(limit) = descriptor
            .limits
            .iter()
            .find(|limit| limit.min.currency == request.send.currency)
            && (request.send.amount_minor < limit.min.amount_minor
                || request.send.amount_minor > limit.max.amount_minor)
        {
            return Err(EngineError::AmountOutOfRange(format!(
                "{} minor units of {} is outside {}..={}",
                request.send.amount_minor,
                request.send.currency,
                limit.min.amount_minor,
                limit.max.amount_minor
            )));
        }
        let unpack = |output| match output {
            CallOutput::Quote(answer) => Some(answer),
            _ => None,
        };
        let quote = match self
            .ask(connector_id, Call::Quote(request.clone()), unpack)
            .await
        {
            Ok(quote) => quote,
            Err(NoAnswer::Refused(failure)) => return Err(EngineError::Provider(failure)),
            Err(NoAnswer::Broken(error)) => return Err(EngineError::Invoke(error)),
        };
        let now_ms = self.now_ms();
        checks::quote(&request, &quote, descriptor, now_ms).map_err(EngineError::Untrusted)?;
        let stored = StoredQuote {
            id: format!("q_{}", random_hex(12)),
            connector: connector_id.to_string(),
            send: quote.send,
            pay_in: quote.pay_in,
            receive: quote.receive,
            fee: quote.fee,
            rate: checks::decimal_text(&quote.rate),
            pay_in_rate: checks::decimal_text(&quote.pay_in_rate),
            expires_at_ms: quote.expires_at_ms,
            rate_source: quote.rate_source,
            created_at_ms: now_ms,
        };
        let record = stored.clone();
        self.db(move |store| store.insert_quote(&record)).await?;
        Ok(stored)
    }

    /// Creates a transfer from a quote (once per quote, once per idempotency
    /// key) and starts its pay-in. Returns the transfer and whether it is new.
    pub async fn create_transfer(
        &self,
        request: NewTransfer,
    ) -> Result<(Transfer, bool), EngineError> {
        // A replay is answered with the transfer it made, even after its quote lapsed.
        if let Some((key, sha)) = &request.idempotency
            && let Some(earlier) = self.replay(key, sha).await?
        {
            return Ok((earlier, false));
        }
        let now_ms = self.now_ms();
        let quote_id = request.quote_id.clone();
        let quote = self
            .db(move |store| store.quote(&quote_id))
            .await?
            .ok_or_else(|| EngineError::QuoteNotFound(request.quote_id.clone()))?;
        if quote.expires_at_ms <= now_ms {
            return Err(EngineError::QuoteExpired {
                id: quote.id,
                expires_at_ms: quote.expires_at_ms,
                now_ms,
            });
        }
        let connector = self.connector(&quote.connector)?;
        let transfer = new_transfer(&quote, &request.recipient, connector.sha256(), now_ms);
        let id = transfer.id.clone();
        let event = TransferEvent {
            state: TransferState::Created,
            at_ms: now_ms,
            detail: format!("from quote {}", quote.id),
        };
        let idempotency = request.idempotency.clone();
        let creation = self
            .db(move |store| {
                let key = idempotency
                    .as_ref()
                    .map(|(key, sha)| (key.as_str(), sha.as_str()));
                store.create(&transfer, key, &event)
            })
            .await?;
        match creation {
            // Another request with the same key won the race.
            Creation::Existing {
                transfer,
                request_sha256,
            } => {
                let same = request
                    .idempotency
                    .as_ref()
                    .is_some_and(|(_, sha)| *sha == request_sha256);
                if same {
                    Ok((*transfer, false))
                } else {
                    Err(EngineError::IdempotencyConflict(
                        request.idempotency.map(|(key, _)| key).unwrap_or_default(),
                    ))
                }
            }
            Creation::QuoteNotFound => Err(EngineError::QuoteNotFound(quote.id)),
            Creation::QuoteUsed(other) => Err(EngineError::QuoteUsed {
                quote: quote.id,
                transfer: other,
            }),
            Creation::Created(created) => {
                tracing::info!(transfer = %id, quote = %quote.id, recipient = %created.recipient, "transfer created");
                if let Some(claim) = self.claim(&id) {
                    self.start_pay_in(&created).await;
                    drop(claim);
                }
                Ok((self.get(&id).await?, true))
            }
        }
    }

    /// The transfer made earlier under `key`, if any. The same key with a
    /// request of another SHA-256 is a conflict.
    pub async fn replay(
        &self,
        key: &str,
        request_sha256: &str,
    ) -> Result<Option<Transfer>, EngineError> {
        let lookup = key.to_string();
        match self
            .db(move |store| store.by_idempotency_key(&lookup))
            .await?
        {
            Some((earlier, sha)) if sha == request_sha256 => Ok(Some(earlier)),
            Some(_) => Err(EngineError::IdempotencyConflict(key.to_string())),
            None => Ok(None),
        }
    }

    /// A transfer.
    pub async fn get(&self, id: &str) -> Result<Transfer, EngineError> {
        let key = id.to_string();
        self.db(move |store| store.get(&key))
            .await?
            .ok_or_else(|| EngineError::TransferNotFound(id.to_string()))
    }

    /// A quote as stored, used or not, lapsed or not.
    pub async fn stored_quote(&self, id: &str) -> Result<Option<StoredQuote>, EngineError> {
        let key = id.to_string();
        Ok(self.db(move |store| store.quote(&key)).await?)
    }

    /// A transfer's state changes.
    pub async fn events(&self, id: &str) -> Result<Vec<TransferEvent>, EngineError> {
        let key = id.to_string();
        Ok(self.db(move |store| store.events(&key)).await?)
    }

    /// The newest transfers.
    pub async fn list(&self, limit: usize) -> Result<Vec<Transfer>, EngineError> {
        Ok(self.db(move |store| store.list(limit)).await?)
    }

    // ---- the scheduler ----

    /// Runs due steps until the task running it is aborted. Aborting it also
    /// aborts every step in flight (they live in its `JoinSet`), which is how
    /// tests kill a host mid-step.
    pub async fn run(self: Arc<Self>) {
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let now_ms = self.now_ms();
            match self.db(move |store| store.due(now_ms, 512)).await {
                Ok(ids) => {
                    for id in ids {
                        let engine = self.clone();
                        let Ok(permit) = self.steps.clone().try_acquire_owned() else {
                            break;
                        };
                        if self.lock_in_flight().contains(&id) {
                            continue;
                        }
                        running.spawn(async move {
                            if let Some(claim) = engine.claim(&id) {
                                engine.step(&id).await;
                                drop(claim);
                            }
                            drop(permit);
                        });
                    }
                }
                Err(error) => tracing::error!(%error, "cannot read due transfers"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.tick) => {}
            }
        }
    }

    /// One step of one transfer: whatever its state calls for.
    async fn step(&self, id: &str) {
        let transfer = match self.get(id).await {
            Ok(transfer) => transfer,
            Err(error) => {
                return tracing::error!(transfer = id, %error, "cannot load a due transfer");
            }
        };
        if transfer.due_at_ms.is_none_or(|due| due > self.now_ms()) {
            return;
        }
        match transfer.state {
            TransferState::Created => self.start_pay_in(&transfer).await,
            TransferState::AwaitingPayIn => self.check_pay_in(&transfer).await,
            TransferState::PaidIn => self.register_with_ledger(&transfer).await,
            TransferState::LedgerRegistered => self.check_with_ledger(&transfer).await,
            TransferState::LedgerConfirmed => self.pay_out(&transfer).await,
            TransferState::PayingOut if transfer.pay_out.requested_at_ms.is_none() => {
                self.pay_out(&transfer).await
            }
            TransferState::PayingOut | TransferState::PayOutUnknown => {
                self.query_pay_out(&transfer).await
            }
            TransferState::PayOutFailed => self.begin_refund(&transfer, "the pay-out failed").await,
            TransferState::Refunding => self.refund(&transfer).await,
            _ => {
                self.apply(id, |transfer| {
                    transfer.due_at_ms = None;
                    Some("nothing to do".into())
                })
                .await;
            }
        }
    }

    /// Applies a change and logs a store failure (the step runs again when due).
    async fn apply(
        &self,
        id: &str,
        change: impl FnOnce(&mut Transfer) -> Option<String> + Send + 'static,
    ) {
        if let Err(error) = self.update(id, change).await {
            tracing::error!(transfer = id, %error, "cannot record a step's outcome; it runs again when due");
        }
    }

    /// Moves a transfer from `from` to `to` (due at `due_at_ms`), after
    /// `edit`, if it is still in `from`; otherwise something else moved it
    /// first (a callback, another step) and this changes nothing.
    async fn advance(
        &self,
        id: &str,
        (from, to): (TransferState, TransferState),
        due_at_ms: Option<u64>,
        note: String,
        edit: impl FnOnce(&mut Transfer) + Send + 'static,
    ) {
        self.apply(id, move |transfer| {
            if transfer.state != from {
                return None;
            }
            edit(transfer);
            transfer.enter(to, due_at_ms);
            Some(note)
        })
        .await;
    }

    /// The step failed in a way that may pass: try again later, or hold the
    /// transfer once its budget is spent.
    async fn retry_later(&self, id: &str, expected: TransferState, reason: String) {
        let (max_attempts, initial, max) = (
            self.config.max_attempts,
            self.config.retry_backoff,
            self.config.retry_backoff_max,
        );
        let now_ms = self.now_ms();
        tracing::warn!(transfer = id, state = %expected, %reason, "step failed; retrying");
        self.apply(id, move |transfer| {
            if transfer.state != expected {
                return None;
            }
            transfer.attempts += 1;
            if transfer.attempts >= max_attempts {
                transfer.hold(
                    "retries-exhausted",
                    format!("{} tries of {expected}: {reason}", transfer.attempts),
                );
                return Some(format!("held: {reason}"));
            }
            transfer.due_at_ms = Some(now_ms + backoff(initial, max, transfer.attempts));
            Some(reason)
        })
        .await;
    }

    /// Calls a connector; `unpack` picks the export's answer out
    /// of its output (a mismatch is a host bug, so it panics).
    async fn ask<T>(
        &self,
        connector_id: &str,
        call: Call,
        unpack: fn(CallOutput) -> Option<Result<T, Failure>>,
    ) -> Result<T, NoAnswer> {
        let name = call.name();
        let connector = self.connector(connector_id).map_err(|error| {
            NoAnswer::Broken(InvokeError {
                connector: connector_id.to_string(),
                call: name,
                kind: crate::InvokeErrorKind::Host(error.to_string()),
            })
        })?;
        let output = connector.invoke(call).await.map_err(NoAnswer::Broken)?;
        match unpack(output) {
            Some(answer) => answer.map_err(NoAnswer::Refused),
            None => unreachable!("{name} answered with another export's output"),
        }
    }

    // ---- pay-in ----

    async fn start_pay_in(&self, transfer: &Transfer) {
        let request = PayInRequest {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_in.reference.clone(),
            amount: transfer.pay_in.amount.clone(),
            subject: format!("Corridor transfer to {}", transfer.recipient),
            notify_url: self.callback_url(transfer, routes::PAY_IN),
            expires_at_ms: transfer.pay_in.expires_at_ms,
        };
        let unpack = |output| match output {
            CallOutput::BeginPayIn(answer) => Some(answer),
            _ => None,
        };
        match self
            .ask(&transfer.connector, Call::BeginPayIn(request), unpack)
            .await
        {
            Ok(instruction) => {
                let moves = (TransferState::Created, TransferState::AwaitingPayIn);
                let due_at_ms = Some(transfer.pay_in.expires_at_ms);
                self.advance(
                    &transfer.id,
                    moves,
                    due_at_ms,
                    "payment instruction issued".into(),
                    |transfer| {
                        transfer.pay_in.payment_url = instruction.payment_url;
                    },
                )
                .await;
            }
            Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                let moves = (TransferState::Created, TransferState::PayInFailed);
                let note = format!("pay-in refused: {}", failure.code);
                self.advance(&transfer.id, moves, None, note, |transfer| {
                    transfer.failure = Some(FailureNote {
                        code: failure.code,
                        message: failure.message,
                    });
                })
                .await;
            }
            Err(no_answer) => {
                self.retry_later(&transfer.id, TransferState::Created, no_answer.to_string())
                    .await
            }
        }
    }

    /// The pay-in window closed: ask the provider before calling it expired
    /// (the notification may have been lost).
    async fn check_pay_in(&self, transfer: &Transfer) {
        let query = PayInQuery {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_in.reference.clone(),
        };
        let unpack = |output| match output {
            CallOutput::QueryPayIn(answer) => Some(answer),
            _ => None,
        };
        let status = match self
            .ask(&transfer.connector, Call::QueryPayIn(query), unpack)
            .await
        {
            Ok(status) => status,
            Err(no_answer) => {
                return self
                    .retry_later(
                        &transfer.id,
                        TransferState::AwaitingPayIn,
                        no_answer.to_string(),
                    )
                    .await;
            }
        };
        let now_ms = self.now_ms();
        match status {
            PayInStatus::Succeeded(receipt) => {
                self.apply_answer(&transfer.id, Event::PayInSucceeded(receipt), "query-pay-in")
                    .await;
            }
            PayInStatus::Failed(failure) => {
                self.apply_answer(
                    &transfer.id,
                    Event::PayInFailed(crate::wit::PayInFailure {
                        reference: transfer.pay_in.reference.clone(),
                        failure,
                    }),
                    "query-pay-in",
                )
                .await;
            }
            PayInStatus::AwaitingPayment | PayInStatus::NotFound => {
                self.apply(&transfer.id, move |transfer| {
                    if transfer.state != TransferState::AwaitingPayIn {
                        return None;
                    }
                    if now_ms < transfer.pay_in.expires_at_ms {
                        transfer.due_at_ms = Some(transfer.pay_in.expires_at_ms);
                        return Some("not paid yet".into());
                    }
                    transfer.failure = Some(FailureNote {
                        code: "pay-in-expired".into(),
                        message: "the payer did not pay before the quote expired".into(),
                    });
                    transfer.enter(TransferState::Expired, None);
                    Some("the pay-in window closed unpaid".into())
                })
                .await;
            }
        }
    }

    // ---- the ledger ----

    async fn register_with_ledger(&self, transfer: &Transfer) {
        let facts = json!({
            "transfer_id": transfer.id,
            "out_trade_no": transfer.pay_in.reference,
            "trade_no": transfer.pay_in.provider_transaction_id,
            "send": transfer.quote.send,
            "receive": transfer.quote.receive,
            "recipient": transfer.recipient,
            "rate": transfer.quote.rate,
        });
        match self.ledger.register(&transfer.id, facts).await {
            Ok(record) => {
                let moves = (TransferState::PaidIn, TransferState::LedgerRegistered);
                let note = format!("ledger id {}", record.ledger_id);
                self.advance(&transfer.id, moves, Some(0), note, |transfer| {
                    transfer.ledger_id = Some(record.ledger_id);
                })
                .await;
            }
            Err(error) => {
                self.retry_later(&transfer.id, TransferState::PaidIn, error.to_string())
                    .await
            }
        }
    }

    async fn check_with_ledger(&self, transfer: &Transfer) {
        let Some(ledger_id) = transfer.ledger_id.clone() else {
            unreachable!(
                "transfer {} is ledger-registered without a ledger id",
                transfer.id
            )
        };
        match self.ledger.is_confirmed(&ledger_id).await {
            Ok(true) => {
                let moves = (
                    TransferState::LedgerRegistered,
                    TransferState::LedgerConfirmed,
                );
                self.advance(
                    &transfer.id,
                    moves,
                    Some(0),
                    format!("ledger confirmed {ledger_id}"),
                    |_| {},
                )
                .await;
            }
            Ok(false) => {
                self.retry_later(
                    &transfer.id,
                    TransferState::LedgerRegistered,
                    "not confirmed yet".into(),
                )
                .await
            }
            Err(error) => {
                self.retry_later(
                    &transfer.id,
                    TransferState::LedgerRegistered,
                    error.to_string(),
                )
                .await
            }
        }
    }

    // ---- pay-out ----

    /// Sends the one pay-out request. Its intent is recorded first: once
    /// `requested_at_ms` is on disk, this transfer's pay-out is never sent
    /// again, only queried.
    async fn pay_out(&self, transfer: &Transfer) {
        let (now_ms, result_wait_ms) = (self.now_ms(), millis(self.config.result_wait));
        let intent = self
            .update(&transfer.id, move |transfer| {
                let first = transfer.state == TransferState::LedgerConfirmed;
                let resend_after_retryable = transfer.state == TransferState::PayingOut
                    && transfer.pay_out.requested_at_ms.is_none();
                if !first && !resend_after_retryable {
                    return None;
                }
                if first {
                    transfer.enter(TransferState::PayingOut, None);
                }
                transfer.pay_out.requested_at_ms = Some(now_ms);
                transfer.due_at_ms = Some(now_ms + result_wait_ms);
                Some(format!("pay-out {} requested", transfer.pay_out.reference))
            })
            .await;
        let transfer = match intent {
            Ok(Some((transfer, true))) => transfer,
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record the pay-out intent; not sending");
            }
        };
        let request = PayOutRequest {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_out.reference.clone(),
            recipient: transfer.recipient.clone(),
            amount: transfer.quote.receive.clone(),
            remarks: format!("Corridor {}", transfer.id),
            result_url: self.callback_url(&transfer, routes::PAY_OUT),
            timeout_url: self.callback_url(&transfer, routes::PAY_OUT_TIMEOUT),
        };
        let unpack = |output| match output {
            CallOutput::BeginPayOut(answer) => Some(answer),
            _ => None,
        };
        match self
            .ask(&transfer.connector, Call::BeginPayOut(request), unpack)
            .await
        {
            Ok(PayOutStarted::Accepted(accepted)) => {
                let now_ms = self.now_ms();
                self.apply(&transfer.id, move |transfer| {
                    if transfer.pay_out.provider_reference.is_some() {
                        return None;
                    }
                    transfer.pay_out.provider_reference = Some(accepted.provider_reference.clone());
                    transfer.pay_out.accepted_at_ms = Some(now_ms);
                    Some(format!("accepted as {}", accepted.provider_reference))
                })
                .await;
            }
            Ok(PayOutStarted::Succeeded(receipt)) => {
                self.apply_answer(
                    &transfer.id,
                    Event::PayOutSucceeded(receipt),
                    "begin-pay-out",
                )
                .await;
            }
            Err(NoAnswer::Refused(failure)) => match failure.kind {
                FailureKind::Failed => {
                    let event = crate::wit::PayOutFailure {
                        reference: None,
                        provider_reference: None,
                        failure,
                    };
                    self.apply_answer(&transfer.id, Event::PayOutFailed(event), "begin-pay-out")
                        .await;
                }
                FailureKind::Retryable => self.pay_out_not_sent(&transfer.id, failure).await,
                FailureKind::Unknown => {
                    let reason = NoAnswer::Refused(failure).to_string();
                    self.pay_out_unknown(&transfer.id, &reason).await
                }
            },
            // The guest may have sent the request before it failed.
            Err(broken) => {
                self.pay_out_unknown(&transfer.id, &broken.to_string())
                    .await
            }
        }
    }

    /// The provider certainly did not act: the same request (same reference)
    /// may go again later.
    async fn pay_out_not_sent(&self, id: &str, failure: Failure) {
        let (max_attempts, initial, max, now_ms) = (
            self.config.max_attempts,
            self.config.retry_backoff,
            self.config.retry_backoff_max,
            self.now_ms(),
        );
        self.apply(id, move |transfer| {
            if transfer.state != TransferState::PayingOut
                || transfer.pay_out.provider_reference.is_some()
            {
                return None;
            }
            transfer.attempts += 1;
            if transfer.attempts >= max_attempts {
                transfer.pay_out.requested_at_ms = Some(now_ms);
                transfer.enter(TransferState::PayOutUnknown, Some(now_ms));
                return Some(format!(
                    "{}: retries exhausted; resolving by query",
                    failure.code
                ));
            }
            transfer.pay_out.requested_at_ms = None;
            transfer.due_at_ms = Some(now_ms + backoff(initial, max, transfer.attempts));
            Some(format!("not sent ({}): {}", failure.code, failure.message))
        })
        .await;
    }

    async fn pay_out_unknown(&self, id: &str, reason: &str) {
        let (reason, due_ms) = (
            reason.to_string(),
            self.now_ms() + millis(self.config.query_backoff),
        );
        tracing::warn!(transfer = id, %reason, "pay-out outcome unknown; it will be queried, never resent");
        let moves = (TransferState::PayingOut, TransferState::PayOutUnknown);
        self.advance(id, moves, Some(due_ms), reason, |_| {}).await;
    }

    /// Asks the provider where the pay-out stands, on a backoff, a bounded number of times.
    async fn query_pay_out(&self, transfer: &Transfer) {
        let config = self.config.clone();
        let now_ms = self.now_ms();
        let counted = self
            .update(&transfer.id, move |transfer| {
                if !matches!(
                    transfer.state,
                    TransferState::PayingOut | TransferState::PayOutUnknown
                ) {
                    return None;
                }
                if transfer.pay_out.queries >= config.max_status_queries {
                    transfer.hold(
                        "pay-out-unresolved",
                        format!(
                            "{} status queries left the pay-out unresolved",
                            transfer.pay_out.queries
                        ),
                    );
                    return Some("held: the pay-out is unresolved".into());
                }
                transfer.pay_out.queries += 1;
                transfer.due_at_ms = Some(
                    now_ms
                        + backoff(
                            config.query_backoff,
                            config.query_backoff_max,
                            transfer.pay_out.queries,
                        ),
                );
                Some(format!("status query {}", transfer.pay_out.queries))
            })
            .await;
        let transfer = match counted {
            Ok(Some((transfer, true))) if !transfer.state.is_terminal() => transfer,
            Ok(_) => return,
            Err(error) => {
                return tracing::error!(transfer = %transfer.id, %error, "cannot record a status query");
            }
        };
        let query = PayOutQuery {
            transfer_id: transfer.id.clone(),
            reference: transfer.pay_out.reference.clone(),
            provider_reference: transfer.pay_out.provider_reference.clone(),
            result_url: self.callback_url(&transfer, routes::PAY_OUT_STATUS),
            timeout_url: self.callback_url(&transfer, routes::PAY_OUT_TIMEOUT),
        };
        let unpack = |output| match output {
            CallOutput::QueryPayOut(answer) => Some(answer),
            _ => None,
        };
        let status = match self
            .ask(&transfer.connector, Call::QueryPayOut(query), unpack)
            .await
        {
            Ok(status) => status,
            Err(no_answer) => {
                return tracing::warn!(transfer = %transfer.id, reason = %no_answer, "status query failed; asking again later");
            }
        };
        match status {
            PayOutStatus::Pending => {}
            PayOutStatus::Succeeded(receipt) => {
                self.apply_answer(
                    &transfer.id,
                    Event::PayOutSucceeded(receipt),
                    "query-pay-out",
                )
                .await;
            }
            PayOutStatus::Failed(failure) => {
                let event = crate::wit::PayOutFailure {
                    reference: None,
                    provider_reference: None,
                    failure,
                };
                self.apply_answer(&transfer.id, Event::PayOutFailed(event), "query-pay-out")
                    .await;
            }
            PayOutStatus::NotFound => {
                let requested_at_ms = transfer
                    .pay_out
                    .requested_at_ms
                    .unwrap_or(transfer.updated_at_ms);
                if now_ms.saturating_sub(requested_at_ms) >= millis(self.config.not_found_grace) {
                    let failure = Failure {
                        kind: FailureKind::Failed,
                        code: "not-found".into(),
                        message: "the provider has no record of the pay-out: it never arrived"
                            .into(),
                    };
                    let event = crate::wit::PayOutFailure {
                        reference: None,
                        provider_reference: None,
                        failure,
                    };
                    self.apply_answer(&transfer.id, Event::PayOutFailed(event), "query-pay-out")
                        .await;
                }
            }
        }
    }

    // ---- refunds ----

    async fn begin_refund(&self, transfer: &Transfer, reason: &str) {
        let reason = reason.to_string();
        let moves = (TransferState::PayOutFailed, TransferState::Refunding);
        self.advance(&transfer.id, moves, Some(0), reason.clone(), |transfer| {
            transfer.refund = Some(refund_of(transfer, reason));
        })
        .await;
    }

    /// Returns the pay-in (idempotent per refund reference), then tells the ledger.
    async fn refund(&self, transfer: &Transfer) {
        let Some(refund) = transfer.refund.clone() else {
            unreachable!("transfer {} is refunding without a refund", transfer.id)
        };
        if refund.refunded_at_ms.is_none() {
            let request = RefundRequest {
                transfer_id: transfer.id.clone(),
                pay_in_reference: transfer.pay_in.reference.clone(),
                reference: refund.reference.clone(),
                amount: transfer.pay_in.amount.clone(),
                reason: refund.reason.clone(),
            };
            let unpack = |output| match output {
                CallOutput::RefundPayIn(answer) => Some(answer),
                _ => None,
            };
            let receipt = match self
                .ask(&transfer.connector, Call::RefundPayIn(request), unpack)
                .await
            {
                Ok(receipt) => receipt,
                Err(NoAnswer::Refused(failure)) if failure.kind == FailureKind::Failed => {
                    let reason = format!("the refund was refused: {}", failure.message);
                    return self.hold(&transfer.id, &failure.code, reason).await;
                }
                Err(no_answer) => {
                    return self
                        .retry_later(
                            &transfer.id,
                            TransferState::Refunding,
                            no_answer.to_string(),
                        )
                        .await;
                }
            };
            if let Err(mismatch) = checks::refund_receipt(transfer, &receipt) {
                return self.hold(&transfer.id, "mismatch", mismatch).await;
            }
            let now_ms = self.now_ms();
            self.apply(&transfer.id, move |transfer| {
                let refund = transfer.refund.as_mut()?;
                refund.refunded_at_ms = Some(now_ms);
                Some("refunded at the provider".into())
            })
            .await;
        }
        let Ok(transfer) = self.get(&transfer.id).await else {
            return;
        };
        if let (Some(ledger_id), None) = (
            &transfer.ledger_id,
            transfer
                .refund
                .as_ref()
                .and_then(|refund| refund.ledger_reversal_id.clone()),
        ) {
            let facts = json!({ "reverses": ledger_id, "transfer_id": transfer.id, "refund": transfer.refund, "amount": transfer.pay_in.amount });
            match self
                .ledger
                .register(&format!("{}/refund", transfer.id), facts)
                .await
            {
                Ok(record) => {
                    self.apply(&transfer.id, move |transfer| {
                        transfer.refund.as_mut()?.ledger_reversal_id =
                            Some(record.ledger_id.clone());
                        Some(format!("ledger reversal {}", record.ledger_id))
                    })
                    .await;
                }
                Err(error) => {
                    return self
                        .retry_later(&transfer.id, TransferState::Refunding, error.to_string())
                        .await;
                }
            }
        }
        let moves = (TransferState::Refunding, TransferState::Refunded);
        self.advance(
            &transfer.id,
            moves,
            None,
            "the payer has the money back".into(),
            |_| {},
        )
        .await;
    }

    /// Stops a transfer for an operator, unless it has finished already.
    async fn hold(&self, id: &str, code: &str, reason: String) {
        tracing::error!(transfer = id, code, %reason, "holding the transfer for an operator");
        let code = code.to_string();
        self.apply(id, move |transfer| {
            (!transfer.state.is_terminal()).then(|| {
                transfer.hold(&code, reason.clone());
                format!("held: {reason}")
            })
        })
        .await;
    }
}

/// A new transfer from a quote. The references are fixed here, once: the
/// pay-in's (Alipay `out_trade_no`) and the one pay-out's (M-PESA
/// `OriginatorConversationID`).
fn new_transfer(
    quote: &StoredQuote,
    recipient: &str,
    connector_sha256: &str,
    now_ms: u64,
) -> Transfer {
    let hex = random_hex(12);
    let reference_root = format!("COR{}", hex.to_ascii_uppercase());
    let pay_in_amount = Money {
        amount_minor: quote.send.amount_minor + quote.fee.amount_minor,
        currency: quote.send.currency.clone(),
    };
    Transfer {
        id: format!("tr_{hex}"),
        connector: quote.connector.clone(),
        connector_sha256: connector_sha256.to_string(),
        state: TransferState::Created,
        recipient: recipient.to_string(),
        pay_in: PayIn {
            reference: reference_root.clone(),
            amount: pay_in_amount,
            expires_at_ms: quote.expires_at_ms,
            payment_url: None,
            provider_transaction_id: None,
            charged: None,
        },
        ledger_id: None,
        pay_out: PayOut {
            reference: format!("{reference_root}-B2C"),
            ..PayOut::default()
        },
        refund: None,
        failure: None,
        callback_token: random_hex(16),
        // The pay-in starts inline; this is the fallback if that is cut short.
        due_at_ms: Some(now_ms + 2_000),
        attempts: 0,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
        quote: quote.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_millis(1000));
        let waits: Vec<u64> = (1..=6)
            .map(|attempt| backoff(initial, max, attempt))
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }
}
