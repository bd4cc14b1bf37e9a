//! The `corridor` command line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::runtime::{Call, Connector, Runtime, RuntimeConfig};

/// How the pieces fit, for `corridor --help`.
const SHAPE: &str = "\
How it fits together:
  A connector is an untrusted wasm32-wasip2 component (wit/connector.wit) that
  speaks one corridor's providers; its policy (policies/<id>.toml) grants it
  egress, settings, secrets and limits. The host is four layers, each using
  only those below it:
    corridor-runtime  wasmtime, the connectors' capabilities and policies,
                      their sealed key-value store, the database file
    corridor-engine   the transfer record and its states, the pure decisions,
                      the steps that call connectors and the ledger, the scheduler
    corridor-api      the client and callback HTTP API, the Host, its client
    corridor (this)   the command line, the demo, the benchmark, the sandbox
  Log targets follow the layers: --log corridor_engine=debug,connector=trace.";
use crate::{Policy, SqliteStore, SystemClock};

/// Corridor: a payment host that runs corridor connectors as sandboxed
/// WebAssembly components under per-connector policies.
#[derive(Debug, Parser)]
#[command(
    name = "corridor",
    version,
    propagate_version = true,
    after_long_help = SHAPE
)]
pub struct Cli {
    /// Folder for the database (corridor.db) and the compiled-component cache.
    #[arg(long, global = true, default_value = "data", env = "CORRIDOR_DATA_DIR")]
    pub data_dir: PathBuf,

    /// Folder holding one policy file per connector, <connector-id>.toml.
    /// The default is found from any folder inside the repository.
    #[arg(
        long,
        global = true,
        default_value = "policies",
        env = "CORRIDOR_POLICY_DIR"
    )]
    pub policy_dir: PathBuf,

    /// Log filter, e.g. "info" or "corridor_engine=debug,connector=trace".
    /// RUST_LOG, when set, wins over it.
    #[arg(long, global = true, default_value = "warn", env = "CORRIDOR_LOG")]
    pub log: String,

    /// How log lines (on stderr) look: text, or one JSON object per line.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CORRIDOR_LOG_FORMAT"
    )]
    pub log_format: crate::logging::LogFormat,

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
        /// The export: describe, quote, plan-transfer, begin-pay-in, handle-callback,
        /// begin-pay-out, query-pay-out, query-pay-in, refund-pay-in, query-refund,
        /// read-offer or answer-offer.
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
        /// Also list the settings this connector component declares that a
        /// policy does not grant.
        #[arg(long)]
        component: Option<PathBuf>,
    },
    /// Write a connector skeleton (crate and policy) that builds, loads and
    /// passes its own tests, for a new corridor.
    NewConnector {
        /// The connector id: 2 to 40 characters of a-z, 0-9 and -.
        name: String,
        /// Where to write the crate. Default: plugin/<name> in the repository.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The connector kit to depend on. Default: plugin/kit in the repository.
        #[arg(long)]
        kit: Option<PathBuf>,
    },
    /// Measure instantiate-and-call latency (p50/p99) and deadline precision.
    Bench(crate::bench::BenchArgs),
    /// Run the host: the connectors, the transfer engine and the API, until Ctrl-C.
    Serve(ServeArgs),
    /// Send money as a client of a running host: quote, then transfer, both
    /// under one idempotency key, so a retry gives the same transfer.
    Send(crate::commands::send::SendArgs),
    /// Look at transfers on a running host.
    Transfers {
        /// What to do.
        #[command(subcommand)]
        command: TransfersCommand,
    },
    /// Connector versions on a running host: install, list, activate or
    /// canary, roll back, migrate, retire (admin API).
    Connectors {
        /// What to do.
        #[command(subcommand)]
        command: crate::commands::connectors::ConnectorsCommand,
    },
    /// The operators' audit log, newest first (admin API, read token).
    Audit {
        /// At most this many entries.
        #[arg(long)]
        limit: Option<u32>,
        /// The admin API and token.
        #[command(flatten)]
        admin: crate::commands::admin::AdminArgs,
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
    #[arg(long, default_value_t = crate::commands::sandbox::default_buyer().0)]
    pub login: String,
    /// The buyer's payment password.
    #[arg(long, default_value_t = crate::commands::sandbox::default_buyer().1)]
    pub password: String,
    /// The host's API, asked for the payment URL of a transfer id or out_trade_no.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "CORRIDOR_HOST")]
    pub host: String,
}

