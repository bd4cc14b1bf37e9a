//! `corridor demo`: the thesis's experiment, done as real software.
//!
//! Starts the provider sandboxes and a host in this process, loads the
//! Alipay → M-PESA connector, and sends N transfers of US$10 through the
//! client API, C at a time. Each payer opens the signed Alipay order and pays
//! in the wallet (the sandbox's payer step); the host does the rest on its own.
//! Then it prints the per-step timing table in the shape of the thesis's
//! Table 5-1 and runs the validity check of its section 5.3, done right.

mod table;
mod transfer;
mod validity;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};

use crate::api::view::TransferView;
use crate::client::Client;
use crate::server::{ConnectorSource, Host, HostConfig};
use crate::{Policy, SystemClock};
use transfer::{Sender, Timing};
use validity::{Balances, Check, Expected};

/// Options of `corridor demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Transfers to send.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub transfers: u32,
    /// Transfers in flight at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub concurrency: u32,
    /// Latency profile of the sandboxes: thesis (its delays) or zero.
    #[arg(long, default_value = "thesis", value_parser = ["thesis", "zero"])]
    pub profile: String,
    /// The amount of each transfer, in USD.
    #[arg(long, default_value = "10.00")]
    pub amount: String,
    /// The M-PESA recipient.
    #[arg(long, default_value = "254708374149")]
    pub recipient: String,
    /// How M-PESA pays out: Daraja B2C v3 or v1, or B2C over the G2 SOAP
    /// broker (the policy's `mpesa_pay_out_protocol`).
    #[arg(long, default_value = "daraja-v3", value_parser = ["daraja-v3", "daraja-v1", "broker"])]
    pub pay_out: String,
    /// The connector component.
    #[arg(
        long,
        default_value = "target/wasm/wasm32-wasip2/release/alipay_mpesa.wasm"
    )]
    pub component: PathBuf,
}

/// The sandbox buyer who pays every transfer.
const BUYER: &str = "alipaytest20091@gmail.com";
const BUYER_PASSWORD: &str = "111111";

/// Runs the demo; fails if a transfer did not complete or a check failed.
pub async fn run(args: DemoArgs, policy_dir: &Path, data_dir: &Path) -> anyhow::Result<()> {
    let amount_minor = crate::api::input::amount("--amount", &args.amount, "USD")
        .map_err(|error| anyhow::anyhow!(error.message))?;
    let recipient = crate::api::input::recipient(&args.recipient)
        .map_err(|error| anyhow::anyhow!(error.message))?;
    anyhow::ensure!(
        args.component.exists(),
        "{} does not exist; build it with scripts/build-wasm",
        args.component.display()
    );
    let sandbox_config = sandbox_config(&args.profile);
    let charge_cents = sandbox_config.mpesa.b2c_charge_cents;
    let sandbox = Sandbox::start(sandbox_config).await?;
    let host = start_host(&args, &sandbox, policy_dir, data_dir).await?;
    print_banner(&args, &recipient, &host, &sandbox);
    let before = Balances::read(&sandbox);

    let round = send_transfers(&args, &host.url, &sandbox.alipay_url, &recipient).await?;
    table::print_timings(&round.timings);
    print_throughput(&args, round.wall);

    let expected = Expected {
        transfers: args.transfers,
        amount_minor,
        charge_cents,
        before,
    };
    let completed = round
        .transfers
        .iter()
        .filter(|transfer| transfer.state == crate::engine::model::TransferState::Completed)
        .count();
    validity::await_results(&sandbox, completed).await;
    let checks = validity::checks(&sandbox, &round.transfers, &expected);
    let passed = print_checks(&round.failures, &checks);
    drop(host);
    if !passed {
        bail!("the validity check failed");
    }
    println!(
        "\nall {} transfers completed; every check passed",
        args.transfers
    );
    Ok(())
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

/// A host in this process, on a fresh `<data_dir>/demo`, whose connector
/// speaks to the sandboxes.
async fn start_host(
    args: &DemoArgs,
    sandbox: &Sandbox,
    policy_dir: &Path,
    data_dir: &Path,
) -> anyhow::Result<Host> {
    let policy = Policy::load(&policy_dir.join("alipay-mpesa.toml"))?
        .with_setting(
            "alipay_gateway_url",
            &format!("{}/gateway.do", sandbox.alipay_url),
        )
        .with_setting("mpesa_base_url", &sandbox.mpesa_url)
        .with_setting("mpesa_broker_url", &sandbox.mpesa_url)
        .with_setting("mpesa_pay_out_protocol", &args.pay_out)
        .with_setting("fx_rates_url", &format!("{}/v1/rates", sandbox.fx_url));
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
    let connector = ConnectorSource {
        component: args.component.clone(),
        policy,
    };
    Host::start_with_clock(config, vec![connector], Arc::new(SystemClock)).await
}

fn print_banner(args: &DemoArgs, recipient: &str, host: &Host, sandbox: &Sandbox) {
    println!(
        "corridor demo: {} transfers of US${} to {recipient}, {} at a time, {} profile, M-PESA pay-out by {}\n  host {}  alipay {}  mpesa {}  ledger {}",
        args.transfers,
        args.amount,
        args.concurrency,
        args.profile,
        args.pay_out,
        host.url,
        sandbox.alipay_url,
        sandbox.mpesa_url,
        sandbox.ledger_url
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

/// Sends every transfer, `concurrency` at a time, with a progress bar.
async fn send_transfers(
    args: &DemoArgs,
    host_url: &str,
    alipay_url: &str,
    recipient: &str,
) -> anyhow::Result<Round> {
    let sender = Arc::new(Sender {
        client: Client::new(host_url),
        wallet: reqwest::Client::builder().no_proxy().build()?,
        alipay_url: alipay_url.to_string(),
        recipient: recipient.to_string(),
        amount: args.amount.clone(),
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
