//! `corridor demo`: the thesis's experiment, done as real software.
//!
//! Starts the provider sandboxes and a host in this process, loads the
//! Alipay → M-PESA connector, and sends N transfers of US$10 through the
//! client API, C at a time. Each payer opens the signed Alipay order and pays
//! in the wallet (the sandbox's payer step); the host does the rest on its own.
//! Then it prints the per-step timing table in the shape of the thesis's
//! Table 5-1 and runs the validity check of its section 5.3, done right.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use corridor_sandbox::{Profile, Sandbox, SandboxConfig};

use crate::api::view::TransferView;
use crate::bench::percentiles;
use crate::client::Client;
use crate::engine::model::TransferState;
use crate::server::{ConnectorSource, Host, HostConfig};
use crate::{Policy, SystemClock};

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

/// One transfer's clock readings, ms.
struct Timing {
    quote_ms: f64,
    pay_in_start_ms: f64,
    pay_task_ms: f64,
    pay_out_start_ms: f64,
    pay_in_complete_ms: f64,
    pay_out_complete_ms: f64,
    after_payment_ms: f64,
}

/// Runs the demo; fails if a transfer did not complete or a check failed.
pub async fn run(
    args: DemoArgs,
    policy_dir: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let amount_minor = crate::api::input::amount("--amount", &args.amount, "USD")
        .map_err(|error| anyhow::anyhow!(error.message))?;
    let recipient = crate::api::input::recipient(&args.recipient)
        .map_err(|error| anyhow::anyhow!(error.message))?;
    anyhow::ensure!(
        args.component.exists(),
        "{} does not exist; build it with scripts/build-wasm",
        args.component.display()
    );
    let profile = if args.profile == "zero" {
        Profile::Zero
    } else {
        Profile::Thesis
    };
    let sandbox_config = SandboxConfig {
        profile,
        ..SandboxConfig::default()
    };
    let charge_cents = sandbox_config.mpesa.b2c_charge_cents;
    let sandbox = Sandbox::start(sandbox_config).await?;
    let policy = Policy::load(&policy_dir.join("alipay-mpesa.toml"))?
        .with_setting(
            "alipay_gateway_url",
            &format!("{}/gateway.do", sandbox.alipay_url),
        )
        .with_setting("mpesa_base_url", &sandbox.mpesa_url)
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
    let host = Host::start_with_clock(
        config,
        vec![ConnectorSource {
            component: args.component.clone(),
            policy,
        }],
        Arc::new(SystemClock),
    )
    .await?;
    println!(
        "corridor demo: {} transfers of US${} to {recipient}, {} at a time, {} profile\n  host {}  alipay {}  mpesa {}  ledger {}",
        args.transfers,
        args.amount,
        args.concurrency,
        args.profile,
        host.url,
        sandbox.alipay_url,
        sandbox.mpesa_url,
        sandbox.ledger_url
    );
    let utility_before = sandbox.mpesa_balances().utility_cents;
    let buyer_before = sandbox
        .alipay_buyer_balances()
        .get(BUYER)
        .copied()
        .unwrap_or_default();

    let client = Client::new(&host.url);
    let payer = reqwest::Client::builder().no_proxy().build()?;
    let progress = indicatif::ProgressBar::new(u64::from(args.transfers));
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} transfers  {elapsed}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let slots = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for index in 0..args.transfers {
        let permit = slots.clone().acquire_owned().await?;
        let (client, payer, recipient, amount) = (
            client.clone(),
            payer.clone(),
            recipient.clone(),
            args.amount.clone(),
        );
        let (alipay_url, progress) = (sandbox.alipay_url.clone(), progress.clone());
        running.spawn(async move {
            let outcome =
                one_transfer(&client, &payer, &alipay_url, &recipient, &amount, index).await;
            progress.inc(1);
            drop(permit);
            outcome
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = running.join_next().await {
        results.push(joined?);
    }
    let wall = started.elapsed();
    progress.finish_and_clear();

    let mut timings = Vec::new();
    let mut transfers = Vec::new();
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok((transfer, timing)) => {
                timings.push(timing);
                transfers.push(transfer);
            }
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    print_timings(&timings);
    let per_second = f64::from(args.transfers) / wall.as_secs_f64();
    println!(
        "\nthroughput: {} transfers in {:.2} s = {per_second:.1} transfers/s (concurrency {})",
        args.transfers,
        wall.as_secs_f64(),
        args.concurrency
    );

    let checks = validity(
        &sandbox,
        &transfers,
        amount_minor,
        charge_cents,
        utility_before,
        buyer_before,
        args.transfers,
    );
    println!("\nvalidity check (thesis section 5.3, done right):");
    let mut passed = failures.is_empty();
    for failure in &failures {
        println!("  FAIL a transfer did not run: {failure}");
    }
    for (ok, line) in &checks {
        println!("  {} {line}", if *ok { "ok  " } else { "FAIL" });
        passed &= ok;
    }
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

/// Quote, transfer, pay, wait: one payer's transfer.
async fn one_transfer(
    client: &Client,
    payer: &reqwest::Client,
    alipay_url: &str,
    recipient: &str,
    amount: &str,
    index: u32,
) -> anyhow::Result<(TransferView, Timing)> {
    let clock = Instant::now();
    let quote = client.quote(amount, "USD", "KES").await?;
    let quote_ms = ms(clock.elapsed());
    let clock = Instant::now();
    let created = client
        .transfer(&quote.id, recipient, &format!("demo-{}-{index}", quote.id))
        .await?;
    let pay_in_start_ms = ms(clock.elapsed());
    let payment_url = created
        .pay_in
        .payment_url
        .clone()
        .context("the transfer has no payment URL")?;
    // The payer's wallet: open the signed order (Alipay creates the trade),
    // then pay with the payment password (the thesis's PayTask).
    let clock = Instant::now();
    let cashier = payer.get(&payment_url).send().await?;
    anyhow::ensure!(
        cashier.status().is_success(),
        "the Alipay cashier answered {}",
        cashier.status()
    );
    let page = cashier.text().await?;
    anyhow::ensure!(
        page.contains("Alipay cashier"),
        "the Alipay gateway refused the order: {page}"
    );
    let form = [
        ("partner", "2088101122136241"),
        ("out_trade_no", created.pay_in.reference.as_str()),
        ("login", BUYER),
        ("pay_password", BUYER_PASSWORD),
    ];
    let wallet: serde_json::Value = payer
        .post(format!("{alipay_url}/sandbox/pay"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form)?)
        .send()
        .await?
        .bytes()
        .await
        .map(|body| serde_json::from_slice(&body).unwrap_or_default())?;
    anyhow::ensure!(
        wallet["resultStatus"] == "9000",
        "the wallet did not pay: {wallet}"
    );
    let paid_at_ms = crate::clock::Clock::now_ms(&SystemClock);
    let pay_task_ms = ms(clock.elapsed());
    let mut done = client
        .wait_until_final(&created.id, Duration::from_secs(180))
        .await?;
    anyhow::ensure!(
        done.state == TransferState::Completed,
        "transfer {} ended {}: {:?}",
        done.id,
        done.state,
        done.failure
    );
    // The result callback can complete a transfer a moment before the B2C
    // acknowledgement (ConversationID, acceptance time) is recorded.
    for _ in 0..250 {
        if done.pay_out.accepted_at_ms.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        done = client.get(&created.id).await?;
    }
    let at = |state: TransferState| {
        done.events
            .iter()
            .find(|event| event.state == state)
            .map(|event| event.at_ms)
            .context(format!("no {state} event"))
    };
    let since = |from: u64, to: u64| to.saturating_sub(from) as f64;
    let (registered, paying_out, completed) = (
        at(TransferState::LedgerRegistered)?,
        at(TransferState::PayingOut)?,
        at(TransferState::Completed)?,
    );
    let accepted = done
        .pay_out
        .accepted_at_ms
        .context("the pay-out has no acceptance time")?;
    let timing = Timing {
        quote_ms,
        pay_in_start_ms,
        pay_task_ms,
        pay_out_start_ms: since(paying_out, accepted),
        pay_in_complete_ms: since(paid_at_ms, registered),
        pay_out_complete_ms: since(registered, completed),
        after_payment_ms: since(paid_at_ms, completed),
    };
    Ok((done, timing))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn print_timings(timings: &[Timing]) {
    if timings.is_empty() {
        return;
    }
    type Column = fn(&Timing) -> f64;
    let rows: [(&str, Column, &str, &str); 7] = [
        (
            "Quote (rates source; the thesis had a fixed factor)",
            |t| t.quote_ms,
            "-",
            "",
        ),
        (
            "Start Pay In (POST /v1/transfers: quote check, signed order)",
            |t| t.pay_in_start_ms,
            "372",
            "",
        ),
        (
            "Start Pay Out (OAuth, SecurityCredential, B2C accepted)",
            |t| t.pay_out_start_ms,
            "522",
            "",
        ),
        (
            "PayTask (payer opens the order, pays in the wallet)",
            |t| t.pay_task_ms,
            "-",
            "user's time",
        ),
        (
            "Complete Pay In (notification, verify, ledger register)",
            |t| t.pay_in_complete_ms,
            "5334.5",
            "",
        ),
        (
            "Complete Pay Out (ledger check, B2C, result callback)",
            |t| t.pay_out_complete_ms,
            "3746.5",
            "",
        ),
        (
            "End to end after the Alipay payment",
            |t| t.after_payment_ms,
            "~9100",
            "",
        ),
    ];
    println!(
        "\n{:<64} {:>10} {:>10} {:>10}",
        "procedure (ms)", "median", "p99", "thesis"
    );
    for (name, column, thesis, note) in rows {
        let mut samples: Vec<Duration> = timings
            .iter()
            .map(|t| Duration::from_secs_f64(column(t) / 1000.0))
            .collect();
        let figures = percentiles(&mut samples);
        println!(
            "{name:<64} {:>10.1} {:>10.1} {thesis:>10} {note}",
            ms(figures.p50),
            ms(figures.p99)
        );
    }
}

/// The section 5.3 checks: every provider id pairs with exactly one transfer,
/// and the balances moved by exactly what the transfers say.
fn validity(
    sandbox: &Sandbox,
    transfers: &[TransferView],
    amount_minor: i64,
    charge_cents: i64,
    utility_before: i64,
    buyer_before: i64,
    expected: u32,
) -> Vec<(bool, String)> {
    let mut checks = Vec::new();
    let completed = transfers
        .iter()
        .filter(|transfer| transfer.state == TransferState::Completed)
        .count();
    checks.push((
        completed == expected as usize,
        format!("{completed} of {expected} transfers completed"),
    ));
    // Alipay: every trade_no the notifications carried is one transfer's Pay In.
    let by_trade: HashMap<&str, &TransferView> = transfers
        .iter()
        .filter_map(|transfer| {
            Some((
                transfer.pay_in.provider_transaction_id.as_deref()?,
                transfer,
            ))
        })
        .collect();
    let trades = sandbox.alipay_trades();
    let paid: Vec<_> = trades
        .iter()
        .filter(|trade| trade.trade_no.is_some())
        .collect();
    let paired_trades = paid
        .iter()
        .filter(|trade| {
            trade
                .trade_no
                .as_deref()
                .and_then(|number| by_trade.get(number))
                .is_some_and(|transfer| transfer.pay_in.reference == trade.out_trade_no)
        })
        .count();
    checks.push((
        paired_trades == paid.len() && paired_trades == completed,
        format!("{paired_trades} of {} Alipay trade numbers paired with a transfer's Pay In (out_trade_no and trade_no)", paid.len()),
    ));
    // M-PESA: every ConversationID in a B2C result is one transfer's Pay Out.
    let by_conversation: HashMap<&str, &TransferView> = transfers
        .iter()
        .filter_map(|transfer| Some((transfer.pay_out.provider_reference.as_deref()?, transfer)))
        .collect();
    let mut conversations = BTreeMap::new();
    for entry in sandbox.journal(Some("mpesa")) {
        // The B2C results: Daraja's callbacks to the pay-out's own route
        // (a status answer goes to `pay-out-status`, a queue timeout to
        // `pay-out-timeout`).
        let b2c_result_route = format!("/{}/", crate::engine::routes::PAY_OUT);
        if entry.direction == corridor_sandbox::journal::Direction::Sent
            && entry.target.contains(&b2c_result_route)
        {
            let body: serde_json::Value = serde_json::from_str(&entry.body).unwrap_or_default();
            if let Some(id) = body["Result"]["ConversationID"].as_str() {
                conversations.insert(
                    id.to_string(),
                    body["Result"]["OriginatorConversationID"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
    let paired_conversations = conversations
        .iter()
        .filter(|(conversation, originator)| {
            by_conversation
                .get(conversation.as_str())
                .is_some_and(|transfer| transfer.pay_out.reference == **originator)
        })
        .count();
    checks.push((
        paired_conversations == conversations.len() && paired_conversations == completed,
        format!(
            "{paired_conversations} of {} M-PESA ConversationIDs paired with a transfer's Pay Out",
            conversations.len()
        ),
    ));
    let b2c_requests = sandbox
        .journal(Some("mpesa"))
        .iter()
        .filter(|entry| entry.target.contains("/paymentrequest"))
        .count();
    checks.push((
        b2c_requests == completed,
        format!("{b2c_requests} B2C requests for {completed} transfers: one each, none resent"),
    ));
    // Balances.
    let received: i64 = transfers
        .iter()
        .map(|transfer| transfer.pay_out.amount.amount_minor)
        .sum();
    let utility_drop = utility_before - sandbox.mpesa_balances().utility_cents;
    let expected_drop = received + charge_cents * completed as i64;
    checks.push((
        utility_drop == expected_drop,
        format!(
            "M-PESA utility account down {} KES = Σ receive {} KES + {completed} × {} KES charge ({} expected)",
            kes(utility_drop),
            kes(received),
            kes(charge_cents),
            kes(expected_drop)
        ),
    ));
    let charged: i64 = transfers
        .iter()
        .map(|transfer| transfer.pay_in.charged_estimate.amount_minor)
        .sum();
    let buyer_drop = buyer_before
        - sandbox
            .alipay_buyer_balances()
            .get(BUYER)
            .copied()
            .unwrap_or_default();
    checks.push((
        buyer_drop == charged,
        format!(
            "Alipay buyer down {} CNY = Σ amount at the quoted CNY rate {} CNY",
            kes(buyer_drop),
            kes(charged)
        ),
    ));
    let sent = amount_minor * completed as i64;
    let sent_total: i64 = transfers
        .iter()
        .map(|transfer| transfer.send.amount_minor)
        .sum();
    checks.push((
        sent == sent_total,
        format!("US${} sent in all", kes(sent_total)),
    ));
    checks
}

/// Minor units as a two-decimal amount.
fn kes(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        minor.unsigned_abs() / 100,
        minor.unsigned_abs() % 100
    )
}
