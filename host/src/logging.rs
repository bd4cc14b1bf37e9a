//! The `corridor` binary's logs: which events (the filter), how they look
//! (text for a person, JSON lines for a log shipper), and colour only for a
//! terminal, so a redirected log holds no escape codes.
//!
//! The filter comes from `RUST_LOG` when it is set, because that is where
//! every Rust tool looks and an operator debugging one run reaches for it;
//! otherwise from `--log` / `CORRIDOR_LOG` (default `warn`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields`.
    Json,
}

/// A log filter that does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "{source_name}: {filter:?} is not a log filter ({reason}); e.g. \"info\" or \"corridor_engine=debug\""
)]
pub struct LogFilterError {
    /// Where the filter came from: `RUST_LOG` or `--log`.
    pub source_name: &'static str,
    /// The filter text.
    pub filter: String,
    /// The parser's reason.
    pub reason: String,
}

/// The filter to use, and where it came from: `RUST_LOG` if set and not
/// empty, else the `--log` value.
pub fn filter_text(log_flag: &str, rust_log: Option<String>) -> (&'static str, String) {
    match rust_log {
        Some(text) if !text.trim().is_empty() => ("RUST_LOG", text),
        _ => ("--log", log_flag.to_string()),
    }
}

/// A subscriber writing to `writer` in `format`, filtered by `filter`.
pub fn subscriber<W>(
    (source_name, filter): (&'static str, String),
    format: LogFormat,
    ansi: bool,
    writer: W,
) -> Result<Box<dyn tracing::Subscriber + Send + Sync>, LogFilterError>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let env_filter = EnvFilter::try_new(&filter).map_err(|error| LogFilterError {
        source_name,
        filter: filter.clone(),
        reason: error.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(writer);
    Ok(match format {
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
        LogFormat::Json => Box::new(builder.json().with_ansi(false).finish()),
    })
}

/// Installs the process's subscriber: stderr, colour only on a terminal
/// (and never when `NO_COLOR` is set).
pub fn init(log_flag: &str, format: LogFormat) -> Result<(), LogFilterError> {
    let filter = filter_text(log_flag, std::env::var("RUST_LOG").ok());
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let subscriber = subscriber(filter, format, ansi, std::io::stderr)?;
    // Only fails when a subscriber is set already, which then keeps logging.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_over_the_flag_unless_it_is_empty() {
        assert_eq!(
            filter_text("warn", Some("debug".into())),
            ("RUST_LOG", "debug".to_string())
        );
        assert_eq!(filter_text("info", Some(" ".into())).1, "info");
        assert_eq!(filter_text("info", None), ("--log", "info".to_string()));
    }

    #[test]
    fn a_filter_that_does_not_parse_names_where_it_came_from() {
        let error = subscriber(
            ("--log", "corridor=[".into()),
            LogFormat::Text,
            false,
            std::io::sink,
        )
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
        assert!(error.starts_with("--log: \"corridor=[\""), "{error}");
    }
}
