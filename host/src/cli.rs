//! The `corridor` command line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::runtime::{Call, Connector, Runtime, RuntimeConfig};
use crate::{Policy, SqliteStore, SystemClock};

/// Corridor: a payment host that runs corridor connectors as sandboxed
/// WebAssembly components under per-connector policies.
#[derive(Debug, Parser)]
#[command(name = "corridor", version, propagate_version = true)]
pub struct Cli {
    /// Folder for the database (corridor.db) and the compiled-component cache.
    #[arg(long, global = true, default_value = "data", env = "CORRIDOR_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Folder holding one policy file per connector, <connector-id>.toml.
    #[arg(
        long,
        global = true,
        default_value = "policies",
        env = "CORRIDOR_POLICY_DIR"
    )]
    pub policy_dir: PathBuf,

    /// Log filter, e.g. "info" or "corridor_host=debug,connector=trace".
    #[arg(long, global = true, default_value = "warn", env = "CORRIDOR_LOG")]
    pub log: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load a connector and print what it says it is.
    Describe {
        /// The connector component (.wasm). Its policy is
        /// <policy-dir>/<connector-id>.toml, the id taken from the file name
        /// (alipay_mpesa.wasm → alipay-mpesa) unless --policy says otherwise.
        component: PathBuf,
        /// The policy file, instead of the one found by the component's name.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Load a connector and call one of its exports with a JSON input.
    Invoke {
        /// The connector component (.wasm).
        component: PathBuf,
        /// The export: describe, quote, begin-pay-in, handle-callback,
        /// begin-pay-out, query-pay-out, query-pay-in or refund-pay-in.
        export: String,
        /// The export's input as JSON (the WIT record; fields in snake_case, as `{"send": {"amount_minor": 1000, "currency": "USD"}, "receive_currency": "KES"}`).
        #[arg(long, default_value = "null")]
        input: String,
        /// The policy file, instead of the one found by the component's name.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Check policy files and report every problem.
    CheckPolicy {
        /// The policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Measure instantiate-and-call latency (p50/p99) and deadline precision.
    Bench(crate::bench::BenchArgs),
    /// Run the host: the connectors, the transfer engine and the API, until Ctrl-C.
    Serve(ServeArgs),
    /// Send money as a client of a running host: quote, then transfer.
    Send {
        /// The recipient's M-PESA number (2547XXXXXXXX, 07XXXXXXXX, +254…).
        #[arg(long)]
        to: String,
        /// The amount, e.g. 10.00.
        #[arg(long)]
        amount: String,
        /// The currency of the amount.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// The host's API.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "CORRIDOR_HOST")]
        host: String,
        /// The Idempotency-Key; sending again with the same key returns the same transfer.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Look at transfers on a running host.
    Transfers {
        /// What to do.
        #[command(subcommand)]
        command: TransfersCommand,
    },
    /// The thesis's experiment end to end: sandboxes, host, N transfers, the timing table and the validity check.
    Demo(crate::demo::DemoArgs),
    /// Run the provider simulators (Alipay, M-PESA Daraja, ledger, FX) until
    /// Ctrl-C; `corridor sandbox pay` plays the sandbox payer.
    Sandbox(SandboxArgs),
}

/// `corridor sandbox [options]` runs the simulators; `corridor sandbox pay …` pays.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SandboxArgs {
    /// Something else than running the simulators.
    #[command(subcommand)]
    pub command: Option<SandboxCommand>,
    /// A sandbox configuration file (TOML); defaults are documented in the README.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Latency profile: thesis (the thesis's delays) or zero.
    #[arg(long, value_parser = ["thesis", "zero"])]
    pub profile: Option<String>,
    /// Seed for every random choice, so a run replays.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fixed ports: Alipay on this one; M-PESA, ledger, FX and control on the next four.
    #[arg(long)]
    pub port_base: Option<u16>,
}

/// `corridor sandbox …`.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Pay a transfer's Alipay order as the sandbox buyer, as a browser does:
    /// open the payment URL, fill in the cashier's form, submit it.
    Pay(PayArgs),
}

/// Options of `corridor sandbox pay`.
#[derive(Debug, clap::Args)]
pub struct PayArgs {
    /// The payment URL the payer opens, or a transfer id (tr_…) or its
    /// out_trade_no, whose payment URL the host's API gives.
    pub target: String,
    /// The buyer's Alipay login.
    #[arg(long, default_value_t = sandbox_buyer().0)]
    pub login: String,
    /// The buyer's payment password.
    #[arg(long, default_value_t = sandbox_buyer().1)]
    pub password: String,
    /// The host's API, asked for the payment URL of a transfer id or out_trade_no.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "CORRIDOR_HOST")]
    pub host: String,
}

/// The sandbox's default buyer: `(login, payment password)`.
fn sandbox_buyer() -> (String, String) {
    corridor_sandbox::config::AlipayConfig::default()
        .buyers
        .into_iter()
        .next()
        .map(|buyer| (buyer.login, buyer.pay_password))
        .unwrap_or_default()
}

/// `corridor transfers …`.
#[derive(Debug, Subcommand)]
pub enum TransfersCommand {
    /// Print one transfer, its Pay In, Pay Out and state changes.
    Show {
        /// The transfer id (tr_…).
        id: String,
        /// The host's API.
        #[arg(long, default_value = "http://127.0.0.1:8080", env = "CORRIDOR_HOST")]
        host: String,
    },
}

/// Options of `corridor serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where the API listens (loopback).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// The URL providers reach this host at, for callback URLs. Default: http://<bind>.
    #[arg(long)]
    pub public_url: Option<String>,
    /// The Centiglobe ledger's base URL.
    #[arg(
        long,
        default_value = "http://127.0.0.1:18082",
        env = "CORRIDOR_LEDGER_URL"
    )]
    pub ledger_url: String,
    /// Connector components to load; each runs under <policy-dir>/<id>.toml.
    #[arg(
        long = "component",
        default_value = "target/wasm/wasm32-wasip2/release/alipay_mpesa.wasm"
    )]
    pub components: Vec<PathBuf>,
    /// Also run the provider sandboxes in this process (on any free ports) and
    /// point the Alipay → M-PESA connector and the ledger at them.
    #[arg(long)]
    pub sandbox: bool,
    /// The sandboxes' latency profile, with --sandbox.
    #[arg(long, default_value = "zero", value_parser = ["thesis", "zero"])]
    pub profile: String,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::init_tls();
    match cli.command {
        Command::Describe { component, policy } => {
            let connector = load(
                &cli.data_dir,
                &cli.policy_dir,
                &component,
                policy.as_deref(),
            )
            .await?;
            let descriptor = connector.descriptor();
            println!("{}", serde_json::to_string_pretty(descriptor)?);
            eprintln!(
                "sha256 {}  policy {}",
                connector.sha256(),
                connector.policy().source.display()
            );
            Ok(())
        }
        Command::Invoke {
            component,
            export,
            input,
            policy,
        } => {
            let input: serde_json::Value =
                serde_json::from_str(&input).context("--input is not valid JSON")?;
            let call = parse_call(&export, input)?;
            let connector = load(
                &cli.data_dir,
                &cli.policy_dir,
                &component,
                policy.as_deref(),
            )
            .await?;
            let output = connector.invoke(call).await?;
            println!("{}", serde_json::to_string_pretty(&output)?);
            Ok(())
        }
        Command::CheckPolicy { files } => {
            let mut failed = 0;
            for file in &files {
                match Policy::load(file) {
                    Ok(policy) => println!(
                        "{}: ok ({} config keys, {} allowed hosts)",
                        file.display(),
                        policy.config.len(),
                        policy.http.allow.len()
                    ),
                    Err(error) => {
                        eprintln!("{error}");
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} policies did not validate", files.len());
            }
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Serve(args) => serve(args, &cli.data_dir, &cli.policy_dir).await,
        Command::Send {
            to,
            amount,
            currency,
            host,
            idempotency_key,
        } => {
            let currency = crate::api::input::currency("--currency", &currency)
                .map_err(|error| anyhow::anyhow!(error.message))?;
            crate::api::input::amount("--amount", &amount, &currency)
                .map_err(|error| anyhow::anyhow!(error.message))?;
            let recipient =
                crate::api::input::msisdn(&to).map_err(|error| anyhow::anyhow!(error.message))?;
            let client = crate::client::Client::new(&host);
            let quote = client.quote(&amount, &currency, "KES").await?;
            let key = idempotency_key.unwrap_or_else(|| format!("cli-{}", quote.id));
            let transfer = client.transfer(&quote.id, &recipient, &key).await?;
            println!("{}", serde_json::to_string_pretty(&transfer)?);
            if let Some(url) = &transfer.pay_in.payment_url {
                eprintln!("the payer opens: {url}");
            }
            Ok(())
        }
        Command::Transfers {
            command: TransfersCommand::Show { id, host },
        } => {
            let transfer = crate::client::Client::new(&host).get(&id).await?;
            println!("{}", serde_json::to_string_pretty(&transfer)?);
            Ok(())
        }
        Command::Demo(args) => crate::demo::run(args, &cli.policy_dir, &cli.data_dir).await,
        Command::Sandbox(SandboxArgs {
            command: Some(SandboxCommand::Pay(args)),
            ..
        }) => pay_as_sandbox_buyer(args).await,
        Command::Sandbox(args) => {
            run_sandbox(
                args.config.as_deref(),
                args.profile.as_deref(),
                args.seed,
                args.port_base,
            )
            .await
        }
    }
}

async fn serve(args: ServeArgs, data_dir: &Path, policy_dir: &Path) -> anyhow::Result<()> {
    let sandbox = if args.sandbox {
        let profile = if args.profile == "thesis" {
            corridor_sandbox::Profile::Thesis
        } else {
            corridor_sandbox::Profile::Zero
        };
        let config = corridor_sandbox::SandboxConfig {
            profile,
            ..corridor_sandbox::SandboxConfig::default()
        };
        Some(corridor_sandbox::Sandbox::start(config).await?)
    } else {
        None
    };
    let mut sources = Vec::new();
    for component in &args.components {
        let id = connector_id_of(component)?;
        let mut policy = Policy::load(&policy_dir.join(format!("{id}.toml")))?;
        if let Some(sandbox) = &sandbox {
            policy = policy
                .with_setting(
                    "alipay_gateway_url",
                    &format!("{}/gateway.do", sandbox.alipay_url),
                )
                .with_setting("mpesa_base_url", &sandbox.mpesa_url)
                .with_setting("fx_rates_url", &format!("{}/v1/rates", sandbox.fx_url));
        }
        sources.push(crate::server::ConnectorSource {
            component: component.clone(),
            policy,
        });
    }
    let mut config = crate::server::HostConfig::new(data_dir, &args.ledger_url);
    config.bind = args.bind;
    config.public_url = args.public_url;
    if let Some(sandbox) = &sandbox {
        config.ledger_url = sandbox.ledger_url.clone();
        println!("corridor sandbox:\n{}", sandbox.describe());
    }
    let host = crate::server::Host::start(config, sources).await?;
    println!("corridor host: listening on {} (Ctrl-C stops)", host.url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn run_sandbox(
    config: Option<&Path>,
    profile: Option<&str>,
    seed: Option<u64>,
    port_base: Option<u16>,
) -> anyhow::Result<()> {
    let mut config = match config {
        Some(path) => corridor_sandbox::SandboxConfig::load(path)?,
        None => corridor_sandbox::SandboxConfig::default(),
    };
    if let Some(profile) = profile {
        config.profile = if profile == "zero" {
            corridor_sandbox::Profile::Zero
        } else {
            corridor_sandbox::Profile::Thesis
        };
    }
    if let Some(seed) = seed {
        config.seed = seed;
    }
    if port_base.is_some() {
        config.port_base = port_base;
    }
    let sandbox = corridor_sandbox::Sandbox::start(config).await?;
    println!(
        "corridor sandbox: listening (Ctrl-C stops)\n{}",
        sandbox.describe()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// `corridor sandbox pay`: one line when paid; an error (one line, non-zero
/// exit) when not.
async fn pay_as_sandbox_buyer(args: PayArgs) -> anyhow::Result<()> {
    let payment_url = payment_url_of(&args.target, &args.host).await?;
    let paid = corridor_sandbox::payer::pay(&payment_url, &args.login, &args.password).await?;
    println!(
        "paid: trade_no {} for out_trade_no {} ({} by {})",
        paid.trade_no, paid.out_trade_no, paid.charged, args.login
    );
    Ok(())
}

/// The payment URL `target` names: itself if it is a URL, else the one the
/// host holds for the transfer id (`tr_…`) or `out_trade_no`.
async fn payment_url_of(target: &str, host: &str) -> anyhow::Result<String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(target.to_string());
    }
    let client = crate::client::Client::new(host);
    let transfer = if target.starts_with("tr_") {
        client.get(target).await?
    } else {
        client
            .list(1000)
            .await?
            .into_iter()
            .find(|transfer| transfer.pay_in.out_trade_no == target)
            .with_context(|| {
                format!("no transfer among the host's newest 1000 has out_trade_no {target}")
            })?
    };
    transfer.pay_in.payment_url.with_context(|| {
        format!(
            "transfer {} has no payment URL (state {})",
            transfer.id,
            transfer.state.name()
        )
    })
}

/// Builds a [`Call`] from an export name and its JSON input.
pub fn parse_call(export: &str, input: serde_json::Value) -> anyhow::Result<Call> {
    let value = if export == "describe" {
        serde_json::Value::String(export.to_string())
    } else {
        serde_json::json!({ export: input })
    };
    serde_json::from_value(value)
        .with_context(|| format!("{export:?} is not an export, or --input does not fit it"))
}

/// The connector id a component file implies: `alipay_mpesa.wasm` → `alipay-mpesa`.
pub fn connector_id_of(component: &Path) -> anyhow::Result<String> {
    let stem = component
        .file_stem()
        .and_then(|stem| stem.to_str())
        .with_context(|| format!("{} has no file name", component.display()))?;
    Ok(stem.replace('_', "-"))
}

/// Opens the host's store and runtime in `data_dir`.
pub fn open_runtime(data_dir: &Path) -> anyhow::Result<Runtime> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let store = SqliteStore::open(&data_dir.join("corridor.db"))?;
    let config = RuntimeConfig {
        cache_dir: Some(data_dir.join("cache")),
        ..RuntimeConfig::default()
    };
    Runtime::new(config, Arc::new(store), Arc::new(SystemClock))
        .map_err(|error| anyhow::anyhow!("{error:#}"))
}

async fn load(
    data_dir: &Path,
    policy_dir: &Path,
    component: &Path,
    policy: Option<&Path>,
) -> anyhow::Result<Connector> {
    let policy_path = match policy {
        Some(path) => path.to_path_buf(),
        None => policy_dir.join(format!("{}.toml", connector_id_of(component)?)),
    };
    if !policy_path.exists() {
        return Err(crate::LoadError::NoPolicy {
            connector: connector_id_of(component)?,
            path: policy_path.display().to_string(),
        }
        .into());
    }
    let policy = Policy::load(&policy_path)?;
    let runtime = open_runtime(data_dir)?;
    Ok(runtime.load(component, policy).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_built_from_an_export_name_and_json() {
        assert!(matches!(
            parse_call("describe", serde_json::Value::Null),
            Ok(Call::Describe)
        ));
        let quote = parse_call(
            "quote",
            serde_json::json!({"send": {"amount_minor": 1000, "currency": "USD"}, "receive_currency": "KES"}),
        );
        assert!(matches!(quote, Ok(Call::Quote(_))), "{quote:?}");
        assert!(parse_call("nope", serde_json::Value::Null).is_err());
        assert!(parse_call("quote", serde_json::json!({"send": 5})).is_err());
    }

    #[test]
    fn the_connector_id_comes_from_the_file_name() {
        assert_eq!(
            connector_id_of(Path::new("x/alipay_mpesa.wasm"))
                .ok()
                .as_deref(),
            Some("alipay-mpesa")
        );
    }
}