pub use crate::commands::admin::TransfersCommand;

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
    /// The default is found from any folder inside the repository.
    #[arg(
        long = "component",
        default_value = crate::commands::paths::DEFAULT_COMPONENT
    )]
    pub components: Vec<PathBuf>,
    /// Also run the provider sandboxes in this process and point every
    /// connector's provider URLs and the ledger at them.
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox, fixed sandbox ports: Alipay on this one; M-PESA,
    /// ledger, FX and control on the next four. Default: any free ports.
    #[arg(long, requires = "sandbox")]
    pub port_base: Option<u16>,
    /// The sandboxes' latency profile, with --sandbox.
    #[arg(long, default_value = "zero", value_parser = ["thesis", "zero"])]
    pub profile: String,
    /// Where the admin API listens (loopback). It is on only when there is a
    /// token (--admin-tokens or CORRIDOR_ADMIN_TOKEN); off otherwise.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub admin_bind: std::net::SocketAddr,
    /// The admin tokens file: one `role name token` a line, role read or operate.
    #[arg(long, env = "CORRIDOR_ADMIN_TOKENS")]
    pub admin_tokens: Option<PathBuf>,
    /// Quotes and transfers one client (peer address) may create per second,
    /// and at once. Default 50 (a burst of 100); a load driver needs more.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub creation_rate: Option<u32>,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::init_tls();
    let (data_dir, policy_dir) = (cli.data_dir.as_path(), cli.policy_dir.as_path());
    match cli.command {
        Command::Describe { component, policy } => {
            let connector = ToLoad {
                data_dir,
                policy_dir,
                component: &component,
                policy: policy.as_deref(),
            };
            describe(connector).await
        }
        Command::Invoke {
            component,
            export,
            input,
            policy,
        } => {
            let connector = ToLoad {
                data_dir,
                policy_dir,
                component: &component,
                policy: policy.as_deref(),
            };
            invoke(connector, &export, &input).await
        }
        Command::CheckPolicy { files, component } => {
            check_policies(&files, component.as_deref(), data_dir).await
        }
        Command::NewConnector { name, dir, kit } => {
            crate::commands::new_connector::run(&name, dir, kit, policy_dir)
        }
        Command::Bench(mut args) => {
            let policy_dir = crate::commands::paths::policy_dir(policy_dir)?;
            args.trivial = crate::commands::paths::component(&args.trivial)?;
            crate::bench::run(args, &policy_dir).await
        }
        Command::Serve(args) => serve(args, data_dir, policy_dir).await,
        Command::Send(args) => send(args).await,
        Command::Transfers {
            command: TransfersCommand::Show { id, host },
        } => show_transfer(&host, &id).await,
        Command::Transfers { command } => {
            let (admin, verb) = crate::commands::admin::verb(command);
            crate::commands::admin::print(&admin, &verb).await
        }
        Command::Connectors { command } => crate::commands::connectors::run(command).await,
        Command::Audit { limit, admin } => {
            crate::commands::admin::print(&admin, &crate::commands::admin::Verb::Audit { limit })
                .await
        }
        Command::Demo(mut args) => {
            let policy_dir = crate::commands::paths::policy_dir(policy_dir)?;
            args.wasm_dir = crate::commands::paths::wasm_dir(&args.wasm_dir)?;
            crate::demo::run(args, &policy_dir, data_dir).await
        }
        Command::Sandbox(SandboxArgs {
            command: Some(SandboxCommand::Pay(args)),
            ..
        }) => crate::commands::sandbox::pay(args).await,
        Command::Sandbox(args) => {
            crate::commands::sandbox::run(
                args.config.as_deref(),
                args.profile.as_deref(),
                args.seed,
                args.port_base,
            )
            .await
        }
    }
}

/// `corridor describe`: the descriptor on stdout, the component's hash and
/// policy file on stderr.
async fn describe(connector: ToLoad<'_>) -> anyhow::Result<()> {
    let connector = connector.load().await?;
    let descriptor = connector.descriptor();
    println!("{}", serde_json::to_string_pretty(descriptor)?);
    eprintln!(
        "sha256 {}  policy {}",
        connector.sha256(),
        connector.policy().source.display()
    );
    Ok(())
}

/// The connector `corridor describe` or `invoke` loads, and from where.
struct ToLoad<'a> {
    data_dir: &'a Path,
    policy_dir: &'a Path,
    component: &'a Path,
    policy: Option<&'a Path>,
}

impl ToLoad<'_> {
    async fn load(&self) -> anyhow::Result<Connector> {
        load(self.data_dir, self.policy_dir, self.component, self.policy).await
    }
}

/// `corridor invoke`: the input is checked before the component is loaded.
async fn invoke(connector: ToLoad<'_>, export: &str, input: &str) -> anyhow::Result<()> {
    let input: serde_json::Value =
        serde_json::from_str(input).context("--input is not valid JSON")?;
    let call = parse_call(export, input)?;
    let name = call.name();
    let connector = connector.load().await?;
    let result = connector.invoke(call).await;
    let (printed, failed) = crate::commands::invoke::outcome(name, &result);
    println!("{}", serde_json::to_string_pretty(&printed)?);
    match failed {
        Some(failed) => Err(failed.into()),
        None => Ok(()),
    }
}

