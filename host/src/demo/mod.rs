//! `corridor demo`: the thesis's experiment, done as real software.
//!
//! Starts the provider sandboxes and a host in this process, loads the
//! chosen corridors' connectors (Alipay → M-PESA, M-PESA → MTN MoMo, or both
//! side by side), and sends N transfers per corridor through the client API,
//! C at a time. Each payer pays as its corridor asks (in the Alipay wallet,
//! by approving an M-PESA prompt, or by paying a Paybill); the host does the
//! rest on its own. Then it prints the per-step timing table in the shape of
//! the thesis's Table 5-1 and runs the validity check of its section 5.3,
//! done right, for each corridor.

mod corridors;
mod drive;
mod table;
mod transfer;
mod validity;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};

use crate::SystemClock;
use crate::api::view::TransferView;
use crate::client::Client;
use crate::server::{ConnectorSource, Host, HostConfig};
pub use corridors::DemoCorridor;
use transfer::{Sender, Timing};
use validity::{Check, Expected};

/// Options of `corridor demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Transfers to send, per corridor.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub transfers: u32,
    /// Transfers in flight at once, per corridor.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub concurrency: u32,
    /// Latency profile of the sandboxes: thesis (its delays) or zero.
    #[arg(long, default_value = "thesis", value_parser = ["thesis", "zero"])]
    pub profile: String,
    /// The corridor: alipay-mpesa, mpesa-momo, or all (both at once, through one host).
    #[arg(long, default_value = "alipay-mpesa", value_parser = ["alipay-mpesa", "mpesa-momo", "all"])]
    pub corridor: String,
    /// Each transfer's amount in the corridor's send currency. Default:
    /// US$10.00 (alipay-mpesa), KES 1300.00 (mpesa-momo).
    #[arg(long)]
    pub amount: Option<String>,
    /// The recipient. Default: the sandbox's M-PESA or MoMo account.
    #[arg(long)]
    pub recipient: Option<String>,
    /// How M-PESA pays out on the Alipay → M-PESA corridor: Daraja B2C v3 or
    /// v1, or B2C over the G2 SOAP broker (the policy's `mpesa_pay_out_protocol`).
    #[arg(long, default_value = "daraja-v3", value_parser = ["daraja-v3", "daraja-v1", "broker"])]
    pub pay_out: String,
    /// How M-PESA collects on the M-PESA → MoMo corridor: Daraja STK push
    /// (express), the SOAP Online Checkout (checkout) or a C2B Paybill
    /// (paybill) (the policy's `mpesa_pay_in_protocol`).
    #[arg(long, default_value = "express", value_parser = ["express", "checkout", "paybill"])]
    pub pay_in: String,
    /// The folder of the built connector components.
    #[arg(long, default_value = crate::commands::paths::DEFAULT_WASM_DIR)]
    pub wasm_dir: PathBuf,
    /// Drive a host that runs in another process (`corridor serve`) instead
    /// of starting one here: this process is then only the load driver.
    /// Its sandboxes must run in a third process (`corridor sandbox`); the
    /// validity check, which reads the sandboxes' books, is skipped.
    #[arg(long, requires = "sandbox_port_base")]
    pub host: Option<String>,
    /// With --host: the port base of the running `corridor sandbox`.
    #[arg(long, requires = "host")]
    pub sandbox_port_base: Option<u16>,
    /// With --host: the host's process id, whose CPU time per transfer is
    /// read from /proc before and after the run.
    #[arg(long, requires = "host")]
    pub host_pid: Option<u32>,
}

/// The sandbox buyer who pays every Alipay transfer.
const BUYER: &str = "alipaytest20091@gmail.com";
const BUYER_PASSWORD: &str = "111111";

/// One corridor's part of the demo.
struct Run {
    corridor: DemoCorridor,
    amount: String,
    recipient: String,
    expected: Expected,
}

