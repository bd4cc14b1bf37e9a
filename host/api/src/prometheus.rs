//! The operator's metrics in the Prometheus text format, served at
//! `/metrics` on the admin listener. The layers count through the `metrics`
//! facade (`corridor_connector_calls_total`, `corridor_step_seconds`, …);
//! this module installs the process's one recorder and renders it, with the
//! transfers by connector and state read from the store at each scrape.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::engine::Engine;

/// The process's recorder, installed by the first host that starts. `None`
/// when something else installed a recorder first (the metrics then go there).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Everything counted so far, and the transfers by connector and state now.
pub async fn render(engine: &Engine) -> String {
    match engine.transfer_counts().await {
        Ok(counts) => {
            for count in counts {
                let version = count
                    .version
                    .get(..12)
                    .unwrap_or(&count.version)
                    .to_string();
                metrics::gauge!(
                    "corridor_transfers",
                    "connector" => count.connector,
                    "version" => version,
                    "state" => count.state,
                )
                .set(count.count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot count transfers for /metrics"),
    }
    recorder().map(PrometheusHandle::render).unwrap_or_default()
}
