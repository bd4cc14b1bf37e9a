//! `corridor demo --host URL`: this process is only the load driver, for a
//! host (`corridor serve`) and sandboxes (`corridor sandbox`) running in
//! processes of their own, so the host's CPU time can be read apart.

use std::time::Duration;

use anyhow::Context;

use super::corridors::DemoCorridor;
use super::{DemoArgs, Order, print_throughput, send_transfers, table};

/// The host's CPU time so far (user + system), from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: count after it.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("a /proc stat line without a command name")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are the 12th and 13th after the name.
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .context("a short /proc stat line")?
            .parse::<u64>()
            .context("a /proc stat field that is not a number")
    };
    let total = ticks(11)? + ticks(12)?;
    let per_second = rustix::param::clock_ticks_per_second();
    Ok(Duration::from_micros(total * 1_000_000 / per_second.max(1)))
}

/// Sends `--transfers` through the running host and prints the timing table,
/// the throughput and, with `--host-pid`, the host's CPU time per transfer.
pub(super) async fn run(args: &DemoArgs, host: &str) -> anyhow::Result<()> {
    let corridor = match args.corridor.as_str() {
        "mpesa-momo" => DemoCorridor::MpesaMomo,
        "alipay-mpesa" => DemoCorridor::AlipayMpesa,
        other => anyhow::bail!("--host drives one corridor, not {other:?}"),
    };
    let base = args
        .sandbox_port_base
        .context("--host needs --sandbox-port-base")?;
    let order = Order {
        corridor,
        amount: corridor.amount(args),
        recipient: corridor.recipient(args),
    };
    let urls = [
        host.trim_end_matches('/').to_string(),
        format!("http://127.0.0.1:{base}"),
        format!("http://127.0.0.1:{}", base + 4),
    ];
    println!(
        "corridor demo: {}: {} transfers through the host at {host}, {} at a time (sandboxes from port {base}; no validity check: their books are in another process)",
        corridor.id(),
        args.transfers,
        args.concurrency
    );
    let cpu_before = args.host_pid.map(cpu_time).transpose()?;
    let round = send_transfers(args, &order, &urls).await?;
    let cpu_after = args.host_pid.map(cpu_time).transpose()?;
    table::print_timings(&round.timings);
    print_throughput(args, round.wall);
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let used = after.saturating_sub(before);
        let per_transfer = used.as_secs_f64() * 1000.0 / f64::from(args.transfers);
        println!(
            "host CPU: {:.2} s for {} transfers = {per_transfer:.2} ms per transfer (goal ≤ 1 ms)",
            used.as_secs_f64(),
            args.transfers
        );
    }
    anyhow::ensure!(
        round.failures.is_empty(),
        "{} of {} transfers did not complete; the first: {}",
        round.failures.len(),
        args.transfers,
        round.failures[0]
    );
    Ok(())
}
