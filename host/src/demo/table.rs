//! The per-step timing table, in the shape of the thesis's Table 5-1.

use std::time::Duration;

use super::{Timing, ms};
use crate::bench::percentiles;

/// Prints one row per step: median and p99 over the transfers, next to the
/// thesis's figure.
pub(super) fn print_timings(timings: &[Timing]) {
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
            "Start Pay In (POST /v1/transfers: quote check, instruction)",
            |t| t.pay_in_start_ms,
            "372",
            "",
        ),
        (
            "Start Pay Out (token, credential, pay-out accepted)",
            |t| t.pay_out_start_ms,
            "522",
            "",
        ),
        (
            "PayTask (the payer pays: wallet, prompt or Paybill)",
            |t| t.pay_task_ms,
            "-",
            "user's time",
        ),
        (
            "Complete Pay In (notification, confirm, ledger register)",
            |t| t.pay_in_complete_ms,
            "5334.5",
            "",
        ),
        (
            "Complete Pay Out (ledger check, pay-out, result callback)",
            |t| t.pay_out_complete_ms,
            "3746.5",
            "",
        ),
        (
            "End to end after the payment",
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
