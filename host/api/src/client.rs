//! A client of the host's API, for the `send` and `transfers` commands and
//! the demo. Errors carry the API's code and message.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::engine::model::StoredQuote;
use crate::view::TransferView;

/// An API call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The host refused the request.
    #[error("{code}: {message} (HTTP {status})")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The API's error code.
        code: String,
        /// The API's message.
        message: String,
    },
    /// The host could not be reached, or answered nonsense.
    #[error("cannot talk to the host at {url}: {reason}")]
    Transport {
        /// The host.
        url: String,
        /// Why.
        reason: String,
    },
}

/// The host's API.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    http: reqwest::Client,
}

/// How long one `wait_ms` request asks the host to wait: well inside the
/// client's 60 s request timeout.
const WAIT_PER_REQUEST_MS: u64 = 30_000;

impl Client {
    /// A client of the host at `base_url`.
    pub fn new(base_url: &str) -> Client {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .no_proxy()
            .build()
            .unwrap_or_else(|error| panic!("the API client cannot be built: {error}"));
        Client {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, T), ClientError> {
        let transport = |reason: String| ClientError::Transport {
            url: self.base_url.clone(),
            reason,
        };
        let response = request
            .send()
            .await
            .map_err(|error| transport(error.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| transport(error.to_string()))?;
        if status >= 400 {
            let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let field = |name: &str| {
                error["error"][name]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string()
            };
            return Err(ClientError::Refused {
                status,
                code: field("code"),
                message: field("message"),
            });
        }
        let value = serde_json::from_slice(&body)
            .map_err(|error| transport(format!("unexpected answer: {error}")))?;
        Ok((status, value))
    }

    fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// `POST /v1/quotes`.
    pub async fn quote(
        &self,
        amount: &str,
        currency: &str,
        receive_currency: &str,
    ) -> Result<StoredQuote, ClientError> {
        self.quote_with_key(amount, currency, Some(receive_currency), None)
            .await
    }

    /// `POST /v1/quotes` with an `Idempotency-Key`: the same key and request
    /// give the quote the key made before. Without a receive currency, the
    /// corridor's only one.
    pub async fn quote_with_key(
        &self,
        amount: &str,
        currency: &str,
        receive_currency: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<StoredQuote, ClientError> {
        let mut body = serde_json::json!({ "amount": amount, "currency": currency });
        if let Some(receive_currency) = receive_currency {
            body["receive_currency"] = receive_currency.into();
        }
        self.post_quote(&body, idempotency_key).await
    }

    /// `POST /v1/quotes` on a named connector, for a host that runs several.
    pub async fn quote_on(
        &self,
        connector: &str,
        amount: &str,
        currency: &str,
        receive_currency: &str,
    ) -> Result<StoredQuote, ClientError> {
        let body = serde_json::json!({
            "connector": connector,
            "amount": amount,
            "currency": currency,
            "receive_currency": receive_currency,
        });
        self.post_quote(&body, None).await
    }

    async fn post_quote(
        &self,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<StoredQuote, ClientError> {
        let mut request = self.json(reqwest::Method::POST, "/v1/quotes", body);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        Ok(self.call(request).await?.1)
    }

    /// `POST /v1/transfers` from a quote, with an idempotency key.
    pub async fn transfer(
        &self,
        quote_id: &str,
        recipient: &str,
        idempotency_key: &str,
    ) -> Result<TransferView, ClientError> {
        self.transfer_from(quote_id, recipient, None, idempotency_key)
            .await
    }

    /// `POST /v1/transfers` naming the payer's account on the pay-in rail
    /// too, for a corridor that collects from one (a payment prompt).
    pub async fn transfer_from(
        &self,
        quote_id: &str,
        recipient: &str,
        payer: Option<&str>,
        idempotency_key: &str,
    ) -> Result<TransferView, ClientError> {
        tracing::debug!(quote = quote_id, recipient = %crate::redact::account(recipient), "creating a transfer");
        let mut body = serde_json::json!({ "quote_id": quote_id, "recipient": recipient });
        if let Some(payer) = payer {
            body["payer"] = payer.into();
        }
        let request = self
            .json(reqwest::Method::POST, "/v1/transfers", &body)
            .header("idempotency-key", idempotency_key);
        Ok(self.call(request).await?.1)
    }

    /// `GET /v1/transfers/{id}`.
    pub async fn get(&self, id: &str) -> Result<TransferView, ClientError> {
        Ok(self
            .call(
                self.http
                    .get(format!("{}/v1/transfers/{id}", self.base_url)),
            )
            .await?
            .1)
    }

    /// `GET /v1/transfers?limit=N`: the newest transfers, newest first.
    pub async fn list(&self, limit: usize) -> Result<Vec<TransferView>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Listing {
            transfers: Vec<TransferView>,
        }
        let url = format!("{}/v1/transfers?limit={limit}", self.base_url);
        let listing: Listing = self.call(self.http.get(url)).await?.1;
        Ok(listing.transfers)
    }

    /// Waits for a transfer to reach a terminal state, or for `within` to
    /// pass, with `GET /v1/transfers/{id}?wait_ms=N` (the host answers when it
    /// changes), asking again while time is left.
    pub async fn wait_until_final(
        &self,
        id: &str,
        within: Duration,
    ) -> Result<TransferView, ClientError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let wait_ms = u64::try_from(left.as_millis())
                .unwrap_or(u64::MAX)
                .min(WAIT_PER_REQUEST_MS);
            let url = format!("{}/v1/transfers/{id}?wait_ms={wait_ms}", self.base_url);
            let transfer: TransferView = self.call(self.http.get(url)).await?.1;
            if transfer.state.is_terminal() || tokio::time::Instant::now() >= deadline {
                return Ok(transfer);
            }
        }
    }
}