/// Runs the demo; fails if a transfer did not complete or a check failed.
pub async fn run(args: DemoArgs, policy_dir: &Path, data_dir: &Path) -> anyhow::Result<()> {
    if let Some(host) = args.host.clone() {
        return drive::run(&args, &host).await;
    }
    let corridors = DemoCorridor::chosen(&args.corridor);
    if corridors.len() > 1 && (args.amount.is_some() || args.recipient.is_some()) {
        bail!(
            "--amount and --recipient name one corridor's currency and account: leave them out with --corridor all"
        );
    }
    let sandbox_config = sandbox_config(&args.profile);
    let b2c_charge = sandbox_config.mpesa.b2c_charge_cents;
    let sandbox = Sandbox::start(sandbox_config).await?;
    let host = start_host(&args, &corridors, &sandbox, policy_dir, data_dir).await?;
    let mut runs = Vec::new();
    for corridor in corridors {
        runs.push(prepare(&args, corridor, &sandbox, b2c_charge)?);
    }
    print_banner(&args, &runs, &host, &sandbox);
    let sending = runs.iter().map(|run| {
        let args = &args;
        let order = Order {
            corridor: run.corridor,
            amount: run.amount.clone(),
            recipient: run.recipient.clone(),
        };
        let urls = [
            host.url.clone(),
            sandbox.alipay_url.clone(),
            sandbox.control_url.clone(),
        ];
        async move { send_transfers(args, &order, &urls).await }
    });
    let rounds = futures::future::try_join_all(sending).await?;
    let mut passed = true;
    for (run, round) in runs.iter().zip(rounds) {
        passed &= report(&args, run, round, &sandbox, runs.len() > 1).await;
    }
    drop(host);
    if !passed {
        bail!("the validity check failed");
    }
    println!("\nall transfers completed; every check passed");
    Ok(())
}

/// A corridor's amount, recipient and starting balances, checked.
fn prepare(
    args: &DemoArgs,
    corridor: DemoCorridor,
    sandbox: &Sandbox,
    b2c_charge: i64,
) -> anyhow::Result<Run> {
    let (send, _) = corridor.currencies();
    let amount = corridor.amount(args);
    let amount_minor = crate::api::input::amount("--amount", &amount, send)
        .map_err(|error| anyhow::anyhow!(error.message))?;
    let recipient = crate::api::input::recipient(&corridor.recipient(args))
        .map_err(|error| anyhow::anyhow!(error.message))?;
    let charge_minor = match corridor {
        DemoCorridor::AlipayMpesa => b2c_charge,
        DemoCorridor::MpesaMomo => 0,
    };
    Ok(Run {
        corridor,
        amount,
        recipient,
        expected: Expected {
            transfers: args.transfers,
            amount_minor,
            charge_minor,
            before: corridor.balances(sandbox),
        },
    })
}

/// One corridor's table, throughput and checks; true if every check passed.
async fn report(args: &DemoArgs, run: &Run, round: Round, sandbox: &Sandbox, titled: bool) -> bool {
    if titled {
        println!("\n== {}", run.corridor.id());
    }
    table::print_timings(&round.timings);
    print_throughput(args, round.wall);
    print_overhead(args, run.corridor, &round.timings);
    if run.corridor == DemoCorridor::AlipayMpesa {
        validity::alipay_mpesa::await_results(sandbox, validity::completed(&round.transfers)).await;
    }
    let checks = run
        .corridor
        .checks(sandbox, &round.transfers, &run.expected);
    print_checks(&round.failures, &checks)
}

fn sandbox_config(profile: &str) -> SandboxConfig {
    let profile = if profile == "zero" {
        Profile::Zero
    } else {
        Profile::Thesis
    };
    SandboxConfig {
        profile,
        ..SandboxConfig::default()
    }
}

/// A host in this process, on a fresh `<data_dir>/demo`, whose connectors
/// speak to the sandboxes.
async fn start_host(
    args: &DemoArgs,
    corridors: &[DemoCorridor],
    sandbox: &Sandbox,
    policy_dir: &Path,
    data_dir: &Path,
) -> anyhow::Result<Host> {
    let mut connectors = Vec::new();
    for corridor in corridors {
        let component = args.wasm_dir.join(corridor.wasm());
        anyhow::ensure!(
            component.exists(),
            "{} does not exist; build it with scripts/build-wasm",
            component.display()
        );
        connectors.push(ConnectorSource {
            component,
            policy: corridor.policy(args, sandbox, policy_dir)?,
        });
    }
    let demo_dir = data_dir.join("demo");
    if demo_dir.exists() {
        std::fs::remove_dir_all(&demo_dir)
            .with_context(|| format!("cannot clear {}", demo_dir.display()))?;
    }
    let mut config = HostConfig::new(&demo_dir, &sandbox.ledger_url);
    config.runtime.cache_dir = Some(data_dir.join("cache"));
    // The demo is one client, on loopback, that creates transfers as fast as
    // the host takes them: the per-client limit would measure itself.
    config.api.creation_rate = crate::api::RateLimit {
        replenish_every: Duration::from_micros(100),
        burst: std::num::NonZeroU32::new(10_000).expect("10,000 is not zero"),
    };
    Host::start_with_clock(config, connectors, Arc::new(SystemClock)).await
}

