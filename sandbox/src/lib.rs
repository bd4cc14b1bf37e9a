//! Faithful local simulators of the providers Corridor talks to.
//!
//! No machine here reaches Alipay or Safaricom, so the connector is judged
//! against these. They check signatures and credentials, send asynchronous
//! callbacks, move balances, and reproduce the providers' quirks and error codes,
//! so that a connector passing here runs against the real sandboxes with only
//! base URLs and credentials changed.
//!
//! Each service listens on its own loopback port, like a separate host:
//!
//! | service | paths |
//! |---|---|
//! | Alipay mapi gateway | `/gateway.do` (a wap order's URL opens the cashier page), `/sandbox/pay` (the payer's step) |
//! | M-PESA Daraja | `/oauth/v1/generate`, `/mpesa/b2c/v1|v3/paymentrequest`, `/mpesa/transactionstatus/v1/query`, `/mpesa/accountbalance/v1/query`, `/mpesa/reversal/v1/request`, `/mpesa/c2b/v1|v2/registerurl|simulate`, `/mpesa/stkpush/v1/processrequest`, `/mpesa/stkpushquery/v1/query`, `/sandbox/certificate.cer`; the G2 SOAP broker beside it: `/mminterface/request`, `/mminterface/registerURL`, `/queryTransactionService/services/transaction`; the Online Checkout (seed 004) at its SOAP path |
//! | MTN MoMo (Open API) | `/v1_0/apiuser`, `/v1_0/apiuser/{id}/apikey`, `/disbursement/token/`, `/disbursement/v1_0/transfer[/{referenceId}]`, `/disbursement/v1_0/account/balance`, `/disbursement/v1_0/accountholder/msisdn/{msisdn}/active` |
//! | Centiglobe ledger | `/ledger/register`, `/ledger/check/{id}` |
//! | FX rates | `/v1/rates?base=USD` |
//! | control | `/control/journal`, `/control/faults`, `/control/fx`, `/control/balances`, `/control/ledger`, `/control/alipay/trades`, `/control/momo/transfers`, `/control/mpesa/c2b/pay` |

pub mod alipay;
pub mod clock;
pub mod config;
mod control;
pub mod faults;
pub mod fx;
pub mod journal;
pub mod ledger;
pub mod momo;
pub mod money;
pub mod mpesa;
pub mod payer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;

pub use config::{ListenerConfig, Profile, SandboxConfig};
use faults::{Faults, InjectedError};
use journal::{Direction, Journal};

/// Shared state of every simulator in one sandbox.
pub(crate) struct World {
    config: SandboxConfig,
    faults: Faults,
    journal: Journal,
    ledger: Mutex<ledger::Ledger>,
    fx: Mutex<fx::RateTable>,
    mpesa: mpesa::Daraja,
    momo: momo::Momo,
    alipay: alipay::Alipay,
    http: reqwest::Client,
}

impl World {
    /// Waits the endpoint's latency and says whether to answer with an
    /// injected error instead.
    async fn gate(&self, endpoint: &str, base_latency: Duration) -> Option<InjectedError> {
        let decision = self.faults.decide(endpoint, base_latency);
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
        decision.error
    }

    /// POSTs a callback, recording it in the journal. Returns the status and
    /// body of the reply, or `None` when no reply came.
    async fn post_callback(
        &self,
        service: &str,
        url: &str,
        content_type: &str,
        body: String,
    ) -> Option<(u16, String)> {
        self.send_callback(service, "POST", url, content_type, body)
            .await
    }

    /// Sends a callback with `method` (MoMo's may be PUT), as [`Self::post_callback`].
    async fn send_callback(
        &self,
        service: &str,
        method: &str,
        url: &str,
        content_type: &str,
        body: String,
    ) -> Option<(u16, String)> {
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let target = format!("{method} {url}");
        let sent = self
            .http
            .request(method, url)
            .header("content-type", content_type)
            .timeout(Duration::from_secs(10))
            .body(body.clone())
            .send()
            .await;
        let reply = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                Some((status, response.text().await.unwrap_or_default()))
            }
            Err(error) => {
                tracing::info!(service, url, %error, "callback not delivered");
                None
            }
        };
        let status = reply.as_ref().map_or(0, |(status, _)| *status);
        self.journal
            .record(service, Direction::Sent, target, status, body);
        reply
    }
}

