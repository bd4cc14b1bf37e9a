//! The Centiglobe ledger (the thesis's blockchain), called by the host itself:
//! `register` a transfer (idempotent by reference), then `check` it.

use std::time::Duration;

use serde::Deserialize;

/// Why a ledger call did not succeed. Every case is safe to retry: register
/// is idempotent by reference and check reads.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The request failed or timed out.
    #[error("ledger unreachable: {0}")]
    Unreachable(String),
    /// The ledger answered with an error.
    #[error("ledger answered HTTP {status}: {body}")]
    Refused {
        /// The status.
        status: u16,
        /// The body.
        body: String,
    },
}

/// A ledger record as the ledger returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerRecord {
    /// The ledger's id.
    pub ledger_id: String,
    /// The caller's reference.
    pub reference: String,
    /// `confirmed` once registered.
    pub status: String,
}

/// The ledger's HTTP API.
#[derive(Clone)]
pub struct LedgerClient {
    base_url: String,
    http: reqwest::Client,
}

impl LedgerClient {
    /// A client of the ledger at `base_url`.
    pub fn new(base_url: &str) -> LedgerClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Registration takes 5 s under the thesis profile.
            .timeout(Duration::from_secs(30))
            .no_proxy()
            .build()
            .unwrap_or_else(|error| panic!("the ledger's HTTP client cannot be built: {error}"));
        LedgerClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
        }
    }

    async fn record(
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<LedgerRecord, LedgerError> {
        let response = response.map_err(|error| LedgerError::Unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|error| LedgerError::Unreachable(error.to_string()))?;
        if status != 200 {
            return Err(LedgerError::Refused { status, body });
        }
        serde_json::from_str(&body).map_err(|error| LedgerError::Refused {
            status,
            body: format!("{error}: {body}"),
        })
    }

    /// Registers `reference` with `facts`; the same reference gets the same id.
    pub async fn register(
        &self,
        reference: &str,
        facts: serde_json::Value,
    ) -> Result<LedgerRecord, LedgerError> {
        let body = serde_json::json!({ "reference": reference, "facts": facts });
        let record = LedgerClient::record(
            self.http
                .post(format!("{}/ledger/register", self.base_url))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await,
        )
        .await?;
        if record.reference != reference {
            return Err(LedgerError::Refused {
                status: 200,
                body: format!("registered {:?}, not {reference:?}", record.reference),
            });
        }
        Ok(record)
    }

    /// Whether `ledger_id` is confirmed.
    pub async fn is_confirmed(&self, ledger_id: &str) -> Result<bool, LedgerError> {
        let record = LedgerClient::record(
            self.http
                .get(format!("{}/ledger/check/{ledger_id}", self.base_url))
                .send()
                .await,
        )
        .await?;
        Ok(record.ledger_id == ledger_id && record.status == "confirmed")
    }
}