fn print_banner(args: &DemoArgs, runs: &[Run], host: &Host, sandbox: &Sandbox) {
    for run in runs {
        let (send, receive) = run.corridor.currencies();
        println!(
            "corridor demo: {}: {} transfers of {send} {} to {} (paid out in {receive}), {} at a time, {} profile, {}",
            run.corridor.id(),
            args.transfers,
            run.amount,
            run.recipient,
            args.concurrency,
            args.profile,
            run.corridor.protocols(args),
        );
    }
    println!(
        "  host {}  alipay {}  mpesa {}  momo {}  ledger {}",
        host.url, sandbox.alipay_url, sandbox.mpesa_url, sandbox.momo_url, sandbox.ledger_url
    );
}

/// What the transfers came to, in the order they finished.
#[derive(Default)]
struct Round {
    transfers: Vec<TransferView>,
    timings: Vec<Timing>,
    /// The transfers that did not run to the end, as their errors.
    failures: Vec<String>,
    wall: Duration,
}

/// What each payer of a corridor sends.
struct Order {
    corridor: DemoCorridor,
    amount: String,
    recipient: String,
}

/// Sends a corridor's transfers to the host at `urls[0]`, paying at the
/// sandboxes' Alipay (`urls[1]`) and control API (`urls[2]`).
async fn send_transfers(
    args: &DemoArgs,
    order: &Order,
    urls: &[String; 3],
) -> anyhow::Result<Round> {
    let [host_url, alipay_url, control_url] = urls;
    let sender = Arc::new(Sender {
        client: Client::new(host_url),
        corridor: order.corridor,
        wallet: reqwest::Client::builder().no_proxy().build()?,
        alipay_url: alipay_url.clone(),
        control_url: control_url.clone(),
        recipient: order.recipient.clone(),
        amount: order.amount.clone(),
    });
    let progress = progress_bar(args.transfers);
    let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for index in 0..args.transfers {
        let permit = slots.clone().acquire_owned().await?;
        let (sender, progress) = (sender.clone(), progress.clone());
        running.spawn(async move {
            let outcome = sender.send(index).await;
            progress.inc(1);
            drop(permit);
            outcome
        });
    }
    let mut round = Round::default();
    while let Some(joined) = running.join_next().await {
        match joined? {
            Ok((transfer, timing)) => {
                round.timings.push(timing);
                round.transfers.push(transfer);
            }
            Err(error) => round.failures.push(format!("{error:#}")),
        }
    }
    round.wall = started.elapsed();
    progress.finish_and_clear();
    Ok(round)
}

fn progress_bar(transfers: u32) -> indicatif::ProgressBar {
    let progress = indicatif::ProgressBar::new(u64::from(transfers));
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} transfers  {elapsed}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress
}

/// Under the thesis profile, the host's share of the median end-to-end time:
/// what is left once the simulated delays on the path are taken away.
fn print_overhead(args: &DemoArgs, corridor: DemoCorridor, timings: &[Timing]) {
    let config = sandbox_config(&args.profile);
    let Some(delays_ms) = corridor.simulated_delays_ms(&config) else {
        return;
    };
    if args.profile != "thesis" || timings.is_empty() {
        return;
    }
    let mut after: Vec<f64> = timings
        .iter()
        .map(|timing| timing.after_payment_ms)
        .collect();
    after.sort_by(f64::total_cmp);
    let median = after[after.len() / 2];
    println!(
        "host overhead: median end to end after the payment {median:.0} ms - {delays_ms} ms of simulated provider delays = {:.0} ms (goal ≤ 5 ms at concurrency 1)",
        median - delays_ms as f64
    );
}

fn print_throughput(args: &DemoArgs, wall: Duration) {
    let per_second = f64::from(args.transfers) / wall.as_secs_f64();
    println!(
        "\nthroughput: {} transfers in {:.2} s = {per_second:.1} transfers/s (concurrency {})",
        args.transfers,
        wall.as_secs_f64(),
        args.concurrency
    );
}

/// Prints the transfers that did not run and every check; true if all passed.
fn print_checks(failures: &[String], checks: &[Check]) -> bool {
    println!("\nvalidity check (thesis section 5.3, done right):");
    let mut passed = failures.is_empty();
    for failure in failures {
        println!("  FAIL a transfer did not run: {failure}");
    }
    for check in checks {
        println!(
            "  {} {}",
            if check.ok { "ok  " } else { "FAIL" },
            check.line
        );
        passed &= check.ok;
    }
    passed
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