/// A running sandbox: where each service listens.
pub struct Sandbox {
    /// The Alipay mapi gateway's base URL (`…/gateway.do` is below it).
    pub alipay_url: String,
    /// Daraja's base URL.
    pub mpesa_url: String,
    /// MTN MoMo's base URL (the Open API's host: `/v1_0/…`, `/disbursement/…`).
    pub momo_url: String,
    /// The ledger's base URL.
    pub ledger_url: String,
    /// The FX service's base URL.
    pub fx_url: String,
    /// The control API's base URL.
    pub control_url: String,
    world: Arc<World>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Starts every simulator on its own port of `config.bind` (port 0: any free one).
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        init_tls();
        let ip: std::net::IpAddr = config
            .bind
            .parse()
            .map_err(|_| anyhow::anyhow!("bind: {:?} is not an IP address", config.bind))?;
        anyhow::ensure!(
            ip.is_loopback(),
            "bind: the sandbox serves loopback only, not {ip}"
        );
        anyhow::ensure!(
            (1..=86_400).contains(&config.fx.validity_s),
            "fx.validity_s: {} is not 1 to 86400 seconds",
            config.fx.validity_s
        );
        let world = Arc::new(World {
            faults: Faults::new(config.faults.clone(), config.seed),
            journal: Journal::new(100_000),
            ledger: Mutex::new(ledger::Ledger::default()),
            fx: Mutex::new(fx::RateTable::from_config(&config.fx.rates)?),
            mpesa: mpesa::Daraja::new(&config.mpesa, config.seed)?,
            momo: momo::Momo::new(&config.momo, config.seed)?,
            alipay: alipay::Alipay::new(&config.alipay, config.seed)?,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            config,
        });
        let limits = corridor_serve::ServeLimits::from(world.config.listener);
        limits
            .check()
            .map_err(|error| anyhow::anyhow!("listener: {error}"))?;
        let mut tasks = Vec::new();
        let port_base = world.config.port_base;
        let mut serve = async |router: Router, offset: u16| -> anyhow::Result<String> {
            let port = match port_base {
                Some(base) => base
                    .checked_add(offset)
                    .ok_or_else(|| anyhow::anyhow!("port_base {base} + {offset} is past 65535"))?,
                None => 0,
            };
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(ip, port))
                .await
                .map_err(|error| anyhow::anyhow!("cannot listen on {ip}:{port}: {error}"))?;
            let address = listener.local_addr()?;
            tasks.push(tokio::spawn(corridor_serve::serve(
                listener, router, limits,
            )?));
            Ok(format!("http://{address}"))
        };
        let alipay_url = serve(alipay::router(world.clone()), 0).await?;
        let mpesa_url = serve(mpesa::router(world.clone()), 1).await?;
        let ledger_url = serve(ledger::router(world.clone()), 2).await?;
        let fx_url = serve(fx::router(world.clone()), 3).await?;
        let control_url = serve(control::router(world.clone()), 4).await?;
        let momo_url = serve(momo::router(world.clone()), 5).await?;
        Ok(Sandbox {
            alipay_url,
            mpesa_url,
            momo_url,
            ledger_url,
            fx_url,
            control_url,
            world,
            tasks,
        })
    }

    /// What the simulators received and sent, `service` or all.
    pub fn journal(&self, service: Option<&str>) -> Vec<journal::Entry> {
        self.world.journal.entries(service)
    }

    /// The ledger's records.
    pub fn ledger_records(&self) -> Vec<ledger::Record> {
        faults::lock(&self.world.ledger).records()
    }

    /// The Daraja accounts' balances.
    pub fn mpesa_balances(&self) -> mpesa::Balances {
        self.world.mpesa.balances()
    }

    /// The MoMo disbursement account's and payees' balances.
    pub fn momo_balances(&self) -> momo::Balances {
        self.world.momo.balances()
    }

    /// Every MoMo transfer, by reference id.
    pub fn momo_transfers(&self) -> Vec<momo::TransferRecord> {
        self.world.momo.transfers()
    }

    /// The Alipay trades.
    pub fn alipay_trades(&self) -> Vec<alipay::Trade> {
        self.world.alipay.trades()
    }

    /// The Alipay buyers' CNY balances, fen.
    pub fn alipay_buyer_balances(&self) -> std::collections::BTreeMap<String, i64> {
        self.world.alipay.buyer_balances()
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: faults::FaultPlan) {
        self.world.faults.set(plan);
    }

    /// Prints where each service listens.
    pub fn describe(&self) -> String {
        format!(
            "alipay  {}/gateway.do\nmpesa   {}\nmomo    {}\nledger  {}\nfx      {}/v1/rates?base=USD\ncontrol {}/control/journal\n",
            self.alipay_url,
            self.mpesa_url,
            self.momo_url,
            self.ledger_url,
            self.fx_url,
            self.control_url
        )
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// Installs the ring TLS provider for the callback client (idempotent).
fn init_tls() {
    // An error means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