/// `corridor transfers show`.
async fn show_transfer(host: &str, id: &str) -> anyhow::Result<()> {
    let transfer = crate::client::Client::new(host).get(id).await?;
    println!("{}", serde_json::to_string_pretty(&transfer)?);
    Ok(())
}

/// A check that found problems: they are printed, one a line, on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{problems} problem(s) in {files} of {checked} policies")]
pub struct PoliciesInvalid {
    /// Problems found.
    pub problems: usize,
    /// Files with at least one.
    pub files: usize,
    /// Files checked.
    pub checked: usize,
}

async fn check_policies(
    files: &[PathBuf],
    component: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let (mut problems, mut failed_files) = (0, 0);
    for file in files {
        let mut report = crate::commands::check_policy::check_file(file);
        if let (Some(component), Some(policy)) = (component, report.policy.clone()) {
            let component = crate::commands::paths::component(component)?;
            report.problems.extend(
                crate::commands::check_policy::settings_problems(&component, policy, data_dir)
                    .await,
            );
        }
        match (&report.policy, report.problems.is_empty()) {
            (Some(policy), true) => println!(
                "{}: ok ({} config keys, {} allowed hosts)",
                file.display(),
                policy.config.len(),
                policy.http.allow.len()
            ),
            _ => {
                for problem in &report.problems {
                    eprintln!("{problem}");
                }
                problems += report.problems.len();
                failed_files += 1;
            }
        }
    }
    if failed_files > 0 {
        return Err(PoliciesInvalid {
            problems,
            files: failed_files,
            checked: files.len(),
        }
        .into());
    }
    Ok(())
}

async fn send(args: crate::commands::send::SendArgs) -> anyhow::Result<()> {
    use crate::commands::send;
    send::check(&args)?;
    let key = match &args.idempotency_key {
        Some(key) => key.clone(),
        None => {
            let key = send::fresh_key();
            // Before any request: if the answer is lost, the key is not.
            eprintln!("retry with --idempotency-key {key} to get this same transfer");
            key
        }
    };
    let transfer = send::send(&args, &key).await?;
    let now_ms = crate::clock::Clock::now_ms(&SystemClock);
    println!("{}", send::render(&transfer, args.json, now_ms)?);
    Ok(())
}

async fn serve(args: ServeArgs, data_dir: &Path, policy_dir: &Path) -> anyhow::Result<()> {
    let policy_dir = crate::commands::paths::policy_dir(policy_dir)?;
    let sandbox = if args.sandbox {
        Some(crate::commands::sandbox::start(&args).await?)
    } else {
        None
    };
    let mut sources = Vec::new();
    for component in &args.components {
        let component = crate::commands::paths::component(component)?;
        let id = connector_id_of(&component)?;
        let mut policy = Policy::load(&policy_dir.join(format!("{id}.toml")))?;
        if let Some(sandbox) = &sandbox {
            policy = crate::commands::sandbox::pointed_at(policy, sandbox);
        }
        sources.push(crate::server::ConnectorSource { component, policy });
    }
    let mut config = crate::server::HostConfig::new(data_dir, &args.ledger_url);
    config.bind = args.bind;
    config.public_url = args.public_url;
    config.admin_tokens = crate::commands::admin::tokens(args.admin_tokens.as_deref())?;
    config.admin_bind = (!config.admin_tokens.is_empty()).then_some(args.admin_bind);
    if let Some(per_second) = args.creation_rate.and_then(std::num::NonZeroU32::new) {
        config.api.creation_rate = crate::api::RateLimit {
            replenish_every: std::time::Duration::from_secs(1) / per_second.get(),
            burst: per_second,
        };
    }
    if let Some(sandbox) = &sandbox {
        config.ledger_url = sandbox.ledger_url.clone();
    }
    let host = crate::server::Host::start(config, sources).await?;
    println!("corridor host: listening on {} (Ctrl-C stops)", host.url);
    match &host.admin_url {
        Some(admin_url) => println!("admin API: {admin_url}"),
        None => println!("admin API: off (no --admin-tokens, no CORRIDOR_ADMIN_TOKEN)"),
    }
    if sandbox.is_some() {
        println!(
            "try it: corridor send --host {} --to 0708374149 --amount 10.00",
            host.url
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
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
        None => crate::commands::paths::policy_dir(policy_dir)?
            .join(format!("{}.toml", connector_id_of(component)?)),
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
