//! `corridor bench`: latency of fresh-instance invocations, and how closely
//! deadlines are kept. A measurement, never a test: it asserts nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

mod activation;

use crate::runtime::{Call, Connector, Runtime, RuntimeConfig};
use crate::wit::{Money, QuoteRequest};
use crate::{Policy, SqliteStore, SystemClock};

/// Options of `corridor bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A connector component whose `describe` is the trivial export: the
    /// Alipay → M-PESA component, loaded under its shipped policy.
    #[arg(
        long,
        default_value = "target/wasm/wasm32-wasip2/release/alipay_mpesa.wasm"
    )]
    pub trivial: PathBuf,
    /// The testbed component (tests/guests/testbed), whose `quote` can use each import once.
    #[arg(
        long,
        default_value = "target/wasm/wasm32-wasip2/release/corridor_testbed.wasm"
    )]
    pub testbed: PathBuf,
    /// Measured calls per case, after a warm-up of a tenth as many.
    #[arg(long, default_value_t = 5000)]
    pub iterations: u32,
    /// Calls that run into their deadline, for the deadline-precision figure.
    #[arg(long, default_value_t = 20)]
    pub deadline_runs: u32,
}

/// Latency percentiles of one case.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The slowest.
    pub max: Duration,
}

/// Percentiles of a set of samples (sorted here).
pub fn percentiles(samples: &mut [Duration]) -> Percentiles {
    assert!(!samples.is_empty(), "percentiles of nothing");
    samples.sort_unstable();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    }
}

fn policy(id: &str, text: &str) -> anyhow::Result<Policy> {
    Ok(Policy::parse(
        Path::new(&format!("{id}.toml")),
        &format!("id = \"{id}\"\n{text}"),
        &|_| None,
    )?)
}

async fn measure(
    connector: &Connector,
    call: &Call,
    iterations: u32,
) -> anyhow::Result<Percentiles> {
    for _ in 0..iterations / 10 {
        connector.invoke(call.clone()).await?;
    }
    let mut samples = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let started = Instant::now();
        connector.invoke(call.clone()).await?;
        samples.push(started.elapsed());
    }
    Ok(percentiles(&mut samples))
}

/// Serves `GET /` → `ok` on a loopback port, for the testbed's HTTP call.
async fn loopback_server() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}"))
}

/// Activations measured, alternating between two builds.
const ACTIVATION_SWAPS: u32 = 50;

/// The deadline of the looping guest, for the deadline-precision figure.
const DEADLINE_MS: u64 = 50;

/// Runs the benchmark and prints its table. The trivial component loads
/// under its shipped policy from `policy_dir` (`<id>.toml`), which grants
/// every setting it declares.
pub async fn run(args: BenchArgs, policy_dir: &Path) -> anyhow::Result<()> {
    let trivial = read_component(&args.trivial)?;
    let testbed = read_component(&args.testbed)?;
    let folder = tempfile_dir()?;
    let store = Arc::new(SqliteStore::open(&folder.join("bench.db"))?);
    let config = RuntimeConfig {
        cache_dir: Some(folder.join("cache")),
        ..RuntimeConfig::default()
    };
    let tick = config.epoch_tick;
    let runtime = Runtime::new(config, store, Arc::new(SystemClock))
        .map_err(|error| anyhow::anyhow!("{error:#}"))?;
    let connectors = Connectors::load(&runtime, trivial, testbed, policy_dir).await?;

    let quote = Call::Quote(QuoteRequest {
        send: Money {
            amount_minor: 1000,
            currency: "USD".into(),
        },
        receive_currency: "KES".into(),
    });
    let describe = measure(&connectors.describe, &Call::Describe, args.iterations).await?;
    let imports = measure(&connectors.imports, &quote, args.iterations).await?;
    let overrun = measure_overruns(&connectors.looping, &quote, args.deadline_runs).await?;
    let activation = activation::measure(
        &read_component(&args.trivial)?,
        Policy::load(&policy_dir.join("alipay-mpesa.toml"))?,
        &folder,
        ACTIVATION_SWAPS,
    )
    .await?;

    println!(
        "corridor bench: fresh store and instance per call, pooling allocator, {} iterations per case",
        args.iterations
    );
    println!("{:<66} {:>10} {:>10} {:>10}", "case", "p50", "p99", "max");
    print_row("instantiate + describe (trivial, no imports)", describe);
    print_row(
        "instantiate + quote (http, storage, clock, config, log once each)",
        imports,
    );
    print_row(
        &format!(
            "deadline {DEADLINE_MS} ms: overrun (epoch tick {} ms)",
            tick.as_millis()
        ),
        overrun,
    );
    print_row(
        &format!("activate a version: request → first call on it ({ACTIVATION_SWAPS} swaps)"),
        activation,
    );
    let _ = std::fs::remove_dir_all(&folder);
    Ok(())
}

fn read_component(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| {
        format!(
            "cannot read {} (build it with scripts/build-wasm)",
            path.display()
        )
    })
}

/// The three cases' connectors.
struct Connectors {
    /// The trivial component under its shipped policy.
    describe: Connector,
    /// The testbed, using each import once, with HTTP to a loopback server.
    imports: Connector,
    /// The testbed, looping until its deadline.
    looping: Connector,
}

impl Connectors {
    async fn load(
        runtime: &Runtime,
        trivial: Vec<u8>,
        testbed: Vec<u8>,
        policy_dir: &Path,
    ) -> anyhow::Result<Self> {
        let base_url = loopback_server().await?;
        let describe = runtime
            .load_bytes(
                trivial,
                Policy::load(&policy_dir.join("alipay-mpesa.toml"))?,
            )
            .await?;
        let imports_policy = policy(
            "testbed",
            &format!(
                "[http]\nallow = [\"{base_url}\"]\n[config]\nbehaviour = \"imports\"\ntarget_url = \"{base_url}/\"\n"
            ),
        )?;
        let imports = runtime.load_bytes(testbed.clone(), imports_policy).await?;
        let loop_policy = policy(
            "testbed",
            &format!("[limits]\ndeadline_ms = {DEADLINE_MS}\n[config]\nbehaviour = \"loop\"\n"),
        )?;
        let looping = runtime.load_bytes(testbed, loop_policy).await?;
        Ok(Self {
            describe,
            imports,
            looping,
        })
    }
}

/// How far past its deadline each of `runs` looping calls ended.
async fn measure_overruns(
    looping: &Connector,
    call: &Call,
    runs: u32,
) -> anyhow::Result<Percentiles> {
    let mut overruns = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let outcome = looping.invoke(call.clone()).await;
        anyhow::ensure!(outcome.is_err(), "the looping guest returned");
        overruns.push(
            started
                .elapsed()
                .saturating_sub(Duration::from_millis(DEADLINE_MS)),
        );
    }
    Ok(percentiles(&mut overruns))
}

fn print_row(case: &str, figures: Percentiles) {
    println!(
        "{case:<66} {:>10} {:>10} {:>10}",
        show(figures.p50),
        show(figures.p99),
        show(figures.max)
    );
}

fn show(duration: Duration) -> String {
    if duration < Duration::from_millis(1) {
        format!("{:.1} µs", duration.as_nanos() as f64 / 1000.0)
    } else {
        format!("{:.2} ms", duration.as_micros() as f64 / 1000.0)
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let folder = std::env::temp_dir().join(format!("corridor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_from_the_sorted_samples() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let figures = percentiles(&mut samples);
        assert_eq!(figures.p50, Duration::from_millis(51));
        assert_eq!(figures.p99, Duration::from_millis(99));
        assert_eq!(figures.max, Duration::from_millis(100));
    }
}
